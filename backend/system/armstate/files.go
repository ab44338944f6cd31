package armstate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// trustedOwner is whether uid may own state this process trusts.
func trustedOwner(uid uint32) bool { return uid == 0 || int(uid) == os.Geteuid() }

// checkDir refuses a state directory that is a symlink, not a directory,
// owned by someone else or writable by group or others.
func checkDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafe, dir)
	}
	if !trustedOwner(st.Uid) {
		return fmt.Errorf("%w: %s is owned by uid %d", ErrUnsafe, dir, st.Uid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others", ErrUnsafe, dir)
	}
	return nil
}

// ensureDir creates dir 0700, or checks the one that is there.
func ensureDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	return checkDir(dir)
}

// openDir opens the running system's state directory dir as a Dir,
// after ensureDir (create) or checkDir: never through a symlink. Those
// refuse a link in its place, and it is then opened with O_NOFOLLOW, so a
// link swapped in after the check is refused too rather than followed.
// (Dirs of an installer's root, OpenDirIn, resolve links inside that root
// instead.)
func openDir(dir string, create bool) (*Dir, error) {
	check := checkDir
	if create {
		check = ensureDir
	}
	if err := check(dir); err != nil {
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, fmt.Errorf("%w: %s is a symlink or not a directory", ErrUnsafe, dir)
		}
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &Dir{f: os.NewFile(uintptr(fd), dir), name: dir}, nil
}

// writeFile replaces dir/name with b atomically and durably, mode 0600,
// through Dir.writeFile: the one way a state file is written.
func writeFile(dir, name string, b []byte) error {
	d, err := openDir(dir, true)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.writeFile(name, b)
}

// readFile reads dir/name through Dir.readFile, the one way a state file
// is read.
func readFile(dir, name string, max int64) ([]byte, error) {
	d, err := openDir(dir, false)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.readFile(name, max)
}

// readFile reads name in d after checking it: not a symlink (O_NOFOLLOW),
// regular, trusted owner, not writable by group or others, at most max
// bytes. Opening never blocks (O_NONBLOCK: a FIFO put there would
// otherwise hang the reader). A missing file is an error for which
// errors.Is(err, fs.ErrNotExist) holds.
func (d *Dir) readFile(name string, max int64) ([]byte, error) {
	p := filepath.Join(d.name, name)
	fd, err := unix.Openat(int(d.f.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symlink", ErrUnsafe, p)
		}
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	return readOpened(f, p, max)
}

// readOpened checks the opened file f (named p) as readFile does and
// reads it.
func readOpened(f *os.File, p string, max int64) ([]byte, error) {
	fd := int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("cannot stat %s: %w", p, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrUnsafe, p)
	case !trustedOwner(st.Uid):
		return nil, fmt.Errorf("%w: %s is owned by uid %d", ErrUnsafe, p, st.Uid)
	case st.Mode&0o022 != 0:
		return nil, fmt.Errorf("%w: %s is writable by group or others", ErrUnsafe, p)
	case st.Size > max:
		return nil, fmt.Errorf("%w: %s is %d bytes, over %d", ErrUnsafe, p, st.Size, max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %s grew over %d bytes", ErrUnsafe, p, max)
	}
	return b, nil
}
