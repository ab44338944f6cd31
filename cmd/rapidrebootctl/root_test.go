package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// listTree returns every path under dir with its size, to tell whether
// anything was written there.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, strings.TrimPrefix(p, dir))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Issue 12 item 9, attack list row 44: `--root DIR` writes its state under
// DIR with every path component resolved inside DIR. Absolute symlinks in
// the target's state path, followed on the host, would lead outside DIR
// (here into a directory standing in for the running system's /var/lib and
// /etc); nothing may be written, created or removed there.
func TestRow44RootStateSymlinksAreResolvedInsideTheTarget(t *testing.T) {
	t.Run("var/lib is an absolute link: arm", func(t *testing.T) {
		r := newRootRig(t)
		outside := t.TempDir()
		if err := os.MkdirAll(filepath.Join(outside, "var/lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		lib := filepath.Join(r.target, "var/lib")
		if err := os.RemoveAll(lib); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(outside, "var/lib"), lib); err != nil {
			t.Fatal(err)
		}
		before := listTree(t, outside)
		code, out, errs := ctl(t, "--root", r.target, "arm")
		if after := listTree(t, outside); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("arm wrote outside the target: %v, was %v", after, before)
		}
		// The link resolves inside the target to a directory that does
		// not exist: the arm is refused, saying where, and nothing stays.
		if code != 1 || !strings.Contains(errs, "pending") {
			t.Errorf("arm: %d %q %q", code, out, errs)
		}
		if r.fake.Loaded() || r.armFile() || armstate.Ours(filepath.Join(r.live, armstate.RunDir)) {
			t.Error("a refused arm left state behind")
		}
	})
	t.Run("var/lib/rapidreboot is an absolute link: disarm", func(t *testing.T) {
		r := newRootRig(t)
		outside := t.TempDir()
		victim := filepath.Join(outside, "etc", armstate.PendingFile)
		if err := os.MkdirAll(filepath.Dir(victim), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(victim, []byte("the running system's file\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		state := filepath.Join(r.target, armstate.StateDir)
		os.RemoveAll(state)
		if err := os.Symlink(filepath.Dir(victim), state); err != nil {
			t.Fatal(err)
		}
		if code, out, errs := ctl(t, "--root", r.target, "disarm"); code != 0 {
			t.Errorf("disarm: %d %q %q", code, out, errs)
		}
		if _, err := os.Stat(victim); err != nil {
			t.Errorf("disarm removed a file outside the target: %v", err)
		}
	})
	t.Run("a link that stays inside the target is followed there", func(t *testing.T) {
		r := newRootRig(t)
		state := filepath.Join(r.target, armstate.StateDir)
		os.RemoveAll(state)
		if err := os.MkdirAll(filepath.Join(r.target, "srv/state"), 0o700); err != nil {
			t.Fatal(err)
		}
		// Absolute, as the target sees it.
		if err := os.Symlink("/srv/state", state); err != nil {
			t.Fatal(err)
		}
		if code, out, errs := ctl(t, "--root", r.target, "arm"); code != 0 {
			t.Fatalf("arm: %d %q %q", code, out, errs)
		}
		if _, err := os.Stat(filepath.Join(r.target, "srv/state", armstate.PendingFile)); err != nil {
			t.Errorf("the pending mark is not in the target's state directory: %v", err)
		}
		if _, err := os.Lstat(filepath.Join("/srv/state", armstate.PendingFile)); err == nil {
			t.Error("the pending mark went to the host's /srv/state")
		}
	})
}

// Issue 12 item 3 and issue 15 through the --root door: root's own image
// is left loaded by a disarm; a failed unload keeps the loaded mark in the
// running system's /run/rapidreboot for its shutdown hook.
func TestRootDisarmUnloadsOnlyTheProductsImage(t *testing.T) {
	t.Run("root's own image", func(t *testing.T) {
		r := newRootRig(t)
		r.fake.SetLoaded(true)
		if code, out, errs := ctl(t, "--root", r.target, "disarm"); code != 0 {
			t.Fatalf("disarm: %d %q %q", code, out, errs)
		}
		if !r.fake.Loaded() || r.fake.Count(kexectest.OpUnload) != 0 {
			t.Error("root's own kexec image was unloaded")
		}
	})
	t.Run("a failed unload", func(t *testing.T) {
		r := newRootRig(t)
		if code, out, errs := ctl(t, "--root", r.target, "arm"); code != 0 {
			t.Fatalf("arm: %d %q %q", code, out, errs)
		}
		r.fake.UnloadErr = kexectest.Errno(16)
		if code, _, errs := ctl(t, "--root", r.target, "disarm"); code != 1 || !strings.Contains(errs, "unload") {
			t.Errorf("disarm with a failed unload: %d %q", code, errs)
		}
		if !r.fake.Loaded() || !armstate.Ours(filepath.Join(r.live, armstate.RunDir)) {
			t.Error("the loaded image is no longer marked as the product's")
		}
		if r.armFile() {
			t.Error("still armed after a disarm")
		}
	})
}

// The /proc/cmdline cap (bootplan.LiveOptions) applies to `rapidrebootctl
// plan` of the running system as it does to the helper: it used to read
// any size.
func TestPlanOfTheRunningSystemCapsProcCmdline(t *testing.T) {
	live := t.TempDir()
	if err := os.MkdirAll(filepath.Join(live, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("x", bootplan.MaxLiveCmdline+1)
	if err := os.WriteFile(filepath.Join(live, "proc/cmdline"), []byte(huge), 0o644); err != nil {
		t.Fatal(err)
	}
	seams(t, withLive(preflight.Env{Proc: filepath.Join(live, "proc"), Sys: filepath.Join(live, "sys"), Run: filepath.Join(live, "run"), Root: "/"}))
	code, out, _ := ctl(t, "--json", "plan")
	if code != 1 || !strings.Contains(out, `"code": "`+string(reason.TooLarge)+`"`) {
		t.Errorf("plan: %d %s", code, out)
	}
}
