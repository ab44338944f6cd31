package armstate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
)

const bootC = "9a3f4c2e-1b2d-4e5f-8a9b-0c1d2e3f4a03"

func exists(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, name))
	return err == nil
}

func pending(t *testing.T, dir, boot string) {
	t.Helper()
	err := armstate.MarkPending(dir, armstate.Marker{BootID: boot, Time: t0, Kernel: "/boot/vmlinuz-6.1.0-10-amd64", Version: "6.1.0-10-amd64"})
	if err != nil {
		t.Fatal(err)
	}
}

func failed(t *testing.T, dir string) *armstate.Marker {
	t.Helper()
	m, err := armstate.ReadFailed(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAQuickRestartThatCameUpLeavesNoMarker(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	pending(t, dir, bootA)

	note, err := armstate.AtBoot(dir, bootB, armstate.BootKexec, t0)
	if err != nil || !strings.Contains(note, "Linux 6.1.0-10-amd64") {
		t.Fatalf("AtBoot: %q %v", note, err)
	}
	if exists(dir, armstate.PendingFile) || !exists(dir, armstate.BootingFile) {
		t.Fatal("pending not moved to booting")
	}
	if _, err := armstate.CameUp(dir, bootB); err != nil {
		t.Fatal(err)
	}
	if exists(dir, armstate.BootingFile) || failed(t, dir) != nil {
		t.Fatal("markers left after a good boot")
	}
}

func TestAttack42_AKexecdKernelThatHungBeforeEarlyBootIsFoundByTheNextFirmwareBoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	pending(t, dir, bootA)
	// The kexec'd kernel never ran a unit; the user pressed reset.
	if _, err := armstate.AtBoot(dir, bootB, armstate.BootFirmware, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	m := failed(t, dir)
	if m == nil || m.BootID != bootB || !strings.Contains(m.Note, "firmware") {
		t.Fatalf("failed marker = %+v", m)
	}
	if exists(dir, armstate.PendingFile) || exists(dir, armstate.BootingFile) {
		t.Fatal("pending or booting left")
	}
	// This very boot comes up: Quick Restart stays off.
	armstate.CameUp(dir, bootB)
	if failed(t, dir) == nil {
		t.Fatal("the boot that found the failure cleared it")
	}
	// A later normal restart comes up: back on.
	armstate.AtBoot(dir, bootC, armstate.BootFirmware, t0.Add(time.Hour))
	if failed(t, dir) == nil {
		t.Fatal("cleared before coming up")
	}
	armstate.CameUp(dir, bootC)
	if failed(t, dir) != nil {
		t.Fatal("a normal restart that came up did not clear the failure")
	}
}

func TestAttack42_AKexecdKernelThatHungAfterEarlyBootIsFoundByTheNextBoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	pending(t, dir, bootA)
	// Unknown boot kind (no x86 boot protocol): the boot-time unit ran,
	// then the boot hung before multi-user.target.
	armstate.AtBoot(dir, bootB, armstate.BootUnknown, t0)
	if !exists(dir, armstate.BootingFile) {
		t.Fatal("no booting marker")
	}
	armstate.AtBoot(dir, bootC, armstate.BootFirmware, t0.Add(time.Hour))
	m := failed(t, dir)
	if m == nil || !strings.Contains(m.Note, "did not finish booting") || m.BootID != bootC {
		t.Fatalf("failed = %+v", m)
	}
	if exists(dir, armstate.BootingFile) {
		t.Fatal("booting left")
	}
}

func TestADisarmedQuickRestartLeavesNothingForTheNextBoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	pending(t, dir, bootA)
	if err := armstate.ClearPending(dir); err != nil {
		t.Fatal(err)
	}
	note, err := armstate.AtBoot(dir, bootB, armstate.BootFirmware, t0)
	if err != nil || note != "" || failed(t, dir) != nil {
		t.Fatalf("%q %v %+v", note, err, failed(t, dir))
	}
}

func TestAPendingMarkOfThisVeryBootIsDroppedAtBoot(t *testing.T) {
	// soft-reboot keeps the kernel, its boot id and /run.
	dir := filepath.Join(t.TempDir(), "state")
	pending(t, dir, bootA)
	armstate.AtBoot(dir, bootA, armstate.BootKexec, t0)
	if exists(dir, armstate.PendingFile) || exists(dir, armstate.BootingFile) || failed(t, dir) != nil {
		t.Fatal("markers left")
	}
}

func TestTheAdministratorCanClearTheFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	pending(t, dir, bootA)
	armstate.AtBoot(dir, bootB, armstate.BootFirmware, t0)
	if failed(t, dir) == nil {
		t.Fatal("no failure")
	}
	if err := armstate.ClearFailed(dir); err != nil {
		t.Fatal(err)
	}
	if failed(t, dir) != nil {
		t.Fatal("still failed")
	}
	if err := armstate.ClearFailed(dir); err != nil {
		t.Fatal("clearing twice:", err)
	}
}

func TestADamagedFailureMarkerStillCounts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, armstate.FailedFile), []byte("\x00\x01garbage"), 0o600)
	if m := failed(t, dir); m == nil || !strings.Contains(m.Note, "damaged") {
		t.Fatalf("failed = %+v", m)
	}
}

func TestNoStateDirectoryMeansNoMarkers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	if failed(t, dir) != nil {
		t.Fatal("failure from nothing")
	}
	if note, err := armstate.AtBoot(dir, bootA, armstate.BootFirmware, t0); err != nil || note != "" {
		t.Fatalf("%q %v", note, err)
	}
	if note, err := armstate.CameUp(dir, bootA); err != nil || note != "" {
		t.Fatalf("%q %v", note, err)
	}
}

func TestTheBootloaderTypeTellsAKexecBoot(t *testing.T) {
	for in, want := range map[string]armstate.BootKind{
		"208\n": armstate.BootKexec,    // 0xD0: kexec_file_load
		"209":   armstate.BootKexec,    // 0xD1
		"114\n": armstate.BootFirmware, // 0x72: GRUB 2
		"176\n": armstate.BootFirmware, // 0xB0: qemu
		"0\n":   armstate.BootUnknown,
		"255\n": armstate.BootUnknown,
		"":      armstate.BootUnknown,
		"-1":    armstate.BootUnknown,
		"4096":  armstate.BootUnknown,
		"0xd0":  armstate.BootKexec,
	} {
		if got := armstate.ParseBootloaderType([]byte(in)); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
	proc := t.TempDir()
	if armstate.DetectBoot(proc) != armstate.BootUnknown {
		t.Fatal("no sysctl, yet known")
	}
	os.MkdirAll(filepath.Join(proc, "sys/kernel"), 0o755)
	os.WriteFile(filepath.Join(proc, "sys/kernel/bootloader_type"), []byte("208\n"), 0o644)
	if armstate.DetectBoot(proc) != armstate.BootKexec {
		t.Fatal("kexec not detected")
	}
}
