package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Without a system bus the real system says so in a way the controller
// can tell (errNoSystemBus), and the helper's stand-in for the runner
// refuses with it instead of a nil client.
func TestWithoutASystemBusThePlanSaysTheBusIsMissing(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	b := newBusSystem(t.TempDir(), t.TempDir(), t.TempDir())
	if _, err := b.Plan(context.Background()); !errors.Is(err, errNoSystemBus) {
		t.Errorf("Plan: %v, want errNoSystemBus", err)
	}
	if err := b.Helper().Disarm(context.Background()); !errors.Is(err, errNoSystemBus) {
		t.Errorf("Disarm: %v, want errNoSystemBus", err)
	}
	if _, _, err := b.Armed(context.Background()); !errors.Is(err, errNoSystemBus) {
		t.Errorf("Armed: %v, want errNoSystemBus", err)
	}
	if inh := b.Inhibitors(context.Background(), nil); inh != nil {
		t.Errorf("inhibitors %v without any bus", inh)
	}
}

// The running kernel's facts come from the proc directory given (a test
// root in the test build): the release as uname -r prints it, the command
// line without its newline; what is missing is "".
func TestRunningReadsTheReleaseAndCommandLineFromProc(t *testing.T) {
	proc := t.TempDir()
	b := newBusSystem(t.TempDir(), t.TempDir(), proc)
	if r, c := b.Running(); r != "" || c != "" {
		t.Errorf("an empty proc gave %q %q", r, c)
	}
	os.MkdirAll(filepath.Join(proc, "sys/kernel"), 0o755)
	os.WriteFile(filepath.Join(proc, "sys/kernel/osrelease"), []byte("6.1.0-27-amd64\n"), 0o644)
	os.WriteFile(filepath.Join(proc, "cmdline"), []byte("BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0a1b ro quiet\n"), 0o644)
	if r, c := b.Running(); r != "6.1.0-27-amd64" || c != "BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0a1b ro quiet" {
		t.Errorf("Running = %q %q", r, c)
	}
}
