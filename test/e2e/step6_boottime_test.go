package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
)

// Issue 16, "what it saves": OVMF gives no FPDT and GRUB sets no loader
// timing, so the product measures the gap itself: the boot unit's stop
// step records the wall clock at the end of each shutdown in
// /var/lib/rapidreboot, and the next boot's start step keeps the gap to
// its kernel's start (realtime − uptime) by the kind of this boot
// (kernel.bootloader_type: 0xD0 kexec, GRUB's own id otherwise). After a
// firmware reboot and a Quick Restart, `rapidrebootctl status --json`
// reports a measured gap for both kinds and what a Quick Restart saves.
func TestBootTimeMeasuresAFirmwareRebootAndAQuickRestart(t *testing.T) {
	needProduct(t)
	g := guest(t)
	fpdt, _ := root(t, g, `if [ -d /sys/firmware/acpi/fpdt/boot ]; then echo present; grep . /sys/firmware/acpi/fpdt/boot/*; else echo absent; fi
ls /sys/firmware/acpi/tables/ | tr '\n' ' '; echo
systemctl show -p FirmwareTimestampMonotonic -p LoaderTimestampMonotonic`)
	t.Logf("FPDT and systemd's firmware timestamps in this guest (OVMF):\n%s", fpdt)
	clock := strings.TrimSpace(mustRoot(t, g, "date +%s.%N"))
	if s, err := strconv.ParseFloat(clock, 64); err == nil {
		t.Logf("guest wall clock − host: %+.2f s", s-float64(time.Now().UnixNano())/1e9)
	}

	r := fullReboot(t, g, "a firmware reboot, measured by the product")
	if r.ByKexec() {
		t.Fatalf("the normal restart came back by kexec: %s", r)
	}
	suite.figures.AddRestart(KindFirmware, RestartSample{r, analyze(t, g)})
	fw := gapOf(t, g, boottime.KindFirmware, r.To.ID)
	t.Logf("firmware reboot: the product measured %s from the end of the shutdown to the kernel's start; the harness: %s from the shutdown hooks to it, %s from the request to the marker",
		fw, harnessGap(r), r.Wall().Round(100*time.Millisecond))

	q := quickRestart(t, g, "a Quick Restart, measured by the product")
	if !q.ByKexec() {
		t.Fatalf("the Quick Restart came back through the firmware: %s", q)
	}
	recordQuick(t, g, q)
	kx := gapOf(t, g, boottime.KindKexec, q.To.ID)
	t.Logf("Quick Restart: the product measured %s; the harness: %s from the shutdown hooks to the kernel's start, %s from the request to the marker",
		kx, harnessGap(q), q.Wall().Round(100*time.Millisecond))
	if kx >= fw {
		t.Errorf("the Quick Restart's gap %s is not shorter than the firmware reboot's %s", kx, fw)
	}

	// As a script reads it: the user's rapidrebootctl, through the helper.
	out := mustUser(t, g, ctl+" status --json")
	var st struct {
		Armed     *bool           `json:"armed"`
		TimeSaved boottime.Report `json:"time_saved"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Armed == nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	ts := st.TimeSaved
	if ts.Firmware == nil || ts.Firmware.N < 1 || ts.Kexec == nil || ts.Kexec.N < 1 {
		t.Fatalf("status --json has no measured gap for both kinds:\n%s", out)
	}
	if ts.Seconds == nil || *ts.Seconds <= 0 {
		t.Fatalf("status --json says nothing saved though both kinds were measured:\n%s", out)
	}
	if ts.FPDT == nil && ts.Systemd == nil && ts.Source != boottime.SourceMeasured {
		t.Errorf("source %q without FPDT or systemd figures, want measured", ts.Source)
	}
	t.Logf("status --json: saves %.1f s (source %s, n %d); firmware gaps median %.1f s (n %d), kexec gaps median %.1f s (n %d), boot menu timeout %s",
		*ts.Seconds, ts.Source, ts.N, ts.Firmware.Median, ts.Firmware.N, ts.Kexec.Median, ts.Kexec.N, fmtOpt(ts.MenuTimeout))
}

// gapOf reads the gap the product kept for boot id with kind, from the
// root-owned history.
func gapOf(t *testing.T, g *Guest, kind boottime.Kind, bootID string) time.Duration {
	t.Helper()
	out := mustRoot(t, g, "cat /var/lib/rapidreboot/boot-gaps; stat -c '%U %a' /var/lib/rapidreboot/boot-gaps")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if st := lines[len(lines)-1]; st != "root 600" {
		t.Errorf("the history is %q, want root's, 0600", st)
	}
	rs, err := boottime.ParseGaps([]byte(strings.Join(lines[:len(lines)-1], "\n") + "\n"))
	if err != nil {
		t.Fatalf("the history does not parse: %v\n%s", err, out)
	}
	for _, r := range rs {
		if r.BootID == bootID && r.Kind == kind {
			return r.Value
		}
	}
	boot, _ := root(t, g, "journalctl -b -o cat --no-pager -u rapidreboot-boot.service | tail -20; journalctl -b -1 -o cat --no-pager -u rapidreboot-boot.service | tail -20")
	t.Fatalf("no %s gap for boot %s in the history:\n%s\nthe boot unit's lines:\n%s", kind, bootID, out, boot)
	return 0
}

// harnessGap is the harness's own view from the host: from the shutdown
// hooks' stamp to the new kernel's start (the marker's time minus the
// guest's uptime at it). The product's gap starts earlier (its stop
// step runs before the file systems are unmounted).
func harnessGap(r Restart) string {
	if r.HookAt.IsZero() {
		return "?"
	}
	start := r.To.At.Add(-time.Duration(r.To.Uptime * float64(time.Second)))
	return start.Sub(r.HookAt).Round(100 * time.Millisecond).String()
}

func fmtOpt(f *float64) string {
	if f == nil {
		return "not set"
	}
	return fmt.Sprintf("%.0f s", *f)
}
