package coldreboot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSetIsSetClear(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if set, err := IsSet(dir); set || err != nil {
		t.Fatalf("fresh: %v %v", set, err)
	}
	if err := Set(dir, 1000, time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if set, err := IsSet(dir); !set || err != nil {
		t.Fatalf("after Set: %v %v", set, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, File))
	if !strings.Contains(string(b), "uid=1000 time=2026-12-02T13:00:00Z") {
		t.Errorf("contents %q", b)
	}
	if err := Set(dir, 0, time.Now()); err != nil {
		t.Fatalf("Set twice: %v", err)
	}
	if err := Clear(dir); err != nil {
		t.Fatal(err)
	}
	if err := Clear(dir); err != nil {
		t.Fatalf("Clear twice: %v", err)
	}
	if set, err := IsSet(dir); set || err != nil {
		t.Fatalf("after Clear: %v %v", set, err)
	}
}

// A symlink or directory where the flag should be counts as set, with an
// error: never as "not set", which would let Quick Restart through.
func TestOddFlagCountsAsSet(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, File)); err != nil {
		t.Fatal(err)
	}
	set, err := IsSet(dir)
	if !set || !errors.Is(err, ErrUnsafe) {
		t.Errorf("symlink: %v %v", set, err)
	}
}

func TestDebianFile(t *testing.T) {
	root := t.TempDir()
	if set, _ := DebianSet(root); set {
		t.Fatal("set in an empty root")
	}
	if err := os.WriteFile(filepath.Join(root, DebianFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if set, err := DebianSet(root); !set || err != nil {
		t.Errorf("with /no-kexec-reboot: %v %v", set, err)
	}
}
