package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// What the tests need of the product in the guest, in one place.

const (
	ctl        = "rapidrebootctl"
	probeTool  = "/usr/local/lib/e2e/tools/rr-probe"
	hookBinary = "/usr/lib/systemd/system-shutdown/rapidreboot"
)

// probeResult is rr-probe's answer (test/e2e/guestprobe).
type probeResult struct {
	OK      bool         `json:"ok"`
	Plan    *busapi.Plan `json:"plan"`
	Armed   *bool        `json:"armed"`
	Elapsed int64        `json:"elapsed_ns"`
	Error   *struct {
		Name, Code, Detail, Message string
	} `json:"error"`
}

func (p probeResult) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

func parseProbe(t *testing.T, out string) probeResult {
	t.Helper()
	var p probeResult
	i := strings.LastIndex(strings.TrimSpace(out), "\n{")
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)[i+1:]), &p); err != nil {
		t.Fatalf("cannot read rr-probe's answer: %v\n%s", err, out)
	}
	return p
}

// probeAsUser calls the helper through the project's bus client as alice,
// in her active tty1 session.
func probeAsUser(t *testing.T, g *Guest, cmd string) probeResult {
	t.Helper()
	out, _ := user(t, g, probeTool+" "+cmd)
	return parseProbe(t, out)
}

// probeWithoutSession calls the helper as bob from a system service's
// process: no session at all, so polkit's allow_any applies.
func probeWithoutSession(t *testing.T, g *Guest, cmd string) probeResult {
	t.Helper()
	out, _ := root(t, g, "systemd-run -q --wait --pipe --uid=bob "+probeTool+" "+cmd)
	return parseProbe(t, out)
}

// wantRefused checks a refusal: the error name and reason code, nothing
// loaded, nothing armed.
func wantRefused(t *testing.T, g *Guest, p probeResult, name, code string) {
	t.Helper()
	if p.OK || p.Error == nil {
		t.Errorf("the helper agreed (%s), want %s/%s", p, name, code)
		return
	}
	if name != "" && p.Error.Name != name {
		t.Errorf("refused with %s (%s), want %s", p.Error.Name, p.Error.Message, name)
	}
	if code != "" && p.Error.Code != code {
		t.Errorf("refused with code %q (%s), want %q", p.Error.Code, p.Error.Message, code)
	}
	if got := kexecLoaded(t, g); got != "0" {
		t.Errorf("after the refusal /sys/kernel/kexec_loaded = %s, want 0", got)
	}
	if a := probeAsUser(t, g, "armed"); a.Armed == nil || *a.Armed {
		t.Errorf("after the refusal Armed = %s, want false", a)
	}
}

// disarm leaves the guest with nothing armed or loaded.
func disarm(t *testing.T, g *Guest) {
	t.Helper()
	if p := probeAsUser(t, g, "disarm"); !p.OK {
		t.Errorf("Disarm: %s", p)
	}
	if got := kexecLoaded(t, g); got != "0" {
		t.Errorf("after Disarm /sys/kernel/kexec_loaded = %s, want 0", got)
	}
}

// coldCmdline is /proc/cmdline of the guest's first (GRUB) boot.
var coldCmdline = map[*Guest]string{}

// cold returns the command line a cold boot through GRUB gave this guest,
// without GRUB's BOOT_IMAGE=, reading it now if the current boot came
// through GRUB.
func cold(t *testing.T, g *Guest) string {
	t.Helper()
	if c, ok := coldCmdline[g]; ok {
		return c
	}
	c := strings.TrimSpace(mustRoot(t, g, "cat /proc/cmdline"))
	if !strings.HasPrefix(c, "BOOT_IMAGE=") {
		t.Fatalf("the current boot did not come through GRUB (%q): no cold command line to compare with", c)
	}
	coldCmdline[g] = cmdlineWithoutBootImage(c)
	return coldCmdline[g]
}

// newest is the newest installed kernel version.
func newest(t *testing.T) string {
	t.Helper()
	if len(suite.kernels) == 0 {
		t.Fatal("the image's manifest names no kernels")
	}
	return suite.kernels[0]
}

// quickRestart asks for a Quick Restart as the tty1 user with the CLI,
// with the kernel's notices on the console (the product's hook logs to
// kmsg at level 5), and returns how the guest came back.
func quickRestart(t *testing.T, g *Guest, what string) Restart {
	t.Helper()
	cold(t, g)
	mustRoot(t, g, "dmesg -n 6")
	return restart(t, g, what, func() error {
		return g.UserStart(suite.ctx, ctl+" restart --quick")
	})
}

// fullReboot asks for a normal restart as the tty1 user, as a desktop's
// Restart button does through logind (desktopReboot).
func fullReboot(t *testing.T, g *Guest, what string) Restart {
	t.Helper()
	cold(t, g)
	mustRoot(t, g, "dmesg -n 6")
	return restart(t, g, what, func() error {
		return g.UserStart(suite.ctx, desktopReboot())
	})
}

// checkKexecBoot checks what scenario 1 promises of a Quick Restart.
func checkKexecBoot(t *testing.T, g *Guest, r Restart, wantCmdline string) {
	t.Helper()
	if !r.ByKexec() {
		t.Errorf("the guest came back through the firmware: %d QMP RESET, firmware output %v", len(r.Resets), r.Firmware)
	}
	if r.To.ID == r.From.ID || r.To.ID == "" {
		t.Errorf("boot id %q after the restart, before %q: want a new one", r.To.ID, r.From.ID)
	}
	if r.To.Kernel != newest(t) {
		t.Errorf("uname -r = %s after Quick Restart, want the newest installed kernel %s", r.To.Kernel, newest(t))
	}
	got := strings.TrimSpace(mustRoot(t, g, "cat /proc/cmdline"))
	if strings.HasPrefix(got, "BOOT_IMAGE=") {
		t.Errorf("/proc/cmdline starts with BOOT_IMAGE=: this boot came through GRUB: %q", got)
	}
	if cmdlineWithoutBootImage(got) != wantCmdline {
		t.Errorf("/proc/cmdline after Quick Restart\n got %q\nwant %q (the cold boot's, without BOOT_IMAGE=)", got, wantCmdline)
	}
}

var kmsgRE = regexp.MustCompile(`^\[\s*(\d+\.\d+)\]\s+(.*)$`)

// hookSpan reads, from the console of a restart, the product hook's time
// from the start of systemd-shutdown's hooks (the e2e stamp hook's first
// kmsg record) to its "restarting into … by kexec" record, and the part of
// it beyond its sibling (from the stamp hook's last record), both
// timestamped by the kernel.
func hookSpan(r Restart) (total, beyond time.Duration, ok bool) {
	var start, sibDone, kexec float64
	for _, l := range r.Lines {
		m := kmsgRE.FindStringSubmatch(l.Text)
		if m == nil {
			continue
		}
		ts, _ := strconv.ParseFloat(m[1], 64)
		switch {
		case strings.Contains(m[2], "e2e-stamp: system-shutdown hooks started"):
			start = ts
		case strings.Contains(m[2], "e2e-stamp: done"):
			sibDone = ts
		case strings.Contains(m[2], "rapidreboot:") && strings.Contains(m[2], "by kexec"):
			kexec = ts
		}
	}
	if start == 0 || kexec == 0 || kexec < start {
		return 0, 0, false
	}
	from := start
	if sibDone > from && sibDone <= kexec {
		from = sibDone
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return sec(kexec - start), sec(kexec - from), true
}

// recordQuick adds a Quick Restart to the figures, with its hook time.
func recordQuick(t *testing.T, g *Guest, r Restart) { recordQuickAs(t, g, r, KindQuick) }

// recordQuickAs records a Quick Restart under kind (KindQuick or
// KindDialogQuick).
func recordQuickAs(t *testing.T, g *Guest, r Restart, kind string) {
	t.Helper()
	s := RestartSample{r, analyze(t, g)}
	sd, jump, boot := s.Split()
	t.Logf("Quick Restart split: shutdown %s, jump %s, kernel + userspace to the marker %s (systemd-analyze: %s)",
		fmtSeconds(sd), fmtSeconds(jump), fmtSeconds(boot), fmtSeconds(s.Analyze.Total()))
	suite.figures.AddRestart(kind, s)
	if total, beyond, ok := hookSpan(r); ok {
		suite.figures.AddSpan("hook: hooks start to kexec call", total)
		suite.figures.AddSpan("hook: beyond its siblings", beyond)
	}
	suite.figures.Kernel = r.To.Kernel
}

// helperLog returns the helper's journal lines of this boot.
func helperLog(t *testing.T, g *Guest) string {
	t.Helper()
	out, _ := root(t, g, "journalctl -b -o cat --no-pager _SYSTEMD_UNIT=rapidreboot-helper.service | tail -50")
	return out
}

// stillUp checks that no restart began: same boot, no RESET, for a while.
func stillUp(t *testing.T, g *Guest, boot string) {
	t.Helper()
	time.Sleep(5 * time.Second)
	out := mustRoot(t, g, "cat /proc/sys/kernel/random/boot_id; systemctl list-jobs --no-legend | grep -E 'reboot|shutdown' || true")
	if !strings.HasPrefix(out, boot) || strings.Contains(out, "reboot.target") {
		t.Errorf("a refused Quick Restart still restarts the guest: %s", out)
	}
}

var errNoJSON = errors.New("no JSON object in the output")

func jsonDecode(s string, v any) error { return json.NewDecoder(strings.NewReader(s)).Decode(v) }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
