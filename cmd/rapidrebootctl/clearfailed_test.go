package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
)

func TestClearFailedRemovesTheMarkerUnderTheRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	root := t.TempDir()
	dir := filepath.Join(root, armstate.StateDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, armstate.FailedFile)
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	ctx := &cliContext{Root: root, Stdout: &out, Stderr: &errb}
	if err := runClearFailed(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("marker still there: %v", err)
	}
	if !strings.Contains(out.String(), "switched on again") {
		t.Fatalf("output %q", out.String())
	}
	// Clearing twice is fine: nothing to do is not an error.
	if err := runClearFailed(ctx, nil); err != nil {
		t.Fatalf("second clear: %v", err)
	}
}

func TestClearFailedRejectsArguments(t *testing.T) {
	ctx := &cliContext{Root: "/", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	if err := runClearFailed(ctx, []string{"x"}); err == nil {
		t.Fatal("want a usage error")
	}
}

func TestAttack46_NonRootWithRootIsRefusedBeforeAnything(t *testing.T) {
	seams(t, withEUID(1000))
	for _, cmd := range []string{"plan", "status", "arm", "disarm", "clear-failed"} {
		var out, errb bytes.Buffer
		// A root that does not exist: anything that touched it would fail
		// differently from the refusal.
		code := run([]string{"--root", "/nonexistent/target", cmd}, &out, &errb, optionsOf(t)...)
		if code != 1 || !strings.Contains(errb.String(), "root") {
			t.Errorf("%s: exit %d, stderr %q", cmd, code, errb.String())
		}
	}
}

// A target whose state directory is a link to the running system's must not
// clear the running system's marker (attack list row 44).
func TestClearFailedUnderARootNeverFollowsALinkOut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	outside := t.TempDir()
	marker := filepath.Join(outside, armstate.FailedFile)
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	link := filepath.Join(root, armstate.StateDir)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	ctx := &cliContext{Root: root, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	_ = runClearFailed(ctx, nil)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the marker outside the target was removed: %v", err)
	}
}
