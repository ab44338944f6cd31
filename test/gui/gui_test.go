//go:build gui

package gui

import (
	"image"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/planwarn"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/ui/uitest"
)

const quickInfo = "Restarts into Linux 6.1.0-27-amd64 without the firmware and boot menu."

func TestShiftTurnsRestartIntoQuickRestartAndBack(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	d.waitLabel("Restart")
	if found, sensitive, _ := d.a11y().button("Restart"); !found || !sensitive {
		t.Fatalf("a screen reader sees no sensitive Restart button")
	}
	normal := d.buttonPixels("normal", "restart")

	release := hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	if _, sensitive, info := d.state(); !sensitive || info != quickInfo {
		t.Errorf("quick state sensitive=%v info=%q", sensitive, info)
	}
	a := d.a11y()
	if found, sensitive, desc := a.button("Quick Restart"); !found || !sensitive || desc != quickInfo {
		t.Errorf("a screen reader sees Quick Restart found=%v sensitive=%v description=%q", found, sensitive, desc)
	}
	if found, _, _ := a.button("Restart"); found {
		t.Error("a screen reader still sees a Restart button")
	}
	quick := d.buttonPixels("quick", "restart")
	if differingPixels(normal, quick) == 0 {
		t.Error("Restart and Quick Restart are drawn alike (screenshots normal.png, quick.png)")
	}

	release()
	d.waitLabel("Restart")
	if found, _, _ := d.a11y().button("Restart"); !found {
		t.Error("a screen reader does not see Restart again after the key went up")
	}
	if n := differingPixels(normal, d.buttonPixels("normal-again", "restart")); n != 0 {
		t.Errorf("after the key went up, %d pixels of the button differ from the first Restart", n)
	}
	// GetAdvice is a question too (issue 16): anyone may ask, nothing changes.
	if calls := h.helper.Calls(); strings.Join(calls, ",") != "GetPlan(),GetAdvice()" {
		t.Errorf("looking at the dialog called the helper: %q", calls)
	}
}

func TestEitherCtrlKeyRelabelsToo(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	for _, key := range []string{"Control_L", "Control_R", "Shift_R"} {
		release := hold(t, key)
		d.waitLabel("Quick Restart")
		release()
		d.waitLabel("Restart")
	}
}

func TestReleasingOneShiftWhileTheOtherIsHeldKeepsQuickRestart(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	releaseL := hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	releaseR := hold(t, "Shift_R")
	releaseL()
	settle()
	d.waitLabel("Quick Restart")
	releaseR()
	d.waitLabel("Restart")
}

func TestOpeningWithShiftAlreadyHeldShowsQuickRestartAtOnce(t *testing.T) {
	h := newHarness(t)
	release := hold(t, "Shift_L")
	d := h.start()
	// The first state drawn after mapping is already the quick one.
	if !strings.Contains(d.waitTrace(0, "mods map", 5*time.Second), "held=true") {
		t.Fatal("the modifier state read at map time missed the held Shift")
	}
	d.waitLabel("Quick Restart")
	release()
	d.waitLabel("Restart")
}

func TestAKeyReleasedWhileAnotherWindowHasTheFocusIsSeenOnReturn(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	release := hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	d.xfocus("none") // the user switches away with Shift down...
	settle()
	release() // ...lets go of it there...
	settle()
	d.focus() // ...and comes back
	d.waitLabel("Restart")
	if found, _, _ := d.a11y().button("Restart"); !found {
		t.Error("a screen reader does not see Restart after the focus came back")
	}
}

func TestTheClicksOwnModifierStateDecides(t *testing.T) {
	t.Run("a Shift-click arms the helper and asks the session manager to restart", func(t *testing.T) {
		h := newHarness(t)
		h.logind.SetShutdownOnReboot(true)
		d := h.start()
		hold(t, "Shift_L")
		d.waitLabel("Quick Restart")
		h.gnome.SetRunning(true)
		d.click("restart")
		waitCall(t, h.gnome, "Reboot()")
		if got := strings.Join(h.helper.Calls(), ","); got != "GetPlan(),GetAdvice(),Arm()" {
			t.Errorf("helper calls %q, want GetPlan(),GetAdvice(),Arm()", got)
		}
		// The stand-in session manager does not end the session; logind's
		// PrepareForShutdown(true) tells the dialog the restart proceeds.
		h.logind.EmitPrepareForShutdown(true)
		d.waitExit(10 * time.Second)
		if !h.helper.Armed() {
			t.Error("the helper was disarmed although the restart proceeds")
		}
	})
	t.Run("a plain click disarms and asks the session manager to restart", func(t *testing.T) {
		h := newHarness(t)
		d := h.start()
		d.click("restart")
		waitCall(t, h.gnome, "Reboot()")
		if got := strings.Join(h.helper.Calls(), ","); got != "GetPlan(),GetAdvice(),Disarm()" {
			t.Errorf("helper calls %q, want GetPlan(),GetAdvice(),Disarm()", got)
		}
		d.waitExit(10 * time.Second)
	})
	t.Run("Shift+Enter on the focused Restart button is a quick restart too", func(t *testing.T) {
		h := newHarness(t)
		d := h.start("--action=restart")
		hold(t, "Shift_L")
		d.waitLabel("Quick Restart")
		d.xdotool("key", "Return")
		waitCall(t, h.helper, "Arm()")
		waitCall(t, h.gnome, "Reboot()")
	})
	t.Run("with --quick, Enter is the Quick Restart once the plan has come", func(t *testing.T) {
		h := newHarness(t)
		d := h.start("--quick")
		d.waitTrace(0, "plan available=true", 10*time.Second)
		d.waitLabel("Quick Restart")
		d.xdotool("key", "Return")
		waitCall(t, h.helper, "Arm()")
		waitCall(t, h.gnome, "Reboot()")
	})
	t.Run("Alt+Q, the Quick Restart mnemonic, works while Shift is held", func(t *testing.T) {
		h := newHarness(t)
		d := h.start()
		hold(t, "Shift_L")
		d.waitLabel("Quick Restart")
		d.xdotool("key", "alt+q")
		waitCall(t, h.helper, "Arm()")
		waitCall(t, h.gnome, "Reboot()")
	})
	t.Run("Alt+R, the Restart mnemonic, restarts normally", func(t *testing.T) {
		h := newHarness(t)
		d := h.start()
		d.xdotool("key", "alt+r")
		waitCall(t, h.gnome, "Reboot()")
		if got := strings.Join(h.helper.Calls(), ","); got != "GetPlan(),GetAdvice(),Disarm()" {
			t.Errorf("helper calls %q", got)
		}
	})
}

func TestACancelledQuickRestartIsDisarmedAndSaidSo(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	d.click("restart")
	waitCall(t, h.gnome, "Reboot()")
	// The user cancels GNOME's own end-session dialog.
	time.Sleep(200 * time.Millisecond)
	h.gnome.EmitCanceled()
	waitCall(t, h.helper, "Disarm()")
	d.waitTrace(0, "Quick Restart was cancelled. The next restart will be a normal one.", 10*time.Second)
	if h.helper.Armed() {
		t.Error("still armed after the cancel")
	}
}

func TestUnavailableQuickRestartIsInsensitiveWithTheReason(t *testing.T) {
	h := newHarness(t)
	p := uitest.Plan("6.1.0-27-amd64")
	p.Available, p.Reason, p.Detail = false, reason.PackageManager, "apt"
	h.helper.SetPlan(p)
	d := h.start()
	hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	name, sensitive, info := d.state()
	want := "Quick Restart is not possible: Software is being installed or removed (apt). Wait until it has finished."
	if sensitive || info != want {
		t.Errorf("%q sensitive=%v info=%q", name, sensitive, info)
	}
	if found, sensitive, desc := d.a11y().button("Quick Restart"); !found || sensitive || desc != want {
		t.Errorf("a screen reader sees found=%v sensitive=%v description=%q", found, sensitive, desc)
	}
	t.Logf("unavailable: %s", d.shot("unavailable"))
	d.click("restart") // an insensitive button: nothing happens
	settle()
	if calls := h.helper.Calls(); strings.Join(calls, ",") != "GetPlan(),GetAdvice()" {
		t.Errorf("helper calls %q", calls)
	}
	if calls := h.gnome.Calls(); len(calls) != 0 {
		t.Errorf("session manager calls %q", calls)
	}
	if err := d.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Error("the dialog is gone")
	}
}

// Row 43: with an encrypted root, the quick state says that the
// passphrase will be asked again (the initramfs still runs). The volumes
// come from the helper's plan warning, said in the user's language: the
// dialog reads no crypttab, so this machine's own cannot change the line.
func TestAnEncryptedDisksPassphraseIsMentioned(t *testing.T) {
	h := newHarness(t)
	p := uitest.Plan("6.1.0-27-amd64")
	p.Cmdline = "rd.luks.name=0b1c-22=cryptroot root=/dev/mapper/cryptroot ro quiet"
	p.Warnings = []string{planwarn.Passphrase([]string{"cryptroot"})}
	h.helper.SetPlan(p)
	d := h.start()
	hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	_, sensitive, info := d.state()
	want := quickInfo + "\nThe passphrase of the encrypted disk (cryptroot) will be asked again while it starts."
	if !sensitive || info != want {
		t.Errorf("sensitive=%v info=%q, want %q", sensitive, info, want)
	}
	t.Logf("encrypted: %s", d.shot("quick-encrypted"))
}

func TestNormalRestartStillWorksWhenQuickRestartIsUnavailable(t *testing.T) {
	h := newHarness(t)
	p := uitest.Plan("6.1.0-27-amd64")
	p.Available, p.Reason = false, reason.KexecDisabled
	h.helper.SetPlan(p)
	d := h.start()
	d.click("restart")
	waitCall(t, h.gnome, "Reboot()")
	d.waitExit(10 * time.Second)
}

func TestWithoutTheHelperQuickRestartSaysItIsNotInstalled(t *testing.T) {
	h := newHarness(t, noHelper)
	d := h.start()
	hold(t, "Control_L")
	d.waitLabel("Quick Restart")
	if _, sensitive, info := d.state(); sensitive || info != "Quick Restart is not possible: The Quick Restart service is not installed." {
		t.Errorf("sensitive=%v info=%q", sensitive, info)
	}
}

func TestQuickOptionOpensInQuickMode(t *testing.T) {
	h := newHarness(t)
	d := h.start("--quick")
	d.waitLabel("Quick Restart")
	d.click("restart")
	waitCall(t, h.helper, "Arm()")
	waitCall(t, h.gnome, "Reboot()")
}

// The "Quick Restart" menu entry runs rapidreboot --quick: the button is
// drawn "Quick Restart" from the first frame, with no key held, and a
// screen reader hears the same. The pixels are compared with a dialog
// whose button Shift relabelled (see drawnReference): a test that read only the
// accessible name passed while the button was drawn "Restart".
func TestQuickOptionDrawsQuickRestartWithoutAKeyHeld(t *testing.T) {
	h := newHarness(t)
	d := h.start("--quick")
	d.waitLabel("Quick Restart")
	for _, l := range d.lines() {
		if strings.Contains(l, " state restart=") && !strings.Contains(l, ` state restart="Quick Restart"`) {
			t.Errorf("the dialog drew another label: %s", l)
		}
	}
	a := d.a11y()
	if found, sensitive, desc := a.button("Quick Restart"); !found || !sensitive || desc != quickInfo {
		t.Errorf("a screen reader sees Quick Restart found=%v sensitive=%v description=%q", found, sensitive, desc)
	}
	if found, _, _ := a.button("Restart"); found {
		t.Error("a screen reader sees a Restart button")
	}
	drawn := d.buttonPixels("quick-option", "restart")
	d.stop()
	shift, normal := drawnReference(t, nil)
	if n := differingPixels(drawn, shift); n != 0 {
		t.Errorf("--quick draws the button unlike Shift's Quick Restart: %d pixels differ (screenshots quick-option.png, reference-quick.png)", n)
	}
	if differingPixels(drawn, normal) == 0 {
		t.Error("--quick draws the button as Restart (screenshot quick-option.png)")
	}
}

// With --quick and Quick Restart unavailable, the button (insensitive) and
// its description say why, as the line under the buttons does; they used
// to keep "Checking whether Quick Restart is possible…".
func TestQuickOptionWithQuickRestartUnavailableSaysWhy(t *testing.T) {
	p := uitest.Plan("6.1.0-27-amd64")
	p.Available, p.Reason, p.Detail = false, reason.PackageManager, "apt"
	h := newHarness(t)
	h.helper.SetPlan(p)
	d := h.start("--quick")
	d.waitLabel("Quick Restart")
	want := "Quick Restart is not possible: Software is being installed or removed (apt). Wait until it has finished."
	if _, sensitive, info := d.state(); sensitive || info != want {
		t.Errorf("sensitive=%v info=%q, want insensitive and %q", sensitive, info, want)
	}
	if found, sensitive, desc := d.a11y().button("Quick Restart"); !found || sensitive || desc != want {
		t.Errorf("a screen reader sees Quick Restart found=%v sensitive=%v description=%q, want %q", found, sensitive, desc, want)
	}
	drawn := d.buttonPixels("quick-option-unavailable", "restart")
	d.stop()
	shift, _ := drawnReference(t, &p)
	if n := differingPixels(drawn, shift); n != 0 {
		t.Errorf("--quick draws the unavailable button unlike Shift's: %d pixels differ (screenshots quick-option-unavailable.png, reference-quick.png)", n)
	}
}

// drawnReference returns the Restart button's pixels as a dialog opened
// without options draws them with Shift held (Quick Restart) and without
// (Restart), for plan p (nil: available). Nothing but the label differs
// from a --quick dialog there: both leave the focus elsewhere.
func drawnReference(t *testing.T, p *busapi.Plan) (quick, normal *image.RGBA) {
	t.Helper()
	h := newHarness(t)
	if p != nil {
		h.helper.SetPlan(*p)
	}
	d := h.start()
	release := hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	quick = d.buttonPixels("reference-quick", "restart")
	release()
	d.waitLabel("Restart")
	normal = d.buttonPixels("reference-normal", "restart")
	d.stop()
	return quick, normal
}

func TestASeparateQuickRestartButtonWhenConfigured(t *testing.T) {
	h := newHarness(t)
	h.config("[dialog]\nquick-button = true\n")
	d := h.start()
	a := d.a11y()
	if found, sensitive, _ := a.button("Quick Restart"); !found || !sensitive {
		t.Error("no Quick Restart button")
	}
	if found, _, _ := a.button("Restart"); !found {
		t.Error("no Restart button beside it")
	}
	hold(t, "Shift_L")
	settle()
	d.waitLabel("Restart") // no relabel: the separate button says it
	d.click("quick")
	waitCall(t, h.helper, "Arm()")
}

func TestEscapeCancels(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	d.xdotool("key", "Escape")
	d.waitExit(5 * time.Second)
	if c := h.gnome.Calls(); len(c) != 0 {
		t.Errorf("session manager calls %q", c)
	}
	if c := h.logind.Calls(); len(c) != 0 {
		t.Errorf("logind calls %q", c)
	}
}

func TestMnemonicsWork(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	d.xdotool("key", "alt+d")
	waitCall(t, h.gnome, "Shutdown()")
	d.waitExit(10 * time.Second)
}

func TestLogOutAndSuspendGoWhereTheyShould(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	d.click("logout")
	waitCall(t, h.gnome, "Logout(1)")
	d.waitExit(10 * time.Second)

	h2 := newHarness(t)
	d2 := h2.start()
	d2.click("suspend")
	waitCall(t, h2.logind, "Suspend(true)")
	d2.waitExit(10 * time.Second)
}

func TestWithoutASessionManagerLogindRestartsInteractively(t *testing.T) {
	h := newHarness(t, noSM)
	d := h.start()
	d.click("restart")
	waitCall(t, h.logind, "Reboot(true)")
}

func TestUpdatesAndInhibitorsAreShown(t *testing.T) {
	h := newHarness(t, withInhibitors(bustest.GnomeInhibitor{AppID: "org.example.Editor", Reason: "Unsaved document “notes”", Flags: 1}))
	h.rebootRequired("linux-image-6.1.0-28-amd64\nlibc6\n")
	h.logind.SetInhibitors(bustest.StandInInhibitor{What: "shutdown:sleep", Who: "Backup", Why: "Copying files", Mode: "block", UID: 1000, PID: 4242})
	d := h.start("--reason=updates")
	a := d.a11y()
	var all []string
	for _, l := range a.Labels {
		if l.Showing {
			all = append(all, l.Name)
		}
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"Restart to finish installing updates", "Updated: libc6, linux-image-6.1.0-28-amd64.", "Quick Restart is enough to finish them",
		"Backup: Copying files", "org.example.Editor: Unsaved document “notes”"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q among the labels:\n%s", want, text)
		}
	}
	t.Logf("updates: %s", d.shot("updates"))
}

func TestASecondLaunchRaisesTheFirst(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	mark := d.mark()
	second := h.launch("--quick")
	second.waitExit(10 * time.Second)
	d.waitTrace(mark, `state restart="Quick Restart"`, 5*time.Second)
	if err := d.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Error("the first dialog is gone")
	}
}

func TestCancelWhileWaitingForTheRestartDisarms(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	release := hold(t, "Shift_L")
	d.waitLabel("Quick Restart")
	d.click("restart")
	waitCall(t, h.gnome, "Reboot()")
	release()
	// The dialog waits for the restart to begin; the user changes their mind.
	d.waitTrace(0, `busy=true`, 5*time.Second)
	d.xdotool("key", "Escape")
	waitCall(t, h.helper, "Disarm()")
	d.waitTrace(0, "Quick Restart was cancelled.", 10*time.Second)
	if h.helper.Armed() {
		t.Error("still armed")
	}
	// A second Escape closes the dialog.
	d.xdotool("key", "Escape")
	d.waitExit(5 * time.Second)
}

func TestTheInhibitorListFollowsChanges(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	mark := d.mark()
	h.logind.SetInhibitors(bustest.StandInInhibitor{What: "shutdown", Who: "Backup", Why: "Copying files", Mode: "block", PID: 4242})
	d.waitTrace(mark, "inhibitors=1", 10*time.Second)
	mark = d.mark()
	h.logind.SetInhibitors()
	d.waitTrace(mark, "inhibitors=0", 10*time.Second)
}

func TestOtherSessionManagersGetTheirOwnCalls(t *testing.T) {
	for _, tc := range []struct {
		sm, desktop, button, call string
		quick                     bool
	}{
		{"xfce", "XFCE", "restart", "Restart(true)", false},
		{"xfce", "XFCE", "restart", "Restart(true)", true},
		{"kde", "KDE", "shutdown", "logoutAndShutdown()", false},
		{"kde", "KDE", "restart", "logoutAndReboot()", true},
		{"lxqt", "LXQt", "logout", "logout()", false},
		{"lxqt", "LXQt", "restart", "reboot()", true},
	} {
		name := tc.sm + "/" + tc.button
		if tc.quick {
			name += "/quick"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, withSM(tc.sm))
			h.setenv("XDG_CURRENT_DESKTOP=" + tc.desktop)
			d := h.start()
			if tc.quick {
				hold(t, "Shift_L")
				d.waitLabel("Quick Restart")
			}
			d.click(tc.button)
			waitCall(t, h.other, tc.call)
			if tc.quick {
				waitCall(t, h.helper, "Arm()")
				h.logind.EmitPrepareForShutdown(true)
				d.waitExit(10 * time.Second)
			}
		})
	}
}
