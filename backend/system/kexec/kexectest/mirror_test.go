package kexectest_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// TestTheMirrorShowsAndSteersTheFake is what a test of the helper's test
// build relies on: the calls and the state on disk, the control file.
func TestTheMirrorShowsAndSteersTheFake(t *testing.T) {
	root := t.TempDir()
	kernel, err := os.CreateTemp(t.TempDir(), "vmlinuz")
	if err != nil {
		t.Fatal(err)
	}
	kernel.WriteString("MZ kernel")
	f := kexectest.NewMirrored(root)
	if _, err := os.Stat(filepath.Join(root, "sys/kernel/kexec_loaded")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the state was written before any call: %v", err)
	}

	if err := kexectest.WriteControl(root, kexectest.Control{LoadErrno: int(unix.ENOMEM)}); err != nil {
		t.Fatal(err)
	}
	if err := f.KexecFileLoad(int(kernel.Fd()), -1, "root=/dev/sda1", kexec.FlagNoInitramfs); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("load with load_errno 12 = %v", err)
	}
	if kexectest.LoadedIn(root) {
		t.Fatal("a failed load left an image loaded")
	}

	if err := kexectest.WriteControl(root, kexectest.Control{}); err != nil {
		t.Fatal(err)
	}
	if err := f.KexecFileLoad(int(kernel.Fd()), -1, "root=/dev/sda1", kexec.FlagNoInitramfs); err != nil {
		t.Fatal(err)
	}
	if !kexectest.LoadedIn(root) || !f.Loaded() {
		t.Fatal("a load did not show on disk")
	}
	if err := kexec.Unload(f); err != nil {
		t.Fatal(err)
	}
	if kexectest.LoadedIn(root) {
		t.Fatal("an unload did not show on disk")
	}

	rr, err := kexectest.ReadCalls(root)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range rr {
		ops = append(ops, r.Op)
	}
	want := []string{kexectest.OpLoadStart, kexectest.OpLoad, kexectest.OpLoadStart, kexectest.OpLoad, kexectest.OpUnload}
	if len(ops) != len(want) {
		t.Fatalf("ops %q, want %q", ops, want)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Fatalf("ops %q, want %q", ops, want)
		}
	}
	if rr[1].Errno != int(unix.ENOMEM) || rr[3].Errno != 0 || rr[1].KernelSize != 9 || rr[1].Cmdline != "root=/dev/sda1" {
		t.Fatalf("records %+v", rr)
	}
	// In memory, as before: no "start" entries.
	if n := len(f.Calls()); n != 3 || kexectest.CountOp(rr, kexectest.OpLoad) != 2 {
		t.Fatalf("%d calls in memory", n)
	}
}

func TestWithoutAMirrorNothingIsWritten(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	f := &kexectest.Fake{}
	if err := f.KexecLoadUnload(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("wrote %v", ents)
	}
}
