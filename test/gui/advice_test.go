//go:build gui

package gui

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// adviceLine is the dialog's trace of the recommendation as GTK has it
// drawn: the button with the suggested-action class and its label, the
// why and time-saved lines, the soft restart's and the separate Quick
// Restart button's labels ("" when hidden), and the coldreboot box.
type adviceLine struct {
	suggested, label, why, saves, soft, quick string
	coldShown, cold                           bool
}

var adviceRE = regexp.MustCompile(`advice suggested=(\S+) label=("(?:[^"\\]|\\.)*") why=("(?:[^"\\]|\\.)*") saves=("(?:[^"\\]|\\.)*") soft=("(?:[^"\\]|\\.)*") quick=("(?:[^"\\]|\\.)*") cold-shown=(\w+) cold=(\w+)`)

// advice waits for an advice trace line that contains substr, from line
// from on, and returns it read back.
func (d *dlg) advice(from int, substr string) adviceLine {
	d.h.t.Helper()
	l := d.waitTrace(from, substr, 10*time.Second)
	m := adviceRE.FindStringSubmatch(l)
	if m == nil {
		d.h.t.Fatalf("not an advice line: %q", l)
	}
	u := func(s string) string { v, _ := strconv.Unquote(s); return v }
	return adviceLine{suggested: m[1], label: u(m[2]), why: u(m[3]), saves: u(m[4]), soft: u(m[5]), quick: u(m[6]),
		coldShown: m[7] == "true", cold: m[8] == "true"}
}

func kernelAdvice() *busapi.Advice {
	return &busapi.Advice{Kind: "quick", Code: "kernel-update", Detail: "6.1.0-27-amd64", QuickOffered: true, SystemdVersion: "252"}
}

// Each case the issue names, drawn: the suggested action, the why line,
// what it saves (only where measured), the soft restart only where
// offered; a screenshot of each.
func TestTheRecommendedRestartIsTheSuggestedAction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pkgs   string // /run/reboot-required.pkgs
		advice *busapi.Advice
		saves  int64
		nvidia bool
		want   adviceLine
	}{
		{"kernel-update", "linux-image-6.1.0-27-amd64\n", kernelAdvice(), 23600, false, adviceLine{suggested: "quick", label: "Quick Restart",
			why:   "A new kernel was installed: Quick Restart starts Linux 6.1.0-27-amd64.",
			saves: "Quick Restart skips about 24 s of firmware and boot menu.", quick: "Quick Restart", coldShown: true}},
		{"library-update-soft", "libc6\ndbus\n", &busapi.Advice{Kind: "soft", Code: "userspace-update", Detail: "libc6, dbus", QuickOffered: true, SoftAvailable: true, SystemdVersion: "257"},
			0, false, adviceLine{suggested: "soft", label: "Restart Apps Only",
				why: "Only programs were updated (libc6, dbus): restarting them without the kernel is enough.", soft: "Restart Apps Only", coldShown: true}},
		{"library-update-no-soft", "libc6\ndbus\n", &busapi.Advice{Kind: "quick", Code: "userspace-update", Detail: "libc6, dbus", QuickOffered: true, SystemdVersion: "252"},
			0, false, adviceLine{suggested: "quick", label: "Quick Restart",
				why: "Only programs were updated (libc6, dbus): Quick Restart is enough.", quick: "Quick Restart", coldShown: true}},
		{"firmware-update", "fwupd\n", &busapi.Advice{Kind: "full", Code: "firmware-update", Detail: "Linux Firmware Updater", SoftAvailable: true, SystemdVersion: "257"},
			23600, false, adviceLine{suggested: "restart", label: "Restart",
				why:  "A firmware update is waiting for a normal restart (Linux Firmware Updater), so Quick Restart is not offered.",
				soft: "Restart Apps Only", coldShown: true}},
		{"nvidia", "linux-image-6.1.0-27-amd64\n", kernelAdvice(), 23600, true, adviceLine{suggested: "restart", label: "Restart",
			why:   "The NVIDIA graphics driver is loaded: after a Quick Restart the screen may stay black. A normal Restart is the safe choice.",
			saves: "Quick Restart skips about 24 s of firmware and boot menu.", coldShown: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			p := plan27()
			if tc.nvidia {
				p.Warnings = []string{reason.Sentence(nil, reason.NvidiaDriver, "")}
			}
			h.helper.SetPlan(p)
			h.helper.SetAdvice(tc.advice)
			h.helper.SetTimeSaved(tc.saves)
			h.rebootRequired(tc.pkgs)
			d := h.start()
			wait := "advice suggested=" + tc.want.suggested + " "
			if tc.want.soft != "" {
				// Restart Apps Only comes once the session manager is known.
				wait = `soft="Restart Apps Only"`
			}
			got := d.advice(0, wait)
			if got != tc.want {
				t.Errorf("drawn\n%+v\nwant\n%+v", got, tc.want)
			}
			// Restart keeps its name: Quick Restart, where recommended, is
			// its own button, so every restart is one click away.
			if name, sensitive, _ := d.state(); name != "Restart" || !sensitive {
				t.Errorf("Restart drawn %q sensitive=%v", name, sensitive)
			}
			a := d.a11y()
			if found, sensitive, _ := a.button(tc.want.label); !found || !sensitive {
				t.Errorf("a screen reader does not see the suggested %q (found=%v sensitive=%v)", tc.want.label, found, sensitive)
			}
			if tc.want.soft != "" {
				if _, _, desc := a.button("Restart Apps Only"); desc == "" {
					t.Error("Restart Apps Only has no description for a screen reader")
				}
			}
			t.Logf("screenshot: %s", d.shot("advice-"+tc.name))
		})
	}
}

// Without GetAdvice (an older helper) the dialog looks as before: nothing
// suggested, no soft restart, no check box.
func TestAnOlderHelperGivesNoRecommendation(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	d.waitTrace(0, "advice known=false", 10*time.Second)
	got := d.advice(0, "advice suggested=")
	if got != (adviceLine{suggested: "none"}) {
		t.Errorf("drawn %+v", got)
	}
}

// The check box: one click (its mnemonic) sets the helper's flag; Quick
// Restart is then not offered and the dialog says why.
func TestNextRestartIsANormalOne(t *testing.T) {
	h := newHarness(t)
	h.helper.SetPlan(plan27())
	h.helper.SetAdvice(kernelAdvice())
	h.helper.SetTimeSaved(23600)
	h.helper.SetArmed(true)
	d := h.start()
	d.advice(0, "advice suggested=quick ")
	d.waitTrace(0, "armed shown=true", 10*time.Second)
	from := d.mark()
	d.xdotool("key", "alt+n")
	waitCall(t, h.helper, "SetColdReboot()")
	got := d.advice(from, "cold-shown=true cold=true")
	want := adviceLine{suggested: "restart", label: "Restart",
		why: "You asked for the next restart to be a normal one, so Quick Restart is not offered until then.", coldShown: true, cold: true}
	if got != want {
		t.Errorf("drawn\n%+v\nwant\n%+v", got, want)
	}
	d.waitTrace(from, "armed shown=false", 10*time.Second)
	// Shift still shows Quick Restart, insensitive, and says why.
	release := hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	if _, sensitive, info := d.state(); sensitive || info != "Quick Restart is not possible: You asked for the next restart to be a normal one, so Quick Restart is not offered until then." {
		t.Errorf("Quick Restart under Shift: sensitive=%v info=%q", sensitive, info)
	}
	release()
	t.Logf("screenshot: %s", d.shot("advice-next-restart-normal"))
}

// Restart Apps Only under a GNOME-style session manager (the harness's
// stand-in, MATE's and GNOME's org.gnome.SessionManager): the dialog asks
// the helper to restart the programs when this session ends, and only
// then the session manager to log out — in a real session the dialog
// does not outlive the session it ends (docs/e2e.md), so the helper
// carries the restart. SessionOver needs nothing more from the dialog.
func TestRestartAppsOnlySchedulesWithTheHelperThenLogsOut(t *testing.T) {
	h := newHarness(t)
	h.helper.SetPlan(plan27())
	h.helper.SetAdvice(&busapi.Advice{Kind: "soft", Code: "userspace-update", Detail: "libc6", QuickOffered: true, SoftAvailable: true, SystemdVersion: "257"})
	d := h.start()
	d.advice(0, `soft="Restart Apps Only"`)
	d.click("soft")
	waitCall(t, h.gnome, "Logout(1)")
	// The helper's stand-in records before it replies, and the dialog
	// waits for the reply before it asks for the log out.
	if got := strings.Join(h.helper.Calls(), ","); !strings.Contains(got, "SoftRestartAfterLogout()") {
		t.Fatalf("the session manager was asked to log out before the helper was asked to restart after it: helper calls %q", got)
	}
	if err := h.gnome.EmitSessionOver(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	for _, c := range h.helper.Calls() {
		if c == "SoftRestart()" || c == "CancelSoftRestart()" {
			t.Errorf("after SessionOver the dialog called %s", c)
		}
	}
}

// A log out cancelled at the session manager's prompt (SessionRunning)
// calls the helper's schedule off: nothing stays pending.
func TestRestartAppsOnlyCancelledAtThePromptCallsTheScheduleOff(t *testing.T) {
	h := newHarness(t)
	h.helper.SetPlan(plan27())
	h.helper.SetAdvice(&busapi.Advice{Kind: "soft", Code: "userspace-update", Detail: "libc6", QuickOffered: true, SoftAvailable: true, SystemdVersion: "257"})
	d := h.start()
	d.advice(0, `soft="Restart Apps Only"`)
	d.click("soft")
	waitCall(t, h.gnome, "Logout(1)")
	if err := h.gnome.EmitSessionRunning(); err != nil {
		t.Fatal(err)
	}
	waitCall(t, h.helper, "CancelSoftRestart()")
	d.waitTrace(0, "Restarting the apps was cancelled. Nothing was changed.", 10*time.Second)
}
