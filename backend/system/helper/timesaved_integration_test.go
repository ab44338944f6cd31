//go:build integration

package helper_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5/prop"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
)

// writeState puts a file into the test root's /var/lib/rapidreboot as the
// boot unit would (directory 0700, file 0600, root's).
func writeState(t *testing.T, root, name, content string) {
	t.Helper()
	dir := filepath.Join(root, armstate.StateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const gapsHistory = "rapidreboot-boot-gaps 1\n" +
	"firmware 41230 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 1796220000\n" +
	"kexec 9810 1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d 1796220300\n" +
	"firmware 39870 2b3c4d5e-6f70-4b8c-9d0e-1f2a3b4c5d6e 1796220600\n" +
	"kexec 10240 3c4d5e6f-7081-4c9d-8e1f-2a3b4c5d6e7f 1796220900\n" +
	"firmware 44010 4d5e6f70-8192-4dae-9f20-3b4c5d6e7f80 1796221200\n"

func TestGetTimeSavedReportsTheMeasuredTimeSavedToEveryCaller(t *testing.T) {
	r := newRig(t, rigOptions{})
	writeState(t, r.root, boottime.GapsFile, gapsHistory)
	if err := os.WriteFile(filepath.Join(r.root, "etc/default/grub"), []byte("GRUB_TIMEOUT=5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := r.client.GetTimeSaved(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	got := boottime.FromWire(m)
	if got.Seconds == nil || *got.Seconds != 31.2 || got.Source != boottime.SourceMeasured || got.N != 2 {
		t.Fatalf("time saved %+v from %v", got, m)
	}
	if got.Firmware == nil || got.Firmware.Median != 41.2 || got.Firmware.N != 3 || got.Kexec == nil || got.Kexec.Median != 10 || got.Kexec.N != 2 {
		t.Fatalf("gaps %+v %+v", got.Firmware, got.Kexec)
	}
	if got.MenuTimeout == nil || *got.MenuTimeout != 5 {
		t.Fatalf("menu timeout %v", got.MenuTimeout)
	}
	// Anyone may ask, even a user polkit allows nothing: measurements
	// only, nothing of the configuration but the menu timeout.
	r.polkit.Always(bustest.Deny)
	out, err := r.dbusSendAs(65534, "--dest=io.github.rapidreboot.Helper1", "/io/github/rapidreboot/Helper1", "io.github.rapidreboot.Helper1.GetTimeSaved")
	if err != nil {
		t.Fatalf("GetPlan as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(out, boottime.KeySavesMS) || !strings.Contains(out, "31200") || strings.Contains(out, bustest.RootCmdline) {
		t.Fatalf("nobody's GetPlan has no time saved:\n%s", out)
	}
}

func TestGetTimeSavedPrefersTheFPDTThenSystemd(t *testing.T) {
	r := newRig(t, rigOptions{})
	writeState(t, r.root, boottime.GapsFile, gapsHistory)

	// A systemd stand-in with the Manager's two timestamps (µs before the
	// kernel): 12.5 s of firmware and loader, 3.1 s of loader.
	conn := bustest.NewConn(t, r.bus)
	if _, err := prop.Export(conn, "/org/freedesktop/systemd1", prop.Map{
		"org.freedesktop.systemd1.Manager": {
			"FirmwareTimestampMonotonic": {Value: uint64(12_543_210), Emit: prop.EmitFalse},
			"LoaderTimestampMonotonic":   {Value: uint64(3_100_000), Emit: prop.EmitFalse},
		},
	}); err != nil {
		t.Fatal(err)
	}
	bustest.Own(t, conn, "org.freedesktop.systemd1")
	m, err := r.client.GetTimeSaved(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	got := boottime.FromWire(m)
	if got.Seconds == nil || *got.Seconds != 12.5 || got.Source != boottime.SourceSystemd || got.Systemd == nil || got.Systemd.Loader != 3.1 {
		t.Fatalf("with systemd's timestamps: %+v (%v)", got, m)
	}
	if got.Firmware == nil || got.Kexec == nil {
		t.Fatalf("the measured gaps are not reported beside: %+v", got)
	}

	// The FPDT as Linux shows it: 9.135 s.
	dir := filepath.Join(r.root, "sys/firmware/acpi/fpdt/boot")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"reset_end": "0", "load_start": "5812345678", "startup_start": "5913000000",
		"exitbootservice_start": "9120000000", "exitbootservice_end": "9135000000"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2100 * time.Millisecond) // the helper's answers are at most 2 s old
	m, err = r.client.GetTimeSaved(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	got = boottime.FromWire(m)
	if got.Seconds == nil || *got.Seconds != 9.1 || got.Source != boottime.SourceFPDT || got.N != 1 || got.FPDT.Loader != 3.2 {
		t.Fatalf("with the FPDT: %+v (%v)", got, m)
	}
}

func TestGetTimeSavedShowsNoTimeSavedWhereNothingWasMeasured(t *testing.T) {
	r := newRig(t, rigOptions{})
	writeState(t, r.root, boottime.GapsFile, "rapidreboot-boot-gaps 1\nfirmware 41230 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 1796220000\n")
	m, err := r.client.GetTimeSaved(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m[boottime.KeySavesMS]; ok {
		t.Fatalf("a time saved from firmware gaps alone: %v", m)
	}
	if v, ok := m[boottime.KeyFirmwareGapN]; !ok || v.Value() != uint32(1) {
		t.Fatalf("the one firmware gap is not reported: %v", m)
	}
}
