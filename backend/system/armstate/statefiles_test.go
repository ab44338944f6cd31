package armstate_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
)

// Every state file is written one way (Dir.writeFile), and that way never
// follows a symlink: not one in place of the state file (the rename
// replaces the link; its target keeps its bytes), and not one in place of
// the running system's state directory (refused, nothing written behind
// it). Each writer of the package is run against both.
func TestStateFilesAreNeverWrittenThroughASymlink(t *testing.T) {
	writers := []struct {
		name string
		file string
		// write writes file into the state directory dir of root ("" for
		// the running system's writers, which take dir as it is).
		write func(root, dir string) error
	}{
		{"Write", armstate.ArmFile, func(_, dir string) error { return armstate.Write(dir, sample()) }},
		{"WriteVerified", armstate.VerifiedFile, func(_, dir string) error { return armstate.WriteVerified(dir, "digest") }},
		{"MarkLoaded", armstate.LoadedFile, func(_, dir string) error { return armstate.MarkLoaded(dir, armstate.Marker{BootID: bootA}) }},
		{"MarkPending", armstate.PendingFile, func(_, dir string) error { return armstate.MarkPending(dir, armstate.Marker{BootID: bootA}) }},
		{"Dir.MarkPending", armstate.PendingFile, func(root, _ string) error {
			d, err := armstate.OpenDirIn(root, armstate.StateDir, true)
			if err != nil {
				return err
			}
			defer d.Close()
			return d.MarkPending(armstate.Marker{BootID: bootA})
		}},
	}
	for _, w := range writers {
		t.Run(w.name+"/state file is a symlink", func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, armstate.StateDir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "target")
			if err := os.WriteFile(target, []byte("untouched"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, w.file)); err != nil {
				t.Fatal(err)
			}
			if err := w.write(root, dir); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(target); string(b) != "untouched" {
				t.Errorf("written through the link: %q", b)
			}
			fi, err := os.Lstat(filepath.Join(dir, w.file))
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s after the write: %v, %v; want a regular file 0600", w.file, fi.Mode(), err)
			}
			assertNoTempLeft(t, dir)
		})
		if w.name == "Dir.MarkPending" {
			continue // OpenDirIn resolves links inside the root: confined_test.go
		}
		t.Run(w.name+"/state directory is a symlink", func(t *testing.T) {
			real := t.TempDir()
			os.Chmod(real, 0o700)
			dir := filepath.Join(t.TempDir(), "rapidreboot")
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
			if err := w.write("", dir); !errors.Is(err, armstate.ErrUnsafe) {
				t.Errorf("err = %v, want ErrUnsafe", err)
			}
			if es, _ := os.ReadDir(real); len(es) != 0 {
				t.Errorf("written behind the link: %v", es)
			}
		})
	}
}

func assertNoTempLeft(t *testing.T, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// Reading goes the same one way (Dir.readFile): a symlink in place of the
// state file or of the running system's state directory is refused, for
// the path readers and a Dir alike.
func TestStateFilesAreNeverReadThroughASymlink(t *testing.T) {
	readers := []struct {
		name  string
		file  string
		read  func(root, dir string) error
		inDir bool // a Dir of a root: only the file link applies
	}{
		{"Read", armstate.ArmFile, func(_, dir string) error { _, err := armstate.Read(dir); return err }, false},
		{"ReadFailed", armstate.FailedFile, func(_, dir string) error { _, err := armstate.ReadFailed(dir); return err }, false},
		{"ReadFailedIn", armstate.FailedFile, func(root, _ string) error { _, err := armstate.ReadFailedIn(root); return err }, true},
	}
	for _, r := range readers {
		t.Run(r.name+"/state file is a symlink", func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, armstate.StateDir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "target")
			if err := os.WriteFile(target, []byte(`{"note":"x"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, r.file)); err != nil {
				t.Fatal(err)
			}
			if err := r.read(root, dir); !errors.Is(err, armstate.ErrUnsafe) {
				t.Errorf("err = %v, want ErrUnsafe", err)
			}
		})
		if r.inDir {
			continue
		}
		t.Run(r.name+"/state directory is a symlink", func(t *testing.T) {
			real := t.TempDir()
			os.Chmod(real, 0o700)
			if err := os.WriteFile(filepath.Join(real, r.file), []byte(`{"note":"x"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "rapidreboot")
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
			if err := r.read("", dir); !errors.Is(err, armstate.ErrUnsafe) {
				t.Errorf("err = %v, want ErrUnsafe", err)
			}
		})
	}
}
