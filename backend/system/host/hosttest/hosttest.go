// Package hosttest builds fake roots for tests of anything that reads boot
// files through host.Target.
//
// Git keeps no owner and no mode beyond +x, so fixture trees are copied into
// t.TempDir() with normalised modes (0644 files, 0755 dirs, symlinks kept),
// and the unsafe cases — a world-writable initrd, a FIFO kernel, a symlink
// out of /boot — are built here at test time.
package hosttest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// Target returns a host.Target for root that expects files owned by the
// user running the test.
func Target(root string) host.Target {
	return host.Target{Root: root, OwnerUID: uint32(os.Getuid())}
}

// NewRoot returns an empty fake root in a temporary directory.
func NewRoot(t testing.TB) string {
	t.Helper()
	return t.TempDir()
}

// FixtureTime is the modification time CopyTree gives every file.
var FixtureTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// CopyTree copies the directory src into a fresh temporary root and returns
// it. Regular files get mode 0644 (0755 if executable), directories 0755,
// symlinks are copied as links with their target unchanged.
func CopyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, out)
		case d.IsDir():
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			return os.Chmod(out, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if fi.Mode()&0o100 != 0 {
				mode = 0o755
			}
			if err := os.WriteFile(out, b, mode); err != nil {
				return err
			}
			if err := os.Chmod(out, mode); err != nil { // umask-proof
				return err
			}
			// One fixed time for every file: fixture placeholders carry no
			// meaningful mtime, and copy order must not make an initrd
			// look older than its kernel.
			return os.Chtimes(out, FixtureTime, FixtureTime)
		}
	})
	if err != nil {
		t.Fatalf("cannot copy fixture %s: %v", src, err)
	}
	return dst
}

func mkparent(t testing.TB, root, p string) string {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatalf("cannot create parent of %s: %v", p, err)
	}
	return full
}

// WriteFile writes p (as the target sees it) under root with mode, creating
// parents, and gives it FixtureTime as its modification time.
func WriteFile(t testing.TB, root, p, content string, mode fs.FileMode) {
	t.Helper()
	full := mkparent(t, root, p)
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		t.Fatalf("cannot write %s: %v", p, err)
	}
	if err := os.Chmod(full, mode); err != nil {
		t.Fatalf("cannot chmod %s: %v", p, err)
	}
	if err := os.Chtimes(full, FixtureTime, FixtureTime); err != nil {
		t.Fatalf("cannot set the time of %s: %v", p, err)
	}
}

// File writes an ordinary boot or config file: mode 0644.
func File(t testing.TB, root, p, content string) { WriteFile(t, root, p, content, 0o644) }

// Mkdir creates directory p under root.
func Mkdir(t testing.TB, root, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
		t.Fatalf("cannot mkdir %s: %v", p, err)
	}
}

// Symlink creates p under root pointing at target (kept verbatim: an
// absolute target means the target system's root).
func Symlink(t testing.TB, root, target, p string) {
	t.Helper()
	full := mkparent(t, root, p)
	if err := os.Symlink(target, full); err != nil {
		t.Fatalf("cannot symlink %s: %v", p, err)
	}
}

// Fifo creates a named pipe at p under root.
func Fifo(t testing.TB, root, p string) {
	t.Helper()
	full := mkparent(t, root, p)
	if err := unix.Mkfifo(full, 0o644); err != nil {
		t.Fatalf("cannot mkfifo %s: %v", p, err)
	}
}

// Chown changes the owner of p under root (needs root; skips otherwise).
func Chown(t testing.TB, root, p string, uid int) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	if err := os.Lchown(filepath.Join(root, p), uid, -1); err != nil {
		t.Fatalf("cannot chown %s: %v", p, err)
	}
}

// Chmod changes the mode of p under root.
func Chmod(t testing.TB, root, p string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(root, p), mode); err != nil {
		t.Fatalf("cannot chmod %s: %v", p, err)
	}
}

// Kernel writes an (empty) kernel, its initrd and its modules directory
// for version v: the smallest complete Debian-style installation.
func Kernel(t testing.TB, root, v string) {
	t.Helper()
	File(t, root, "/boot/vmlinuz-"+v, "")
	File(t, root, "/boot/initrd.img-"+v, "")
	Mkdir(t, root, "/usr/lib/modules/"+v)
}

// RewriteInPlace overwrites root+p with content of the same length through
// the same inode and puts its mtime back, as `cp -p` over it or `touch -r`
// would, until its ctime differs from the one it had: the kernel's clock
// for ctime is coarse, and a rewrite in the same tick would keep it and
// prove nothing. It fails the test if inode, size or mtime changed.
func RewriteInPlace(t testing.TB, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	var st unix.Stat_t
	if err := unix.Stat(full, &st); err != nil {
		t.Fatal(err)
	}
	if int64(len(content)) != st.Size {
		t.Fatalf("RewriteInPlace: %d bytes to rewrite a file of %d", len(content), st.Size)
	}
	mtime := time.Unix(0, st.Mtim.Nano())
	for i := 0; ; i++ {
		if err := os.WriteFile(full, []byte(content), 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		var now unix.Stat_t
		if err := unix.Stat(full, &now); err != nil {
			t.Fatal(err)
		}
		if now.Ino != st.Ino || now.Size != st.Size || now.Mtim.Nano() != st.Mtim.Nano() {
			t.Fatalf("RewriteInPlace changed inode, size or mtime of %s", p)
		}
		if now.Ctim.Nano() != st.Ctim.Nano() {
			return
		}
		if i == 200 {
			t.Fatalf("RewriteInPlace: the ctime of %s does not move", p)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
