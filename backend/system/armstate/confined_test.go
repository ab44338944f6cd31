package armstate_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
)

// Row 44: a state directory of a root is resolved inside the root, as the
// target will see it after a cold boot; absolute links never lead onto the
// running system (here: outside, a directory standing in for it).
func TestOpenDirInResolvesEveryComponentInsideTheRoot(t *testing.T) {
	for _, c := range []struct {
		desc   string
		links  map[string]string // in root: path -> link text ("@" is outside)
		dirs   []string          // in root
		create bool
		want   string // where the pending mark lands, in root ("" : refused)
		absent bool   // refused with fs.ErrNotExist
	}{
		{desc: "plain", create: true, want: "/var/lib/rapidreboot"},
		{desc: "absolute link to a directory of the root", links: map[string]string{"/var/lib": "/data/lib"}, dirs: []string{"/data/lib"}, create: true, want: "/data/lib/rapidreboot"},
		{desc: "absolute link that leaves the root when followed on the host", links: map[string]string{"/var/lib": "@/var/lib"}, create: true},
		{desc: "the state directory itself links out", links: map[string]string{"/var/lib/rapidreboot": "@/etc"}, dirs: []string{"/var/lib"}, create: true},
		{desc: "dot-dot stops at the root", links: map[string]string{"/var/lib": "../../../../../../../../data/lib"}, dirs: []string{"/data/lib"}, create: true, want: "/data/lib/rapidreboot"},
		{desc: "missing without create", dirs: []string{"/var/lib"}, absent: true},
		{desc: "a missing parent is not made", links: map[string]string{"/var/lib": "/data/lib"}, create: true, absent: true},
		{desc: "linked out, without create", links: map[string]string{"/var/lib/rapidreboot": "@/etc"}, dirs: []string{"/var/lib"}, absent: true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			root, outside := t.TempDir(), t.TempDir()
			for _, d := range []string{"/var/lib", "/etc"} {
				if err := os.MkdirAll(filepath.Join(outside, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, d := range c.dirs {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for p, to := range c.links {
				if to[0] == '@' {
					to = outside + to[1:]
				}
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(root, p))
				if err := os.Symlink(to, filepath.Join(root, p)); err != nil {
					t.Fatal(err)
				}
			}
			d, err := armstate.OpenDirIn(root, armstate.StateDir, c.create)
			if err == nil {
				err = d.MarkPending(armstate.Marker{BootID: "b", Time: time.Now()})
				d.Close()
			}
			switch {
			case c.absent:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err = %v, want not-exist", err)
				}
			case c.want == "":
				if err == nil {
					t.Error("no error")
				}
			case err != nil:
				t.Fatal(err)
			default:
				if _, err := os.Stat(filepath.Join(root, c.want, armstate.PendingFile)); err != nil {
					t.Errorf("the mark is not at %s: %v", c.want, err)
				}
			}
			filepath.WalkDir(outside, func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					t.Errorf("written outside the root: %s", p)
				}
				if err == nil && e.IsDir() && p != outside && p != filepath.Join(outside, "var") && p != filepath.Join(outside, "var/lib") && p != filepath.Join(outside, "etc") {
					t.Errorf("created outside the root: %s", p)
				}
				return nil
			})
		})
	}
}

func TestADirInARootClearsAndReadsItsMarkers(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := armstate.OpenDirIn(root, armstate.StateDir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.MarkPending(armstate.Marker{BootID: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearPending(); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearPending(); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
	if m, err := armstate.ReadFailedIn(root); m != nil || err != nil {
		t.Errorf("ReadFailedIn = %v, %v", m, err)
	}
	if err := os.WriteFile(filepath.Join(root, armstate.StateDir, armstate.FailedFile), []byte(`{"note":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, err := armstate.ReadFailedIn(root); m == nil || m.Note != "x" || err != nil {
		t.Errorf("ReadFailedIn = %v, %v", m, err)
	}
	if st, _ := os.Stat(filepath.Join(root, armstate.StateDir)); st.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v", st.Mode())
	}
}
