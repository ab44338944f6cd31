package model

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
	"github.com/rapidreboot/rapidreboot/backend/session"
)

var yes = session.Caps{PowerOff: "yes", Reboot: "yes", Suspend: "yes", Hibernate: "no"}

func state(mod func(*State)) State {
	s := New(DefaultConfig())
	s.Caps = yes
	if mod != nil {
		mod(&s)
	}
	return s
}

func TestTheRestartButton(t *testing.T) {
	tests := []struct {
		desc      string
		s         State
		label     string
		name      string
		sensitive bool
		info      string
	}{
		{"reads Restart when no key is held", state(nil), "_Restart", "Restart", true,
			"Hold Shift or Ctrl to restart without the firmware and boot menu."},
		{"reads Quick Restart while Shift or Ctrl is held and says where it goes", state(func(s *State) { s.Held = true; s.Quick = Available; s.Version = "6.1.0-27-amd64" }),
			"_Quick Restart", "Quick Restart", true, "Restarts into Linux 6.1.0-27-amd64 without the firmware and boot menu."},
		{"says an encrypted disk's passphrase will be asked again (row 43)", state(func(s *State) {
			s.Held = true
			s.Quick = Available
			s.Version = "6.1.0-27-amd64"
			s.Passphrase = []string{"sda5_crypt"}
		}), "_Quick Restart", "Quick Restart", true,
			"Restarts into Linux 6.1.0-27-amd64 without the firmware and boot menu.\nThe passphrase of the encrypted disk (sda5_crypt) will be asked again while it starts."},
		{"is insensitive in quick state until the plan arrives", state(func(s *State) { s.Held = true }),
			"_Quick Restart", "Quick Restart", false, "Checking whether Quick Restart is possible…"},
		{"is insensitive in quick state with the helper's reason when unavailable", state(func(s *State) {
			s.Held = true
			s.Quick = Unavailable
			s.Reason = "Software is being installed or removed (apt). Wait until it has finished."
		}), "_Quick Restart", "Quick Restart", false,
			"Quick Restart is not possible: Software is being installed or removed (apt). Wait until it has finished."},
		{"keeps working as Restart when Quick Restart is unavailable and no key is held", state(func(s *State) { s.Quick = Unavailable; s.Reason = "x" }),
			"_Restart", "Restart", true, "Hold Shift or Ctrl to restart without the firmware and boot menu."},
		{"reads Quick Restart from the start with --quick", state(func(s *State) { s.StartQuick = true; s.Quick = Available }),
			"_Quick Restart", "Quick Restart", true, "Restarts without the firmware and boot menu."},
		{"stays Restart under Shift when a separate Quick Restart button is configured", state(func(s *State) { s.Config.QuickButton = true; s.Held = true; s.Quick = Available; s.Version = "6.1" }),
			"_Restart", "Restart", true, "Restarts into Linux 6.1 without the firmware and boot menu."},
		{"is insensitive when logind says no", state(func(s *State) { s.Caps.Reboot = "no" }),
			"_Restart", "Restart", false, "Hold Shift or Ctrl to restart without the firmware and boot menu."},
		{"shows a message instead of the hint", state(func(s *State) { s.Message = "Quick Restart was cancelled." }),
			"_Restart", "Restart", true, "Quick Restart was cancelled."},
		{"is off while an action is under way", state(func(s *State) { s.Busy = true }),
			"_Restart", "Restart", false, "Hold Shift or Ctrl to restart without the firmware and boot menu."},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			b := tc.s.Buttons()[BRestart]
			if b.Label != tc.label || b.Name != tc.name || b.Sensitive != tc.sensitive || !b.Visible {
				t.Errorf("button %+v, want %q %q sensitive=%v", b, tc.label, tc.name, tc.sensitive)
			}
			if got := tc.s.Info(); got != tc.info {
				t.Errorf("info %q, want %q", got, tc.info)
			}
		})
	}
}

func TestClickIsDecidedByTheClicksOwnModifierState(t *testing.T) {
	avail := func(s *State) { s.Quick = Available }
	tests := []struct {
		desc  string
		s     State
		id    ButtonID
		state uint
		want  Action
	}{
		{"a plain click on Restart restarts", state(avail), BRestart, 0, Restart},
		{"a Shift-click on Restart quick-restarts", state(avail), BRestart, ShiftMask, QuickRestart},
		{"a Ctrl-click on Restart quick-restarts", state(avail), BRestart, ControlMask, QuickRestart},
		{"a Shift-click counts even if the last drawn state missed the key", state(func(s *State) { s.Quick = Available; s.Held = false }), BRestart, ShiftMask, QuickRestart},
		{"a plain click after the key was released elsewhere restarts normally", state(func(s *State) { s.Quick = Available; s.Held = true }), BRestart, 0, Restart},
		{"a Shift-click while Quick Restart is unavailable does nothing", state(func(s *State) { s.Quick = Unavailable }), BRestart, ShiftMask, None},
		{"a Shift-click before the plan arrived does nothing", state(nil), BRestart, ShiftMask, None},
		{"Ctrl does not count when only Shift is configured", state(func(s *State) { s.Quick = Available; s.Config.Ctrl = false }), BRestart, ControlMask, Restart},
		{"Shift does not count when only Ctrl is configured", state(func(s *State) { s.Quick = Available; s.Config.Shift = false }), BRestart, ShiftMask, Restart},
		{"other modifiers (Alt, Super) do not count", state(avail), BRestart, 1<<3 | 1<<26, Restart},
		{"with --quick a plain click quick-restarts", state(func(s *State) { s.Quick = Available; s.StartQuick = true }), BRestart, 0, QuickRestart},
		{"with a separate button, Shift-click on Restart restarts normally", state(func(s *State) { s.Quick = Available; s.Config.QuickButton = true }), BRestart, ShiftMask, Restart},
		{"the separate Quick Restart button quick-restarts", state(func(s *State) { s.Quick = Available; s.Config.QuickButton = true }), BQuick, 0, QuickRestart},
		{"the separate button does nothing when unavailable", state(func(s *State) { s.Quick = Unavailable; s.Config.QuickButton = true }), BQuick, 0, None},
		{"the separate button does nothing when not configured", state(avail), BQuick, 0, None},
		{"Shift does not change Shut Down", state(avail), BPowerOff, ShiftMask, PowerOff},
		{"Shift does not change Log Out", state(avail), BLogout, ShiftMask, Logout},
		{"Cancel cancels", state(avail), BCancel, ShiftMask, Cancel},
		{"Cancel works while busy", state(func(s *State) { s.Busy = true }), BCancel, 0, Cancel},
		{"nothing else works while busy", state(func(s *State) { s.Busy = true; s.Quick = Available }), BRestart, ShiftMask, None},
		{"a hidden Hibernate does nothing", state(nil), BHibernate, 0, None},
		{"Suspend suspends when logind says yes", state(nil), BSuspend, 0, Suspend},
		{"Restart does nothing when logind says no", state(func(s *State) { s.Caps.Reboot = "no" }), BRestart, 0, None},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.s.Click(tc.id, tc.state); got != tc.want {
				t.Errorf("Click = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEveryCombinationOfKeysConfigAndAvailabilityIsConsistent(t *testing.T) {
	// Whatever the state, what a click does with the same keys as drawn
	// must match the label drawn: the user's promise.
	for _, quickBtn := range []bool{false, true} {
		for _, start := range []bool{false, true} {
			for _, avail := range []Availability{Checking, Available, Unavailable} {
				for _, mods := range []uint{0, ShiftMask, ControlMask, ShiftMask | ControlMask} {
					s := state(func(s *State) {
						s.Config.QuickButton, s.StartQuick, s.Quick = quickBtn, start, avail
					})
					s.Held = s.Config.HeldIn(mods)
					b := s.Buttons()[BRestart]
					a := s.Click(BRestart, mods)
					switch {
					case b.Name == "Quick Restart" && b.Sensitive && a != QuickRestart,
						b.Name == "Restart" && b.Sensitive && a != Restart,
						!b.Sensitive && a != None:
						t.Errorf("quickButton=%v start=%v avail=%v mods=%#x: shows %q sensitive=%v, click does %v",
							quickBtn, start, avail, mods, b.Name, b.Sensitive, a)
					}
				}
			}
		}
	}
}

func TestOptionalButtons(t *testing.T) {
	tests := []struct {
		desc     string
		cfg      Show
		can      string
		visible  bool
		sensible bool
	}{
		{"auto shows suspend when logind says yes", ShowAuto, "yes", true, true},
		{"auto shows suspend when logind wants a password", ShowAuto, "challenge", true, true},
		{"auto hides suspend when logind says no", ShowAuto, "no", false, false},
		{"auto hides suspend when logind says na", ShowAuto, "na", false, false},
		{"auto hides suspend when logind did not answer", ShowAuto, "", false, false},
		{"show keeps it visible but insensitive when logind says no", ShowAlways, "no", true, false},
		{"hide hides it even when logind says yes", ShowNever, "yes", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := state(func(s *State) { s.Config.Suspend = tc.cfg; s.Caps.Suspend = tc.can })
			b := s.Buttons()[BSuspend]
			if b.Visible != tc.visible || (b.Visible && b.Sensitive != tc.sensible) {
				t.Errorf("got %+v", b)
			}
		})
	}
}

func TestFocus(t *testing.T) {
	tests := []struct {
		desc   string
		s      State
		action Action
		want   ButtonID
	}{
		{"the configured default is Shut Down", state(nil), None, BPowerOff},
		{"--action=logout focuses Log Out", state(nil), Logout, BLogout},
		{"--action=restart focuses Restart", state(nil), Restart, BRestart},
		{"--reason=updates focuses Restart", state(func(s *State) { s.ForUpdates = true }), None, BRestart},
		{"--quick focuses the relabelled Restart", state(func(s *State) { s.StartQuick = true; s.Quick = Available }), None, BRestart},
		{"quick-restart focuses the separate button when there is one", state(func(s *State) { s.Config.QuickButton = true; s.Quick = Available }), QuickRestart, BQuick},
		{"an action that cannot be taken falls back to Cancel", state(nil), Hibernate, BCancel},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.s.Focus(tc.action); got != tc.want {
				t.Errorf("Focus = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEveryButtonHasAMnemonicAndNoTwoVisibleShareOne(t *testing.T) {
	for _, s := range []State{
		state(func(s *State) { s.Caps.Hibernate = "yes" }),
		state(func(s *State) { s.Caps.Hibernate = "yes"; s.Held = true }),
		state(func(s *State) { s.Caps.Hibernate = "yes"; s.Config.QuickButton = true }),
		state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true }),
		state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true; s.Held = true }),
		state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true; s.Config.QuickButton = true }),
	} {
		seen := map[rune]string{Mnemonic(s.BootTitle()): s.BootTitle()}
		for _, b := range s.Buttons() {
			if !b.Visible {
				continue
			}
			m := Mnemonic(b.Label)
			if m == 0 {
				t.Errorf("%q has no mnemonic", b.Label)
			}
			if other, dup := seen[m]; dup {
				t.Errorf("%q and %q share the mnemonic %q", b.Label, other, m)
			}
			seen[m] = b.Label
		}
	}
}

func TestUpdatesText(t *testing.T) {
	tests := []struct {
		desc string
		u    rebootreq.Status
		want string
	}{
		{"nothing pending says nothing", rebootreq.Status{QuickEnough: true}, ""},
		{"a kernel update is finished by Quick Restart", rebootreq.Parse([]byte("linux-image-6.1.0-27-amd64\n"), true),
			"Updated: linux-image-6.1.0-27-amd64.\nQuick Restart is enough to finish them: it starts the new kernel too."},
		{"a shim update asks for a normal restart", rebootreq.Parse([]byte("shim-signed\n"), true),
			"Updated: shim-signed.\nshim-signed finishes in the firmware or boot loader: use Restart, not Quick Restart."},
		{"a long list is shortened", rebootreq.Parse([]byte("a1\na2\na3\na4\na5\na6\na7\na8\n"), true),
			"Updated: a1, a2, a3, a4, a5, a6 and 2 more.\nQuick Restart is enough to finish them: it starts the new kernel too."},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := state(func(s *State) { s.Updates = tc.u })
			if got := s.UpdatesText(); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := state(func(s *State) { s.Updates = rebootreq.Status{Required: true} }).Title(); got != "Restart to finish installing updates" {
		t.Errorf("title %q", got)
	}
}

func TestInhibitorLines(t *testing.T) {
	s := state(func(s *State) {
		s.Inhibitors = []session.Inhibitor{
			{Who: "org.gnome.TextEditor", AppID: "org.gnome.TextEditor", Why: "Unsaved document", Mode: "block"},
			{Who: "ModemManager", Why: "", Mode: "delay"},
			{Mode: "block", Why: "x"},
		}
	})
	names := func(id string) string {
		if id == "org.gnome.TextEditor" {
			return "Text Editor"
		}
		return ""
	}
	want := []string{"Text Editor: Unsaved document", "ModemManager (delays shutting down briefly): no reason given", "An unknown program: x"}
	if got := s.InhibitorLines(names); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestStripMnemonic(t *testing.T) {
	for in, want := range map[string]string{"_Restart": "Restart", "Shut _Down": "Shut Down", "a__b": "a_b", "x": "x", "_": ""} {
		if got := StripMnemonic(in); got != want {
			t.Errorf("StripMnemonic(%q) = %q, want %q", in, got, want)
		}
	}
	if Mnemonic("Shut _Down") != 'd' || Mnemonic("a__b") != 0 || Mnemonic("Neu _starten") != 's' || Mnemonic("_Énergie") != 'é' {
		t.Error("Mnemonic")
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want func(*Config)
		errs []string
	}{
		{"an empty file changes nothing", "", func(*Config) {}, nil},
		{"every key is read", `# comment
[dialog]
quick-button = true
suspend = hide
hibernate = show
default-action = restart
modifiers = shift
quick-restart-grace = 30
`, func(c *Config) {
			c.QuickButton, c.Suspend, c.Hibernate, c.Default, c.Ctrl, c.Grace = true, ShowNever, ShowAlways, Restart, false, 30*time.Second
		}, nil},
		{"a bad value is reported and the other lines still apply", "[dialog]\nsuspend = maybe\nquick-button = yes\n", func(c *Config) { c.QuickButton = true },
			[]string{"t.conf:2: suspend: want auto, show or hide"}},
		{"an unknown key is reported", "[dialog]\nquik-button = true\n", func(*Config) {}, []string{`t.conf:2: unknown key "quik-button"`}},
		{"keys of other groups are not read", "[other]\nquick-button = true\n", func(*Config) {}, []string{"t.conf:1: unknown group [other]"}},
		{"a key before any group is reported", "quick-button = true\n", func(*Config) {}, []string{"t.conf:1: key outside a group"}},
		{"a grace out of range is refused", "[dialog]\nquick-restart-grace = 5\n", func(*Config) {}, []string{"t.conf:2: quick-restart-grace"}},
		{"a line without = is refused", "[dialog]\nquick-button\n", func(*Config) {}, []string{"t.conf:2: cannot parse"}},
		{"an unknown modifier is refused", "[dialog]\nmodifiers = shift;alt\n", func(*Config) {}, []string{"t.conf:2: modifiers"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := DefaultConfig()
			errs := ParseConfig([]byte(tc.in), "t.conf", &got)
			want := DefaultConfig()
			tc.want(&want)
			if got != want {
				t.Errorf("config %+v, want %+v", got, want)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want %d", errs, len(tc.errs))
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), tc.errs[i]) {
					t.Errorf("error %q, want prefix %q", e, tc.errs[i])
				}
			}
		})
	}
}

func TestLoadConfigLetsTheUserOverrideTheSystem(t *testing.T) {
	root := t.TempDir()
	sys := filepath.Join(root, "etc", "xdg")
	home := filepath.Join(root, "home", ".config")
	for dir, body := range map[string]string{sys: "[dialog]\nquick-button = true\nsuspend = hide\n", home: "[dialog]\nsuspend = show\n"} {
		os.MkdirAll(filepath.Join(dir, "rapidreboot"), 0o755)
		os.WriteFile(filepath.Join(dir, ConfigFile), []byte(body), 0o644)
	}
	env := map[string]string{"XDG_CONFIG_DIRS": sys + ":relative/ignored:" + filepath.Join(root, "missing"), "HOME": filepath.Join(root, "home")}
	c, errs := LoadConfig(func(k string) string { return env[k] })
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if !c.QuickButton || c.Suspend != ShowAlways {
		t.Errorf("config %+v: want quick-button from /etc/xdg and suspend=show from the user", c)
	}
}

func TestLoadConfigRefusesAHugeFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rapidreboot"), 0o755)
	os.WriteFile(filepath.Join(dir, ConfigFile), make([]byte, maxConfig+10), 0o644)
	c, errs := LoadConfig(func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return dir
		}
		return ""
	})
	if len(errs) != 1 || c != DefaultConfig() {
		t.Errorf("errs %v config %+v", errs, c)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("[dialog]\nquick-button = true\nmodifiers=shift;ctrl\n"))
	f.Add([]byte("[dialog\n=\n[x]\na=b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := DefaultConfig()
		for _, e := range ParseConfig(b, "f", &c) {
			if e == nil || errors.Unwrap(e) != nil && e.Error() == "" {
				t.Fatal("empty error")
			}
		}
		if c.Grace < 10*time.Second || c.Grace > 600*time.Second {
			t.Fatalf("grace %v escaped its range", c.Grace)
		}
	})
}
