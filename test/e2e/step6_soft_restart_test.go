package e2e

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 16: the product's soft restart. On Debian 13 (systemd 257) alice's
// `rapidrebootctl restart --soft` goes through the helper (which probed
// systemd) to logind's RebootWithFlags(SOFT_REBOOT): userspace restarts,
// the kernel does not (same uname -r, same boot id, no firmware, no RESET),
// systemd's SoftRebootsCount goes up by one, and alice's session comes back
// (SoftRebootWith waits for the tty1 loop). On Debian 12 (systemd 252) the
// helper says it is not available, and asking for it changes nothing.
func TestSoftRestartThroughTheProduct(t *testing.T) {
	needProduct(t)
	g := guest(t)
	var st struct {
		Advice *struct {
			Kind           string `json:"recommended"`
			SoftAvailable  bool   `json:"soft_available"`
			SystemdVersion string `json:"systemd_version"`
		} `json:"advice"`
	}
	out := mustUser(t, g, ctl+" status --json")
	if err := jsonDecode(out, &st); err != nil || st.Advice == nil {
		t.Fatalf("rapidrebootctl status --json: %v\n%s", err, out)
	}
	t.Logf("advice: %+v", *st.Advice)

	if suite.release == "bookworm" {
		if st.Advice.SoftAvailable || !strings.HasPrefix(st.Advice.SystemdVersion, "252") {
			t.Errorf("Debian 12: soft restart available %v, systemd %q; want absent on 252", st.Advice.SoftAvailable, st.Advice.SystemdVersion)
		}
		out, rc := user(t, g, ctl+" restart --soft")
		if rc == 0 || !strings.Contains(out, "254") {
			t.Errorf("restart --soft on Debian 12: exit %d, %q; want a refusal naming systemd 254", rc, out)
		}
		stillUp(t, g, g.Boot.ID)
		return
	}

	if !st.Advice.SoftAvailable {
		t.Fatalf("Debian 13: the helper says no soft restart (systemd %q)", st.Advice.SystemdVersion)
	}
	before := softReboots(t, g)
	r, err := g.SoftRebootWith(suite.ctx, func() error { return g.UserStart(suite.ctx, ctl+" restart --soft") })
	if err != nil {
		suite.broken = true
		t.Fatalf("rapidrebootctl restart --soft: the guest did not come back: %v", err)
	}
	t.Logf("rapidrebootctl restart --soft: %.1f s, kernel %s, boot %s, uptime %.1f -> %.1f s",
		r.Wall().Seconds(), r.To.Kernel, r.To.ID, r.From.Uptime, r.To.Uptime)
	if r.To.Kernel != r.From.Kernel || r.To.ID != r.From.ID {
		t.Errorf("the soft restart changed the kernel or the boot: %s %s -> %s %s", r.From.Kernel, r.From.ID, r.To.Kernel, r.To.ID)
	}
	if len(r.Resets) != 0 || r.Firmware {
		t.Errorf("the soft restart went through the firmware: %d RESET, banner %v", len(r.Resets), r.Firmware)
	}
	if after := softReboots(t, g); after != before+1 {
		t.Errorf("SoftRebootsCount %d -> %d, want +1", before, after)
	}
	if uname := strings.TrimSpace(mustUser(t, g, "uname -r")); uname != r.From.Kernel {
		t.Errorf("uname -r after the soft restart = %q, want %q", uname, r.From.Kernel)
	}
	if log := helperLog(t, g); !strings.Contains(log, "restarting userspace") {
		t.Logf("helper log (the journal of before the soft restart may be rotated):\n%s", log)
	}
}

// TestSoftRestartFromTheDialogInMATEsRealSession is "Restart Apps Only"
// as a person clicks it (issue 16), in the real MATE session manager. Its
// first run (2026-12-03) found that the dialog does not outlive the
// session it ends, so it never asked the helper (docs/e2e.md). Now the
// dialog asks the helper first to restart the programs when this session
// ends (SoftRestartAfterLogout), then mate-session to log out; the helper
// acts on logind's word that the session closed.
//
// So that the session's end is logind's, as under a display manager,
// mate-session runs in a login session of its own, not in alice's tty1
// session (which the harness needs): a transient service with PAM
// (PAMName=login) and the variables a display manager gives pam_systemd
// (seat0, VT 7, x11), made the active session of seat0 (polkit's "active"
// for logind's reboot action, as for a person at the machine). The dialog
// is started by mate-session itself (an autostart entry), so it is in that
// session. On Debian 13, first a cancel: with an "editor" holding
// mate-session's logout inhibitor, the click stops at mate-session's
// prompt, the user cancels, and the dialog calls the helper's schedule off
// (nothing pending, nothing restarted). Then, the editor closed, the click
// ends the session and the guest's userspace restarts: same kernel and
// boot id, no firmware, SoftRebootsCount up by one, alice's tty1 session
// back. On Debian 12
// (systemd 252, no soft-reboot) the button is absent, in the tty1 session
// as before.
func TestSoftRestartFromTheDialogInMATEsRealSession(t *testing.T) {
	needProduct(t)
	g := guest(t)
	startXvfb(t, g, 7)
	if suite.release == "bookworm" {
		bus := startMateSession(t, g, 7)
		d := startDialog(t, g, "/tmp/e2e-trace-soft", "DISPLAY=:7 XDG_CURRENT_DESKTOP=MATE "+bus+" setsid -f "+testDialogPath)
		if tr := d.wait(`session manager=`); !strings.Contains(tr, `session manager="MATE"`) {
			t.Fatalf("the dialog did not find the MATE session manager:\n%s", tr)
		}
		if adv := d.wait(`advice known=true`); strings.Contains(lastLineWith(adv, "advice known=true"), "soft=true") {
			t.Errorf("Debian 12: the helper's advice says soft restart:\n%s", adv)
		}
		time.Sleep(HumanReaction) // the session manager's arrival redrawn
		tr := d.wait(`advice suggested=`)
		if line := lastLineWith(tr, "advice suggested="); !strings.Contains(line, `soft=""`) {
			t.Errorf("Debian 12: the dialog shows Restart Apps Only: %s", line)
		}
		if tr := d.wait(`geom soft `); strings.Contains(lastLineWith(tr, "geom soft "), "visible=true") {
			t.Errorf("Debian 12: the soft restart's button is visible:\n%s", tr)
		}
		stillUp(t, g, g.Boot.ID)
		return
	}

	d, session := startMateLoginSession(t, g, 7, "/tmp/e2e-trace-soft")
	if tr := d.wait(`session manager=`); !strings.Contains(tr, `session manager="MATE"`) {
		t.Fatalf("the dialog did not find the MATE session manager:\n%s", tr)
	}
	if adv := d.wait(`advice known=true`); !strings.Contains(lastLineWith(adv, "advice known=true"), "soft=true") {
		t.Fatalf("Debian 13: the helper's advice says no soft restart:\n%s", adv)
	}
	d.wait(`soft="Restart Apps Only"`)
	time.Sleep(HumanReaction) // as a person clicks; the layout settles
	tr := d.wait(`geom soft x=-?[0-9]+ y=-?[0-9]+ w=[0-9]+ h=[0-9]+ visible=true`)
	geo := regexp.MustCompile(`geom soft x=(-?\d+) y=(-?\d+) w=(\d+) h=(\d+) visible=true`).FindAllStringSubmatch(tr, -1)
	last := geo[len(geo)-1]
	x, y := atoi(last[1])+atoi(last[3])/2, atoi(last[2])+atoi(last[4])/2
	xid := regexp.MustCompile(`xid=(0x[0-9a-f]+)`).FindStringSubmatch(mustUser(t, g, "grep -m1 -o 'xid=0x[0-9a-f]*' "+d.trace))
	if xid == nil {
		t.Fatalf("no window id in the dialog's trace")
	}
	click := fmt.Sprintf(`DISPLAY=:7 xdotool mousemove --window %s %d %d click 1`, xid[1], x, y)
	before := softReboots(t, g)

	// First the cancel: an "editor" holds mate-session's logout inhibitor
	// (rr-probe session-inhibit, as in row 37), so the log out stops at
	// the "Some programs are still running" prompt, where the user
	// cancels. The dialog hears of it (SessionRunning) within wait()'s
	// minute — its grace is 90 s — and calls the helper's schedule off.
	bus := "DBUS_SESSION_BUS_ADDRESS=$(cat /tmp/e2e-mate-bus7)"
	mustUser(t, g, bus+` setsid -f /usr/local/lib/e2e/tools/rr-probe session-inhibit >/tmp/e2e-inhibit7.out 2>&1 </dev/null
for i in $(seq 100); do grep -q cookie /tmp/e2e-inhibit7.out && break; sleep 0.2; done
cat /tmp/e2e-inhibit7.out; `+bus+` `+mateSM+`IsInhibited 1 | grep -q true`)
	d.mark()
	mustUser(t, g, click)
	prompt := windowID(t, g, ":7", "mate-session", 2*time.Minute)
	if !softPendingAsUser(t, g) {
		t.Errorf("while mate-session asks, rapidrebootctl status --json says no soft restart is pending")
	}
	if out, rc := user(t, g, `DISPLAY=:7 xdotool mousemove --window `+prompt+` 20 20 windowfocus --sync `+prompt+` sleep 0.5 key Escape
for i in $(seq 100); do DISPLAY=:7 xdotool search --onlyvisible --class mate-session >/dev/null || exit 0; sleep 0.2; done
echo "the prompt is still there; focus: $(DISPLAY=:7 xdotool getwindowfocus getwindowname)"; exit 1`); rc != 0 {
		t.Fatalf("cannot cancel the session manager's prompt: %s", out)
	}
	t0 := time.Now()
	if tr := d.wait(`result soft-restart done=`); !strings.Contains(tr, "Restarting the apps was cancelled. Nothing was changed.") {
		t.Errorf("the dialog after Cancel in the session manager's prompt:\n%s", tr)
	}
	t.Logf("the dialog's answer %.1f s after Cancel in the session manager's prompt", time.Since(t0).Seconds())
	if softPendingAsUser(t, g) {
		t.Errorf("after the cancel rapidrebootctl status --json says a soft restart is pending")
	}
	stillUp(t, g, g.Boot.ID)
	if n := softReboots(t, g); n != before {
		t.Errorf("SoftRebootsCount %d -> %d after the cancel, want unchanged", before, n)
	}
	if out, _ := root(t, g, "journalctl -o cat --no-pager --since=-5min | grep -E 'CancelSoftRestart' | tail -n 3"); !strings.Contains(out, "dropped the soft restart") {
		t.Errorf("the helper's journal shows no dropped schedule:\n%s", out)
	} else {
		t.Logf("helper: %s", strings.TrimSpace(out))
	}

	// The document closed, the same click goes through.
	mustUser(t, g, "pkill -u alice -x rr-probe; sleep 0.5; "+bus+" "+mateSM+"IsInhibited 1 | grep -q false")
	time.Sleep(HumanReaction)
	r, err := g.SoftRebootWith(suite.ctx, func() error { return g.UserStart(suite.ctx, click) })
	if err != nil {
		suite.broken = true
		out, _ := root(t, g, "echo '--- trace'; tail -n 30 "+d.trace+"; echo '--- dialog'; tail -n 20 "+d.trace+".log; echo '--- mate'; tail -n 20 /tmp/e2e-mate7.log; echo '--- sessions'; loginctl list-sessions --no-pager; echo '--- helper'; journalctl -o short-monotonic --no-pager _SYSTEMD_UNIT=rapidreboot-helper.service | tail -n 20")
		t.Fatalf("Restart Apps Only: the guest's userspace did not come back: %v\n%s", err, out)
	}
	t.Logf("Restart Apps Only from the dialog through mate-session: %.1f s from the click to the new userspace's marker, kernel %s, boot %s",
		r.Wall().Seconds(), r.To.Kernel, r.To.ID)
	if r.To.Kernel != r.From.Kernel || r.To.ID != r.From.ID {
		t.Errorf("the soft restart changed the kernel or the boot: %s %s -> %s %s", r.From.Kernel, r.From.ID, r.To.Kernel, r.To.ID)
	}
	if len(r.Resets) != 0 || r.Firmware {
		t.Errorf("the soft restart went through the firmware: %d RESET, banner %v", len(r.Resets), r.Firmware)
	}
	after := softReboots(t, g)
	if after != before+1 {
		t.Errorf("SoftRebootsCount %d -> %d, want +1", before, after)
	}
	if uname := strings.TrimSpace(mustUser(t, g, "uname -r")); uname != r.From.Kernel {
		t.Errorf("uname -r after the soft restart = %q, want %q", uname, r.From.Kernel)
	}
	t.Logf("SoftRebootsCount %d -> %d; uname -r %s; boot id %s unchanged", before, after, r.To.Kernel, r.To.ID)
	// The helper's decisions of the userspace before (the journal in /run
	// outlives a soft reboot): the schedule at the click, the restart at
	// the session's end.
	out, _ := root(t, g, "journalctl -o short-monotonic --no-pager --since=-10min | grep -E 'SoftRestartAfterLogout' | tail -n 5")
	t.Logf("helper (session %s):\n%s", session, out)
	if !strings.Contains(out, "scheduled: a soft restart when session "+session+" ends") || !strings.Contains(out, "restarting userspace: session "+session) {
		t.Errorf("the helper's journal does not show the schedule for session %s and the restart at its end", session)
	}
}

// startMateLoginSession starts mate-session as alice on display :n in a
// login session of its own (see TestSoftRestartFromTheDialogInMATEsRealSession),
// with the dialog autostarted in it tracing to trace, makes that session
// the active one of seat0, and returns the dialog and the session's id.
// The cleanup stops what is left and gives seat0 back to alice's tty1
// session.
func startMateLoginSession(t *testing.T, g *Guest, n int, trace string) (*guestDialog, string) {
	t.Helper()
	unit := fmt.Sprintf("e2e-mate%d", n)
	busFile := fmt.Sprintf("/tmp/e2e-mate-bus%d", n)
	onVT := fmt.Sprintf(`$(loginctl list-sessions --no-legend | awk '{print $1}' | while read -r s; do [ "$(loginctl show-session -P VTNr "$s")" = %d ] && echo "$s"; done)`, n)
	t.Cleanup(func() {
		root(t, g, fmt.Sprintf(`systemctl stop %s 2>/dev/null; rm -f ~alice/.config/autostart/e2e-rapidreboot.desktop
for s in $(loginctl list-sessions --no-legend | awk '{print $1}'); do [ "$(loginctl show-session -P VTNr "$s")" = 1 ] && loginctl activate "$s"; done; true`, unit))
	})
	desktop := fmt.Sprintf("[Desktop Entry]\nType=Application\nName=e2e rapidreboot\nExec=sh -c 'RAPIDREBOOT_TRACE=%[1]s exec %[2]s >%[1]s.log 2>&1'\n", trace, testDialogPath)
	script := fmt.Sprintf("#!/bin/sh\nexec dbus-run-session -- sh -c 'echo \"$DBUS_SESSION_BUS_ADDRESS\" >%[2]s; exec mate-session' >/tmp/e2e-mate%[1]d.log 2>&1\n", n, busFile)
	out := mustRoot(t, g, fmt.Sprintf(`rm -f %[2]s /tmp/e2e-mate%[1]d.log %[4]s %[4]s.log
install -d -o alice -g alice ~alice/.config ~alice/.config/autostart || exit 1
echo %[5]s | base64 -d >~alice/.config/autostart/e2e-rapidreboot.desktop || exit 1
chown alice:alice ~alice/.config/autostart/e2e-rapidreboot.desktop
echo %[6]s | base64 -d >/tmp/e2e-mate%[1]d.sh || exit 1
chmod 0755 /tmp/e2e-mate%[1]d.sh
systemd-run --quiet --unit=%[3]s --uid=alice -p PAMName=login \
  -E DISPLAY=:%[1]d -E XDG_CURRENT_DESKTOP=MATE -E XDG_SESSION_DESKTOP=mate -E XDG_SESSION_TYPE=x11 \
  -E XDG_SESSION_CLASS=user -E XDG_SEAT=seat0 -E XDG_VTNR=%[1]d /tmp/e2e-mate%[1]d.sh || exit 1
s=
for i in $(seq 100); do
	s=%[7]s
	[ -n "$s" ] && break; sleep 0.2
done
[ -n "$s" ] || { echo "no login session on VT %[1]d:"; loginctl list-sessions --no-pager; systemctl status %[3]s --no-pager; exit 1; }
loginctl activate "$s"
for i in $(seq 600); do
	[ -s %[2]s ] && su alice -s /bin/sh -c "DBUS_SESSION_BUS_ADDRESS=\$(cat %[2]s) %[8]sIsSessionRunning" 2>/dev/null | grep -q true && break
	sleep 0.5
done
echo "session=$s"; loginctl show-session "$s" -p Type -p Class -p Seat -p VTNr -p Active -p State --no-pager
su alice -s /bin/sh -c "DBUS_SESSION_BUS_ADDRESS=\$(cat %[2]s) %[8]sIsSessionRunning" || { echo "mate-session did not reach its running phase:"; cat /tmp/e2e-mate%[1]d.log; exit 1; }`,
		n, busFile, unit, trace, b64(desktop), b64(script), onVT, mateSM))
	t.Logf("MATE's login session:\n%s", out)
	m := regexp.MustCompile(`session=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no login session for mate-session:\n%s", out)
	}
	if !strings.Contains(out, "Active=yes") {
		t.Errorf("MATE's login session is not the active one of seat0:\n%s", out)
	}
	d := &guestDialog{t: t, g: g, env: fmt.Sprintf("DISPLAY=:%d", n), trace: trace}
	if tr := d.wait("plan available="); !strings.Contains(tr, "plan available=true") {
		t.Fatalf("the dialog says Quick Restart is unavailable:\n%s", tr)
	}
	// Started once: the entry goes before anything else reads it.
	mustRoot(t, g, "rm -f ~alice/.config/autostart/e2e-rapidreboot.desktop")
	return d, m[1]
}

// softPendingAsUser reads advice.soft_restart_pending of alice's
// rapidrebootctl status --json.
func softPendingAsUser(t *testing.T, g *Guest) bool {
	t.Helper()
	var st struct {
		Advice *struct {
			SoftPending *bool `json:"soft_restart_pending"`
		} `json:"advice"`
	}
	out := mustUser(t, g, ctl+" status --json")
	if err := jsonDecode(out, &st); err != nil || st.Advice == nil || st.Advice.SoftPending == nil {
		t.Fatalf("rapidrebootctl status --json has no advice.soft_restart_pending: %v\n%s", err, out)
	}
	return *st.Advice.SoftPending
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// lastLineWith returns the last line of text that contains prefix ("" if none).
func lastLineWith(text, prefix string) string {
	l := ""
	for _, s := range strings.Split(text, "\n") {
		if strings.Contains(s, prefix) {
			l = s
		}
	}
	return l
}

// softReboots reads systemd's SoftRebootsCount (systemd 256+).
func softReboots(t *testing.T, g *Guest) int {
	t.Helper()
	out := mustRoot(t, g, "busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager SoftRebootsCount")
	f := strings.Fields(out) // "u 0"
	if len(f) != 2 {
		t.Fatalf("SoftRebootsCount: %q", out)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("SoftRebootsCount: %q", out)
	}
	return n
}
