//go:build desktop

package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var bootIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// guestBootID is the guest's /proc/sys/kernel/random/boot_id, or "" when
// the answer is not one.
func guestBootID(t *testing.T, g *Guest) string {
	t.Helper()
	o, _, err := g.Root(context.Background(), "cat /proc/sys/kernel/random/boot_id", time.Minute)
	id := strings.TrimSpace(o)
	if err != nil || !bootIDRe.MatchString(id) {
		t.Errorf("no boot id from the guest (%v): %q", err, o)
		return ""
	}
	return id
}

// armState is what the guest says about an arm: the kernel's
// kexec_loaded, the arm file under /run/rapidreboot, and
// `rapidrebootctl status --json`'s armed.
type armState struct {
	KexecLoaded string // "0" or "1"; "" when the answer was not one of them
	ArmFile     bool
	Armed       bool
	StatusOK    bool // status --json answered with an "armed" member
	Raw         string
}

func guestArmState(t *testing.T, g *Guest) armState {
	t.Helper()
	o, _, err := g.Root(context.Background(), `echo "kexec_loaded=$(cat /sys/kernel/kexec_loaded)"
if [ -e /run/rapidreboot/arm ]; then echo arm=present; else echo arm=absent; fi
ls -l /run/rapidreboot/ 2>&1
rapidrebootctl status --json 2>&1`, time.Minute)
	if err != nil {
		t.Errorf("no answer about the arm: %v", err)
	}
	st := armState{Raw: o}
	for _, l := range strings.Split(o, "\n") {
		switch strings.TrimSpace(l) {
		case "kexec_loaded=0":
			st.KexecLoaded = "0"
		case "kexec_loaded=1":
			st.KexecLoaded = "1"
		case "arm=present":
			st.ArmFile = true
		}
	}
	if i, j := strings.Index(o, "{"), strings.LastIndex(o, "}"); i >= 0 && j > i {
		var s struct {
			Armed *bool `json:"armed"`
		}
		if json.Unmarshal([]byte(o[i:j+1]), &s) == nil && s.Armed != nil {
			st.Armed, st.StatusOK = *s.Armed, true
		}
	}
	return st
}

// TestDesktopGNOMEUnsavedDocumentCancel: in GNOME 48's real Wayland
// session, the extension enabled as docs/desktops.md says, an unsaved
// document in GNOME's own editor (gnome-text-editor, text typed through
// QEMU's keyboard). gnome-session then holds a logind block inhibitor
// ("user session inhibited") in alice's name; it is its own to drop once
// alice answers its dialog, so the helper passes it on this way
// (arming.Via): Shift + Quick Restart… → armed, and GNOME's end-session
// dialog lists the editor (its Open carries the editor's inhibitor);
// Escape there (its Cancel) → the extension's Disarm, nothing loaded, the
// editor still running, the guest not restarted (the same boot id).
func TestDesktopGNOMEUnsavedDocumentCancel(t *testing.T) { gnomeCancel(t, true) }

// TestDesktopGNOMEQuickRestartCancel: the same without the editor: Shift +
// Quick Restart… → armed and GNOME's end-session dialog; Escape there (its
// Canceled on the session bus) → the extension's Disarm, nothing loaded, no
// restart.
func TestDesktopGNOMEQuickRestartCancel(t *testing.T) { gnomeCancel(t, false) }

func gnomeCancel(t *testing.T, unsaved bool) {
	name := "quick-cancel"
	if unsaved {
		name = "unsaved-cancel"
	}
	g, d, out, t0 := desktopGuest(t, "gnome", name)
	ctx := context.Background()
	o, rc, _ := g.Root(ctx, "dpkg-query -W rapidreboot gnome-text-editor", time.Minute)
	t.Logf("packages (rc %d):\n%s", rc, o)
	settled(t, d, filepath.Join(out, "1-desktop.png"), 8*time.Minute)
	t.Logf("desktop settled %.0f s after power-on", time.Since(t0).Seconds())
	enableGNOMEExtension(t, g, t0)
	boot := guestBootID(t, g)
	if st := guestArmState(t, g); st.KexecLoaded != "0" || st.ArmFile {
		t.Fatalf("armed before the test began:\n%s", st.Raw)
	}

	var err error
	editorInhibits := false
	if unsaved {
		editorInhibits = gnomeEditorWithUnsavedText(t, g, d, out)
	}

	// What passes between gnome-session and the Shell's end-session
	// dialog (Open, Canceled) and gnome-session's own signals, recorded
	// in alice's session: when the dialog was asked for, and that the
	// cancel was the dialog's.
	o, _, _ = g.User(ctx, `rm -f /tmp/e2e-esd.log
setsid -f timeout 600 dbus-monitor --session "interface='org.gnome.SessionManager.EndSessionDialog'" "type='signal',interface='org.gnome.SessionManager'" </dev/null >/tmp/e2e-esd.log 2>&1
sleep 2; pgrep -a dbus-monitor`, time.Minute)
	t.Logf("dbus-monitor: %s", o)

	// The system menu, its power submenu, Shift held, the click.
	ix, iy := gnomeShiftOnPowerSubmenu(t, d, out, 4)
	if err := d.MoveTo(ix, iy); err != nil {
		d.KeyUp("shift")
		t.Fatal(err)
	}
	d.pause()
	clicked := time.Now()
	err = d.Click("left")
	// As in TestDesktopGNOMEQuickRestart: Shift stays down a while after
	// the click, so that the Shell handles the button before the key's
	// release.
	time.Sleep(3 * time.Second)
	d.KeyUp("shift")
	if err != nil {
		t.Fatal(err)
	}
	// GNOME's end-session dialog (its countdown restarts after 60 s: the
	// picture and the arm are taken well before). Seen 2026-12-03: 18 s
	// after the click the screen did not show it yet; so the test waits
	// for gnome-session's Open of it, then for the Shell to draw it.
	opened := false
	for deadline := clicked.Add(40 * time.Second); !opened && time.Now().Before(deadline); {
		time.Sleep(3 * time.Second)
		o, _, _ = g.User(ctx, "grep -c 'member=Open' /tmp/e2e-esd.log", 20*time.Second)
		opened = strings.TrimSpace(o) != "" && strings.TrimSpace(o) != "0"
	}
	t.Logf("gnome-session opened the end-session dialog: %v (%.0f s after the click)", opened, time.Since(clicked).Seconds())
	if !opened {
		t.Errorf("no EndSessionDialog.Open within 40 s of the click")
	}
	time.Sleep(6 * time.Second)
	d.Screendump(filepath.Join(out, "7-gnome-end-session-dialog.png"))
	armed := guestArmState(t, g)
	t.Logf("with GNOME's dialog up (%.0f s after the click):\n%s", time.Since(clicked).Seconds(), armed.Raw)
	if armed.KexecLoaded != "1" || !armed.ArmFile {
		t.Errorf("not armed with GNOME's end-session dialog up (kexec_loaded %q, arm file %v)", armed.KexecLoaded, armed.ArmFile)
	}
	if unsaved {
		// gnome-session mirrors the editor's logout inhibitor into a
		// logind block on shutdown in alice's name; the helper passed it
		// (its own session manager asks her), and the dialog was opened
		// with the editor's inhibitor in its list.
		o, _, _ := g.Root(ctx, "systemd-inhibit --list --no-pager 2>&1 | head -n 12", time.Minute)
		t.Logf("logind's inhibitors:\n%s", o)
		if !strings.Contains(o, "user session inhibited") {
			t.Errorf("gnome-session's block inhibitor is not in logind's list")
		}
		o, _, _ = g.User(ctx, "grep -A 16 'member=Open' /tmp/e2e-esd.log | grep -c 'object path \"/org/gnome/SessionManager/Inhibitor'", 20*time.Second)
		t.Logf("inhibitors in EndSessionDialog.Open: %s", strings.TrimSpace(o))
		if n := strings.TrimSpace(o); n == "" || n == "0" {
			t.Errorf("GNOME's end-session dialog was opened with no inhibitor: it cannot list the editor")
		}
	}
	d.Screendump(filepath.Join(out, "8-dialog-before-cancel.png"))
	// Cancel: Escape is the dialog's Cancel.
	if err := d.Press("esc"); err != nil {
		t.Fatal(err)
	}
	cancelled := time.Now()
	t.Logf("Escape %.0f s after the click", cancelled.Sub(clicked).Seconds())
	time.Sleep(10 * time.Second)
	d.Screendump(filepath.Join(out, "9-cancelled.png"))
	after := guestArmState(t, g)
	within := time.Since(clicked)
	t.Logf("after the cancel (%.0f s after the click, %.0f s after Escape):\n%s", within.Seconds(), time.Since(cancelled).Seconds(), after.Raw)
	if after.KexecLoaded != "0" {
		t.Errorf("kexec_loaded is %q after the cancel, want 0", after.KexecLoaded)
	}
	if after.ArmFile {
		t.Errorf("the arm file is still there after the cancel")
	}
	if !after.StatusOK || after.Armed {
		t.Errorf("rapidrebootctl status --json does not say armed false after the cancel (ok %v, armed %v)", after.StatusOK, after.Armed)
	}
	if within >= 85*time.Second {
		t.Errorf("checked %.0f s after the click: the extension's 90 s grace period, not the cancel, may have disarmed", within.Seconds())
	}
	o, _, _ = g.User(ctx, "grep -E 'member=|string \"|uint32|array' /tmp/e2e-esd.log | head -n 60", time.Minute)
	t.Logf("the session bus (dbus-monitor):\n%s", o)
	if !strings.Contains(o, "member=Canceled") {
		t.Errorf("no EndSessionDialog.Canceled on the session bus: the cancel was not GNOME's dialog's")
	}
	o, _, _ = g.Root(ctx, "journalctl -b --no-pager -o short-precise _UID=1000 | grep -i -E 'rapidreboot|end.?session|inhibit' | tail -n 20", time.Minute)
	t.Logf("alice's journal (the Shell, gnome-session):\n%s", o)
	o, _, _ = g.Root(ctx, "journalctl -b -u rapidreboot-helper --no-pager -o short-precise | tail -n 15", time.Minute)
	t.Logf("the helper's journal:\n%s", o)
	var disarmLine string
	for _, l := range strings.Split(o, "\n") {
		if strings.Contains(l, "Disarm") && strings.Contains(l, "disarmed") {
			disarmLine = l
		}
	}
	if disarmLine == "" {
		t.Errorf("the helper's journal has no Disarm … disarmed line after the cancel")
	}
	if now := guestBootID(t, g); boot == "" || now != boot {
		t.Errorf("the guest restarted: boot id %q before, %q after", boot, now)
	}
	if unsaved {
		o, _, _ = g.Root(ctx, "pgrep -a gnome-text-edit", time.Minute)
		if !strings.Contains(o, "gnome-text-edit") {
			t.Errorf("gnome-text-editor is gone after the cancel")
		}
	}
	settled(t, d, filepath.Join(out, "10-session-after-cancel.png"), 2*time.Minute)
	if unsaved && !editorInhibits {
		t.Errorf("gnome-text-editor did not inhibit the logout with an unsaved document: GNOME's dialog cannot have listed it (see 7-gnome-end-session-dialog.png)")
	}
	t.Logf("done %.0f s after power-on", time.Since(t0).Seconds())
}

// TestDesktopXfceUnsavedDocumentCancel: in Xfce 4.20's real X11 session,
// the door of docs/desktops.md's Xfce section (the power key bound to
// rapidreboot, xfcePowerKeyDoor), an unsaved document in Xfce's own editor
// (mousepad). Xfce has no prompt of its own for it: xfce4-session ends the
// session without asking mousepad, for its own Restart as for the one
// rapidreboot asks of it (TestDesktopXfceOwnRestartAsksNothing). So on
// Xfce the one confirmation is rapidreboot's dialog, and the cancel is
// there: the power key → the dialog, Shift held → Quick Restart on offer
// (the dialog prepares the load), Escape → the dialog closes, nothing
// loaded or armed, mousepad and its document still there, the same boot.
func TestDesktopXfceUnsavedDocumentCancel(t *testing.T) {
	g, d, out, t0 := desktopGuest(t, "xfce", "unsaved-cancel")
	ctx := context.Background()
	xfcePowerKeyDoor(t, g)
	settled(t, d, filepath.Join(out, "1-desktop.png"), 6*time.Minute)
	t.Logf("desktop settled %.0f s after power-on", time.Since(t0).Seconds())
	boot := guestBootID(t, g)
	if st := guestArmState(t, g); st.KexecLoaded != "0" || st.ArmFile {
		t.Fatalf("armed before the test began:\n%s", st.Raw)
	}
	mousepadWithUnsavedText(t, g, d, out, "Unsaved work of alice: the restart must wait for her.\n")
	if err := d.Press("power"); err != nil {
		t.Fatal(err)
	}
	settled(t, d, filepath.Join(out, "4-power-key-dialog.png"), 3*time.Minute)
	o, _, _ := g.Root(ctx, "pgrep -x rapidreboot", time.Minute)
	if strings.TrimSpace(o) == "" {
		t.Fatal("the power key brought up no rapidreboot dialog")
	}
	if err := d.KeyDown("shift"); err != nil {
		t.Fatal(err)
	}
	settled(t, d, filepath.Join(out, "5-shift-held.png"), 2*time.Minute)
	// The dialog prepares while Quick Restart is on offer (ui/control/
	// prepare.go): give the load its seconds under TCG, so that the cancel
	// below has something to undo.
	time.Sleep(15 * time.Second)
	held := guestArmState(t, g)
	t.Logf("Shift held 15 s (kexec_loaded %q, arm file %v)", held.KexecLoaded, held.ArmFile)
	if held.ArmFile {
		t.Errorf("armed before any click")
	}
	d.KeyUp("shift")
	esc := time.Now()
	if err := d.Press("esc"); err != nil {
		t.Fatal(err)
	}
	var after armState
	for deadline := esc.Add(60 * time.Second); ; {
		time.Sleep(5 * time.Second)
		after = guestArmState(t, g)
		if (after.KexecLoaded == "0" && !after.ArmFile) || time.Now().After(deadline) {
			break
		}
	}
	d.Screendump(filepath.Join(out, "6-cancelled.png"))
	t.Logf("%.0f s after Escape:\n%s", time.Since(esc).Seconds(), after.Raw)
	if after.KexecLoaded != "0" || after.ArmFile || !after.StatusOK || after.Armed {
		t.Errorf("something stayed after the cancel (kexec_loaded %q, arm file %v, status ok %v armed %v)", after.KexecLoaded, after.ArmFile, after.StatusOK, after.Armed)
	}
	o, _, _ = g.Root(ctx, "journalctl -b -u rapidreboot-helper --no-pager -o short-precise | tail -n 15", time.Minute)
	t.Logf("the helper's journal:\n%s", o)
	if strings.Contains(o, "result=armed") {
		t.Errorf("the helper armed: the cancel came before any click")
	}
	o, _, _ = g.Root(ctx, "pgrep -x rapidreboot; echo; pgrep -a mousepad", time.Minute)
	t.Logf("processes after the cancel:\n%s", o)
	if !strings.Contains(o, "mousepad") {
		t.Errorf("mousepad is gone after the cancel: its document was not kept")
	}
	if now := guestBootID(t, g); boot == "" || now != boot {
		t.Errorf("the guest restarted: boot id %q before, %q after", boot, now)
	}
	settled(t, d, filepath.Join(out, "7-session-after-cancel.png"), 2*time.Minute)
	t.Logf("done %.0f s after power-on", time.Since(t0).Seconds())
}

// TestDesktopXfceOwnRestartAsksNothing keeps docs/desktops.md's word on
// Xfce true: the same unsaved mousepad document, then Xfce's own restart —
// `xfce4-session-logout --reboot`, xfce4-session's Restart(allow_save) as
// its Log Out dialog's Restart calls it, and as rapidreboot's dialog calls
// it — with nothing armed. Xfce 4.20 asks nothing: mousepad is no session
// client, the session ends and the guest restarts (seen 2026-12-03). The
// test passes while that holds; should a later Xfce ask first, it fails,
// and the docs and TestDesktopXfceUnsavedDocumentCancel are to be
// revisited.
func TestDesktopXfceOwnRestartAsksNothing(t *testing.T) {
	g, d, out, t0 := desktopGuest(t, "xfce", "own-restart-unsaved")
	ctx := context.Background()
	settled(t, d, filepath.Join(out, "1-desktop.png"), 6*time.Minute)
	t.Logf("desktop settled %.0f s after power-on", time.Since(t0).Seconds())
	boot := guestBootID(t, g)
	mousepadWithUnsavedText(t, g, d, out, "Unsaved work of alice: does Xfce ask first?\n")
	o, rc, err := g.User(ctx, "setsid -f xfce4-session-logout --reboot </dev/null >/dev/null 2>&1; echo asked", time.Minute)
	t.Logf("xfce4-session-logout --reboot (rc %d, %v): %s", rc, err, o)
	time.Sleep(30 * time.Second)
	d.Screendump(filepath.Join(out, "4-after-xfce-restart.png"))
	o, _, gerr := g.Root(ctx, "pgrep -a mousepad; pgrep -a xfce4-session; cat /proc/sys/kernel/random/boot_id", time.Minute)
	t.Logf("30 s after Xfce's own restart (%v):\n%s", gerr, o)
	if gerr == nil && strings.Contains(o, boot) && strings.Contains(o, "mousepad") {
		t.Errorf("Xfce's own restart is waiting with mousepad still open: Xfce asks now — revisit docs/desktops.md's Xfce section")
	}
}

// mousepadWithUnsavedText starts Xfce's editor in alice's session, waits
// for it, and types text into its new document (screenshots 2 and 3).
func mousepadWithUnsavedText(t *testing.T, g *Guest, d *Display, out, text string) {
	t.Helper()
	ctx := context.Background()
	o, rc, err := g.User(ctx, "setsid -f mousepad </dev/null >/dev/null 2>&1; echo started", time.Minute)
	t.Logf("mousepad (rc %d, %v): %s", rc, err, o)
	for deadline := time.Now().Add(3 * time.Minute); ; {
		o, _, _ = g.Root(ctx, "pgrep -x mousepad >/dev/null && echo running", time.Minute)
		if strings.Contains(o, "running") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("mousepad did not start")
		}
		time.Sleep(5 * time.Second)
	}
	settled(t, d, filepath.Join(out, "2-editor.png"), 3*time.Minute)
	if err := d.Type(text); err != nil {
		t.Fatal(err)
	}
	settled(t, d, filepath.Join(out, "3-unsaved-document.png"), 2*time.Minute)
}

// gnomeEditorWithUnsavedText starts GNOME's editor in alice's session and
// types into a new document until gnome-session lists the editor's logout
// inhibitor (screenshots 2 and 3); it says whether it did.
func gnomeEditorWithUnsavedText(t *testing.T, g *Guest, d *Display, out string) bool {
	t.Helper()
	ctx := context.Background()
	editorInhibits := false
	// GNOME's editor, from alice's session (the user loop has the
	// session's environment), with a new document typed into.
	o, rc, err := g.User(ctx, "setsid -f gnome-text-editor --new-window </dev/null >/dev/null 2>&1; echo started", time.Minute)
	t.Logf("gnome-text-editor (rc %d, %v): %s", rc, err, o)
	for deadline := time.Now().Add(4 * time.Minute); ; {
		o, _, _ = g.Root(ctx, "pgrep -x gnome-text-edit >/dev/null && echo running", time.Minute)
		if strings.Contains(o, "running") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gnome-text-editor did not start")
		}
		time.Sleep(5 * time.Second)
	}
	// GNOME's session starts in the overview, and the editor's window is
	// drawn a while after its process starts (seen 2026-12-03: typing
	// went into the overview's search). Its window opens centred: after a
	// while, Escape leaves the overview and a click in the screen's middle
	// puts the text cursor in the editor's document.
	time.Sleep(30 * time.Second)
	settled(t, d, filepath.Join(out, "2-editor-started.png"), 3*time.Minute)
	if err := d.Press("esc"); err != nil {
		t.Fatal(err)
	}
	settled(t, d, filepath.Join(out, "2-editor.png"), 2*time.Minute)
	// Seen 2026-12-03: under TCG the window may come up only after the
	// typing (the text lost, no inhibitor): click and type again until
	// gnome-session lists the editor's inhibitor.
	for attempt := 1; attempt <= 3 && !editorInhibits; attempt++ {
		if err := d.ClickAt(d.W/2, d.H/2, "left"); err != nil {
			t.Fatal(err)
		}
		d.pause()
		if err := d.Type("Unsaved work of alice: rapidreboot must ask GNOME first.\n"); err != nil {
			t.Fatal(err)
		}
		settled(t, d, filepath.Join(out, "3-unsaved-document.png"), 2*time.Minute)
		o, _, _ = g.User(ctx, `for p in $(gdbus call --session -d org.gnome.SessionManager -o /org/gnome/SessionManager -m org.gnome.SessionManager.GetInhibitors | grep -o "/org/gnome/SessionManager/Inhibitor[0-9]*"); do
	  echo "$p: $(gdbus call --session -d org.gnome.SessionManager -o "$p" -m org.gnome.SessionManager.Inhibitor.GetAppId) $(gdbus call --session -d org.gnome.SessionManager -o "$p" -m org.gnome.SessionManager.Inhibitor.GetFlags) $(gdbus call --session -d org.gnome.SessionManager -o "$p" -m org.gnome.SessionManager.Inhibitor.GetReason)"
	done
	echo "logout inhibited: $(gdbus call --session -d org.gnome.SessionManager -o /org/gnome/SessionManager -m org.gnome.SessionManager.IsInhibited 1)"`, time.Minute)
		t.Logf("gnome-session's inhibitors before the click:\n%s", o)
		editorInhibits = strings.Contains(o, "org.gnome.TextEditor")
		t.Logf("attempt %d: the editor inhibits: %v", attempt, editorInhibits)
	}
	return editorInhibits
}

// TestDesktopGNOMEUnsavedDocumentRestart is the other answer to GNOME's
// prompt: the same unsaved draft, Shift + Quick Restart… → armed, GNOME's
// dialog listing the editor, and its Restart chosen. gnome-session then
// drops its own block on shutdown and asks logind (gsm_systemd_prepare_
// shutdown): the guest comes back by kexec (no QMP RESET) into the planned
// kernel — the helper's passing of that block (arming.Via) ends where it
// should, in logind's restart, with nothing overridden.
func TestDesktopGNOMEUnsavedDocumentRestart(t *testing.T) {
	g, d, out, t0 := desktopGuest(t, "gnome", "unsaved-restart")
	ctx := context.Background()
	settled(t, d, filepath.Join(out, "1-desktop.png"), 8*time.Minute)
	t.Logf("desktop settled %.0f s after power-on", time.Since(t0).Seconds())
	enableGNOMEExtension(t, g, t0)
	planOut, _, _ := g.Root(ctx, "rapidrebootctl plan --json", time.Minute)
	var plan struct{ Kernel, Version string }
	if i, j := strings.Index(planOut, "{"), strings.LastIndex(planOut, "}"); i >= 0 && j > i {
		json.Unmarshal([]byte(planOut[i:j+1]), &plan)
	}
	if !gnomeEditorWithUnsavedText(t, g, d, out) {
		t.Fatal("gnome-text-editor did not inhibit the logout: no prompt to answer")
	}
	ix, iy := gnomeShiftOnPowerSubmenu(t, d, out, 4)
	var armed armState
	r, err := g.RestartWith(ctx, func() error {
		if err := d.MoveTo(ix, iy); err != nil {
			return err
		}
		d.pause()
		err := d.Click("left")
		time.Sleep(3 * time.Second) // as in TestDesktopGNOMEQuickRestart
		d.KeyUp("shift")
		if err != nil {
			return err
		}
		time.Sleep(20 * time.Second)
		d.Screendump(filepath.Join(out, "7-gnome-end-session-dialog.png"))
		armed = guestArmState(t, g)
		bx, by := gnomeEndSessionRestartButton(d.W, d.H)
		return d.ClickAt(bx, by, "left")
	})
	d.KeyUp("shift")
	t.Logf("with GNOME's dialog up:\n%s", armed.Raw)
	if armed.KexecLoaded != "1" || !armed.ArmFile {
		t.Errorf("not armed with GNOME's dialog up (kexec_loaded %q, arm file %v)", armed.KexecLoaded, armed.ArmFile)
	}
	if err != nil {
		t.Fatalf("the guest did not come back: %v", err)
	}
	t.Logf("Restart chosen in GNOME's dialog listing the editor: %s (QMP RESET %d)", r, len(r.Resets))
	if !r.ByKexec() {
		t.Errorf("not a kexec: %s", r)
	}
	if plan.Version != "" && r.To.Kernel != plan.Version {
		t.Errorf("came back into %s, the plan said %s", r.To.Kernel, plan.Version)
	}
	waitUserLoop(t, g, 15*time.Minute)
	settled(t, d, filepath.Join(out, "8-session-again.png"), 6*time.Minute)
	t.Logf("alice's GNOME session again %.0f s after the click", time.Since(r.Requested).Seconds())
}

// gnomeEndSessionRestartButton is the Restart button of GNOME 48's
// end-session dialog listing one application, centred on the screen:
// measured on the guest's 1280x800 screen on 2026-12-03 (build/desktop/
// gnome-unsaved-cancel/7-gnome-end-session-dialog.png): (730, 521).
func gnomeEndSessionRestartButton(w, h int) (int, int) { return w/2 + 90, h/2 + 121 }

// waitForDialog waits up to 60 s after since for alice's rapidreboot
// dialog and returns its pgrep line, "" when none came.
func waitForDialog(g *Guest, since time.Time) string {
	for deadline := since.Add(60 * time.Second); time.Now().Before(deadline); {
		time.Sleep(3 * time.Second)
		o, _, _ := g.Root(context.Background(), "pgrep -u alice -a -x rapidreboot", time.Minute)
		if l := strings.TrimSpace(o); l != "" {
			return l
		}
	}
	return ""
}

// escapeLeavesNothing closes the dialog with Escape and checks that
// nothing is loaded or armed and the guest did not restart (picture at
// shot).
func escapeLeavesNothing(t *testing.T, g *Guest, d *Display, shot, boot string) {
	t.Helper()
	if err := d.Press("esc"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second)
	d.Screendump(shot)
	st := guestArmState(t, g)
	t.Logf("after Escape:\n%s", st.Raw)
	if st.KexecLoaded != "0" || st.ArmFile {
		t.Errorf("something stayed after the dialog closed (kexec_loaded %q, arm file %v)", st.KexecLoaded, st.ArmFile)
	}
	if now := guestBootID(t, g); boot == "" || now != boot {
		t.Errorf("the guest restarted: boot id %q before, %q after", boot, now)
	}
}
