package e2e

import (
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

// TestSoftRestartIsNotOfferedInMATEsRealSession opens the dialog in the
// real MATE session. Its first run with the click (2026-12-03, Debian 13)
// found that "Restart Apps Only" through a session manager logs the user
// out and restarts nothing: the dialog did not outlive the session it
// ended and never asked the helper (docs/e2e.md "Known failures"). So the
// dialog offers it under no GNOME-style session manager for now
// (session.SoftPath): on Debian 13, where the helper says a soft restart
// is possible, the button is hidden and Quick Restart is the suggested
// action; on Debian 12 (systemd 252) the helper says no soft restart at all.
func TestSoftRestartIsNotOfferedInMATEsRealSession(t *testing.T) {
	needProduct(t)
	g := guest(t)
	startXvfb(t, g, 7)
	bus := startMateSession(t, g, 7)
	d := startDialog(t, g, "/tmp/e2e-trace-soft", "DISPLAY=:7 XDG_CURRENT_DESKTOP=MATE "+bus+" setsid -f "+testDialogPath)
	if tr := d.wait(`session manager=`); !strings.Contains(tr, `session manager="MATE"`) {
		t.Fatalf("the dialog did not find the MATE session manager:\n%s", tr)
	}
	adv := d.wait(`advice known=true`)
	wantSoft := suite.release != "bookworm"
	if got := strings.Contains(lastLineWith(adv, "advice known=true"), "soft=true"); got != wantSoft {
		t.Errorf("%s: the helper's advice says soft restart %v, want %v:\n%s", releaseName(), got, wantSoft, adv)
	}
	time.Sleep(HumanReaction) // the session manager's arrival redrawn
	tr := d.wait(`advice suggested=`)
	if line := lastLineWith(tr, "advice suggested="); !strings.Contains(line, `soft=""`) {
		t.Errorf("%s: the dialog shows Restart Apps Only in MATE's session: %s", releaseName(), line)
	}
	if tr := d.wait(`geom soft `); strings.Contains(lastLineWith(tr, "geom soft "), "visible=true") {
		t.Errorf("%s: the soft restart's button is visible:\n%s", releaseName(), tr)
	}
	stillUp(t, g, g.Boot.ID)
}

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
