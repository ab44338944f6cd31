package armstate

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// Dir is a state directory of the system mounted at a root (an installer's
// /target, or "/"), opened once: every marker it writes or removes is
// named relative to its descriptor, so nothing on the way to it is looked
// up again. Make it with OpenDirIn.
type Dir struct {
	f    *os.File
	name string // for messages: the host path as asked for
}

// OpenDirIn opens dir (absolute, as the system under root sees it) with
// every component resolved inside root, as the boot files are
// (host.Target: openat2 with RESOLVE_IN_ROOT): an absolute symlink in the
// target resolves inside the target, ".." stops at root, and nothing is
// ever written onto the running system through a link in an installer's
// /target (attack list row 44). With create, the directory itself is made
// (0700) when it is missing, as ensureDir does; its parents must exist.
// A dangling symlink in its place is an error, never followed by mkdir. The directory must pass
// the checks of every state directory (not writable by group or others,
// trusted owner). A missing directory without create is an error for
// which errors.Is(err, fs.ErrNotExist) holds.
func OpenDirIn(root, dir string, create bool) (*Dir, error) {
	t := host.New(root)
	name := t.Join(dir)
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+dir), "/"), "/")
	if parts[0] == "" {
		parts = nil
	}
	cur, err := t.OpenDir("/")
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", root, err)
	}
	for i, c := range parts {
		p := "/" + path.Join(parts[:i+1]...)
		next, err := t.OpenDir(p)
		if errors.Is(err, fs.ErrNotExist) && create && i == len(parts)-1 {
			// mkdirat never follows a symlink named c: a dangling one
			// gives EEXIST and the open below fails again.
			if merr := unix.Mkdirat(int(cur.Fd()), c, 0o700); merr != nil && merr != unix.EEXIST {
				cur.Close()
				return nil, fmt.Errorf("cannot create %s: %w", name, &fs.PathError{Op: "mkdirat", Path: p, Err: merr})
			}
			next, err = t.OpenDir(p)
		}
		cur.Close()
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", name, err)
		}
		cur = next
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(cur.Fd()), &st); err != nil {
		cur.Close()
		return nil, fmt.Errorf("cannot stat %s: %w", name, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		err = fmt.Errorf("%w: %s is not a directory", ErrUnsafe, name)
	case !trustedOwner(st.Uid):
		err = fmt.Errorf("%w: %s is owned by uid %d", ErrUnsafe, name, st.Uid)
	case st.Mode&0o022 != 0:
		err = fmt.Errorf("%w: %s is writable by group or others", ErrUnsafe, name)
	}
	if err != nil {
		cur.Close()
		return nil, err
	}
	return &Dir{f: cur, name: name}, nil
}

// Close closes the directory.
func (d *Dir) Close() error { return d.f.Close() }

// Path is the directory's host path, for messages.
func (d *Dir) Path() string { return d.name }

// MarkPending is MarkPending in d.
func (d *Dir) MarkPending(m Marker) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cannot encode %s: %w", PendingFile, err)
	}
	if len(b) > MaxMarkerSize {
		return fmt.Errorf("cannot write %s: %d bytes, over %d", PendingFile, len(b), MaxMarkerSize)
	}
	return d.writeFile(PendingFile, append(b, '\n'))
}

// ClearPending is ClearPending in d.
func (d *Dir) ClearPending() error { return d.remove(PendingFile) }

// ClearFailed is ClearFailed in d: the marker is unlinked relative to the
// opened directory, so a symlink in an installer's target cannot turn it
// into a removal on the running system.
func (d *Dir) ClearFailed() error { return d.remove(FailedFile) }

// ReadFailed is ReadFailed in d.
func (d *Dir) ReadFailed() (*Marker, error) {
	b, err := d.readFile(FailedFile, MaxMarkerSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeMarker(b, FailedFile), nil
}

// ReadFailedIn is ReadFailed of the state directory of the system mounted
// at root (StateDir resolved inside root, as OpenDirIn does): what
// preflight reads for an installer's /target as for "/".
func ReadFailedIn(root string) (*Marker, error) {
	d, err := OpenDirIn(root, StateDir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadFailed()
}

// writeFile replaces name in d with b, mode 0600: a new file made with
// O_EXCL and O_NOFOLLOW, written, synced, renamed over name, and the
// directory synced (/var/lib must survive a power cut for the boot markers
// to mean anything). A symlink at name is never followed: the rename
// replaces the link itself, so its target is left as it was.
func (d *Dir) writeFile(name string, b []byte) error {
	full := filepath.Join(d.name, name)
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := "." + name + "." + hex.EncodeToString(rnd[:])
	dfd := int(d.f.Fd())
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", full, &fs.PathError{Op: "openat", Path: tmp, Err: err})
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, name)
	}
	if err != nil {
		_ = unix.Unlinkat(dfd, tmp, 0)
		return fmt.Errorf("cannot write %s: %w", full, err)
	}
	_ = d.f.Sync()
	return nil
}

// remove removes name from d; a missing file is no error.
func (d *Dir) remove(name string) error {
	err := unix.Unlinkat(int(d.f.Fd()), name, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot remove %s: %w", filepath.Join(d.name, name), err)
	}
	_ = d.f.Sync()
	return nil
}
