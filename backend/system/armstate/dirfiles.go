package armstate

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ReadFile reads name in d with the checks of every state file: never
// through a symlink (O_NOFOLLOW, relative to d's descriptor), a regular
// file, trusted owner, not writable by group or others, at most max bytes,
// and without blocking on a FIFO. A missing file is an error for which
// errors.Is(err, fs.ErrNotExist) holds. backend/system/boottime keeps its
// history with it.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	p := filepath.Join(d.name, name)
	fd, err := unix.Openat(int(d.f.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ELOOP {
		return nil, fmt.Errorf("%w: %s is a symlink", ErrUnsafe, p)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "openat", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	return readOpened(f, p, max)
}

// WriteFile replaces name in d with b, atomically and durably, mode 0600:
// a new temporary file (O_EXCL|O_NOFOLLOW), synced, renamed over name.
func (d *Dir) WriteFile(name string, b []byte) error { return d.writeFile(name, b) }

// Remove removes name from d; a missing file is no error.
func (d *Dir) Remove(name string) error { return d.remove(name) }
