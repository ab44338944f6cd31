// Package host confines every read of the boot plan to one root directory:
// "/" on a running system, "/target" in an installer, a t.TempDir() in tests.
//
// All opens go through openat2(2) with RESOLVE_IN_ROOT, so an absolute
// symlink inside an installer's /target ("/boot/vmlinuz -> /boot/vmlinuz-6.1")
// resolves inside /target, and ".." stops at the root, exactly as the target
// system will see it after a cold boot. Files the plan names (kernel, initrd)
// are checked further by OpenBootFile: their resolved path must stay under a
// boot directory, they must be regular, owned by OwnerUID, writable only by
// their owner and within a size cap. Nothing here follows /proc magic links.
//
// Kernels without openat2 (before 5.6) fall back to walking the path one
// component at a time with O_NOFOLLOW after resolving symlinks in user space.
//
// Every error is a *reason.Error; errors.Is(err, fs.ErrNotExist) holds for a
// missing file.
package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Size caps. kexec_file_load caps images at 4 GiB anyway; these keep a
// planted sparse file from making the helper read for minutes.
const (
	MaxKernelSize = 512 << 20
	MaxInitrdSize = 2 << 30
	// MaxConfigSize caps grub.cfg, grubenv, BLS entries, /etc/default/grub:
	// the largest real grub.cfg seen (hundreds of kernels, os-prober) is
	// well under 1 MiB; 8 MiB leaves room and refuses the 10 MB attack file.
	MaxConfigSize = 8 << 20
	// MaxDirEntries caps a directory listing (/boot, loader/entries).
	MaxDirEntries = 100000
	// maxSymlinks is the kernel's own MAXSYMLINKS.
	maxSymlinks = 40
)

// BootDirs are the directories, as the target sees them, that a kernel or
// initrd may resolve into. /efi is where systemd-boot's ESP is mounted when
// it is not /boot/efi; /usr/lib/modules/<v>/vmlinuz is the kernel-install
// layout of Fedora and Arch; /lib/modules for systems without merged /usr.
var BootDirs = []string{"/boot/", "/efi/", "/usr/lib/modules/", "/lib/modules/"}

// Target is the root a cold boot reads from: "/" or an installer's "/target".
type Target struct {
	Root string
	// OwnerUID is the uid boot files must belong to (0 in production; tests
	// set os.Getuid() or build files owned by root).
	OwnerUID uint32
}

// New returns the Target for root with OwnerUID 0.
func New(root string) Target { return Target{Root: root} }

func (t Target) root() string {
	if t.Root == "" {
		return "/"
	}
	return filepath.Clean(t.Root)
}

// clean makes p an absolute, clean path as the target sees it.
func clean(p string) string { return path.Clean("/" + p) }

func (t Target) openRoot() (int, error) {
	fd, err := unix.Open(t.root(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, reason.Wrap(reason.Precondition, t.root(), &fs.PathError{Op: "open", Path: t.root(), Err: err})
	}
	return fd, nil
}

// openat opens p inside the root with RESOLVE_IN_ROOT. noSymlinks refuses
// any symlink on the way, for paths already resolved by resolve.
func (t Target) openat(p string, flags int, noSymlinks bool) (int, error) {
	rfd, err := t.openRoot()
	if err != nil {
		return -1, err
	}
	defer unix.Close(rfd)
	res := uint64(unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS)
	if noSymlinks {
		res |= unix.RESOLVE_NO_SYMLINKS
	}
	rel := strings.TrimPrefix(clean(p), "/")
	if rel == "" {
		rel = "."
	}
	var fd int
	for try := 0; ; try++ {
		fd, err = unix.Openat2(rfd, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: res})
		// EAGAIN: a rename raced the lookup and the kernel asks us to retry.
		if (err == unix.EINTR || err == unix.EAGAIN) && try < 16 {
			continue
		}
		break
	}
	if err == unix.ENOSYS {
		return t.openWalk(rfd, p, flags, noSymlinks)
	}
	if err != nil {
		return -1, &fs.PathError{Op: "openat2", Path: clean(p), Err: err}
	}
	return fd, nil
}

// openWalk is the fallback without openat2: resolve in user space, then
// open each component with O_NOFOLLOW so a symlink swapped in meanwhile fails.
func (t Target) openWalk(rfd int, p string, flags int, resolved bool) (int, error) {
	r := clean(p)
	if !resolved {
		var err error
		if r, err = t.resolve(p); err != nil {
			return -1, err
		}
	}
	fd, err := unix.Dup(rfd)
	if err != nil {
		return -1, &fs.PathError{Op: "dup", Path: "/", Err: err}
	}
	parts := strings.Split(strings.TrimPrefix(r, "/"), "/")
	if r == "/" {
		parts = []string{"."}
	}
	for i, c := range parts {
		fl := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			fl = flags | unix.O_NOFOLLOW | unix.O_CLOEXEC
		}
		nfd, err := unix.Openat(fd, c, fl, 0)
		unix.Close(fd)
		if err != nil {
			return -1, &fs.PathError{Op: "openat", Path: r, Err: err}
		}
		fd = nfd
	}
	return fd, nil
}

// Resolve returns p with every symlink resolved inside the root, as the
// target sees it: absolute links restart at the root, ".." stops at it.
func (t Target) Resolve(p string) (string, error) {
	r, err := t.resolve(p)
	if err != nil {
		return "", reason.Wrap(reason.BadConfig, clean(p), err)
	}
	return r, nil
}

func (t Target) resolve(p string) (string, error) {
	root := t.root()
	rest := strings.Split(clean(p), "/")
	cur := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			// The path as far as it resolves, so a caller can still see
			// that a dangling link points out of /boot.
			far := path.Join(append([]string{next}, rest...)...)
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return far, &fs.PathError{Op: "lstat", Path: next, Err: pe.Err}
			}
			return far, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", &fs.PathError{Op: "resolve", Path: clean(p), Err: unix.ELOOP}
		}
		dest, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: next, Err: err}
		}
		if strings.HasPrefix(dest, "/") {
			cur = "/"
		}
		rest = append(strings.Split(dest, "/"), rest...)
	}
	return cur, nil
}

// Open opens p (absolute, as the target sees it) read-only with
// openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) and O_NONBLOCK|O_NOCTTY, so
// a FIFO or a terminal never blocks or becomes our controlling tty.
func (t Target) Open(p string) (*os.File, error) {
	fd, err := t.openat(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, false)
	if err != nil {
		return nil, openErr(reason.BadConfig, p, err)
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		// Blocking reads on a regular file are what os.File expects.
		_ = unix.SetNonblock(fd, false)
	}
	return os.NewFile(uintptr(fd), clean(p)), nil
}

// openErr keeps an existing *reason.Error and codes any other.
func openErr(c reason.Code, p string, err error) error {
	var re *reason.Error
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
		return reason.Wrap(reason.LeavesBoot, clean(p), err)
	}
	return reason.Wrap(c, clean(p), err)
}

// ReadFile reads a regular configuration file of at most max bytes
// (reason.TooLarge beyond). Like the boot files, it must be owned by
// OwnerUID and writable by nobody else (reason.UnsafeFile): a grub.cfg a
// user can write decides the kernel command line.
func (t Target) ReadFile(p string, max int64) ([]byte, error) {
	f, err := t.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, reason.Wrap(reason.BadConfig, clean(p), fmt.Errorf("cannot stat: %w", err))
	}
	if err := t.checkOwner(clean(p), &st); err != nil {
		return nil, err
	}
	if st.Size > max {
		return nil, reason.Wrap(reason.TooLarge, clean(p), fmt.Errorf("%d bytes, limit %d", st.Size, max))
	}
	// Sized from stat so a large grub.cfg is read without regrowing; the
	// limit also holds if the file grows while we read it.
	buf := bytes.NewBuffer(make([]byte, 0, st.Size+bytes.MinRead+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, reason.Wrap(reason.BadConfig, clean(p), fmt.Errorf("cannot read: %w", err))
	}
	b := buf.Bytes()
	if int64(len(b)) > max {
		return nil, reason.Wrap(reason.TooLarge, clean(p), fmt.Errorf("over %d bytes", max))
	}
	return b, nil
}

// checkOwner: a regular file, owned by OwnerUID, not writable by group or others.
func (t Target) checkOwner(p string, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return reason.Wrap(reason.UnsafeFile, p, fmt.Errorf("not a regular file (%s)", typeName(st.Mode)))
	}
	if st.Uid != t.OwnerUID {
		return reason.Wrap(reason.UnsafeFile, p, fmt.Errorf("owned by uid %d, not %d", st.Uid, t.OwnerUID))
	}
	if st.Mode&0o022 != 0 {
		return reason.Wrap(reason.UnsafeFile, p, fmt.Errorf("mode %04o is writable by group or others", st.Mode&0o7777))
	}
	return nil
}

func typeName(m uint32) string {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFLNK:
		return "symlink"
	}
	return "regular file"
}

// BootFile is an opened, checked kernel or initrd.
type BootFile struct {
	*os.File
	Path     string // as the target sees it, e.g. "/boot/vmlinuz-6.1.0-27-amd64"
	Resolved string // after symlinks, as the target sees it
	Dev, Ino uint64
	Size     int64
	MtimeNs  int64
	CtimeNs  int64 // an in-place rewrite keeps inode, size and (reset) mtime, never ctime
}

// InBootDir reports whether resolved (as the target sees it) lies strictly
// inside one of BootDirs.
func InBootDir(resolved string) bool {
	for _, d := range BootDirs {
		if strings.HasPrefix(resolved, d) && len(resolved) > len(d) {
			return true
		}
	}
	return false
}

// OpenBootFile opens p and checks it: its resolved path stays under a boot
// directory (BootDirs) — reason.LeavesBoot; it is a regular file —
// reason.UnsafeFile; owned by OwnerUID and not group/world-writable —
// reason.UnsafeFile; size ≤ max — reason.TooLarge. Detail is p. A missing
// file is reason.KernelMissing with errors.Is(err, fs.ErrNotExist) true;
// callers opening an initrd recode it.
//
// The type is checked on an O_PATH descriptor before the file is opened for
// reading, so a device node is never opened (no side effects, no blocking).
func (t Target) OpenBootFile(p string, max int64) (*BootFile, error) {
	p = clean(p)
	resolved, err := t.resolve(p)
	if resolved != "" && !InBootDir(resolved) {
		return nil, reason.Wrap(reason.LeavesBoot, p, fmt.Errorf("resolves to %s", resolved))
	}
	if err != nil {
		return nil, openErr(reason.KernelMissing, p, err)
	}
	pfd, err := t.openat(resolved, unix.O_PATH|unix.O_NOFOLLOW, true)
	if err != nil {
		return nil, openErr(reason.KernelMissing, p, err)
	}
	var st unix.Stat_t
	err = unix.Fstat(pfd, &st)
	unix.Close(pfd)
	if err != nil {
		return nil, reason.Wrap(reason.UnsafeFile, p, fmt.Errorf("cannot stat: %w", err))
	}
	if err := t.checkOwner(p, &st); err != nil {
		return nil, err
	}
	if st.Size > max {
		return nil, reason.Wrap(reason.TooLarge, p, fmt.Errorf("%d bytes, limit %d", st.Size, max))
	}
	fd, err := t.openat(resolved, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_NOFOLLOW, true)
	if err != nil {
		return nil, openErr(reason.KernelMissing, p, err)
	}
	var st2 unix.Stat_t
	if err := unix.Fstat(fd, &st2); err != nil || st2.Dev != st.Dev || st2.Ino != st.Ino {
		unix.Close(fd)
		return nil, reason.Wrap(reason.UnsafeFile, p, errors.New("file replaced while it was checked"))
	}
	// Re-check what we actually read from: owner or mode may have changed.
	if err := t.checkOwner(p, &st2); err != nil {
		unix.Close(fd)
		return nil, err
	}
	_ = unix.SetNonblock(fd, false)
	return &BootFile{
		File:     os.NewFile(uintptr(fd), p),
		Path:     p,
		Resolved: resolved,
		Dev:      st2.Dev,
		Ino:      st2.Ino,
		Size:     st2.Size,
		MtimeNs:  st2.Mtim.Nano(),
		CtimeNs:  st2.Ctim.Nano(),
	}, nil
}

// CheckBootFile runs OpenBootFile's checks and closes the file.
func (t Target) CheckBootFile(p string, max int64) (*BootFile, error) {
	bf, err := t.OpenBootFile(p, max)
	if err != nil {
		return nil, err
	}
	bf.File.Close()
	bf.File = nil
	return bf, nil
}

// Entry is one name in a directory listing.
type Entry struct {
	Name string
	Mode fs.FileMode // type bits only, from getdents; ModeSymlink is not followed
}

// ReadDir lists directory p, sorted by name. A missing directory gives an
// error for which errors.Is(err, fs.ErrNotExist) holds.
func (t Target) ReadDir(p string) ([]Entry, error) {
	fd, err := t.openat(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK, false)
	if err != nil {
		return nil, openErr(reason.BadConfig, p, err)
	}
	f := os.NewFile(uintptr(fd), clean(p))
	defer f.Close()
	var out []Entry
	for {
		des, err := f.ReadDir(1024)
		for _, de := range des {
			out = append(out, Entry{Name: de.Name(), Mode: de.Type()})
		}
		if len(out) > MaxDirEntries {
			return nil, reason.Wrap(reason.TooLarge, clean(p), fmt.Errorf("more than %d entries", MaxDirEntries))
		}
		if err == io.EOF || len(des) == 0 {
			break
		}
		if err != nil {
			return nil, reason.Wrap(reason.BadConfig, clean(p), fmt.Errorf("cannot list: %w", err))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Stat returns the file p, symlinks followed inside the root.
func (t Target) Stat(p string) (fs.FileInfo, error) {
	fd, err := t.openat(p, unix.O_PATH, false)
	if err != nil {
		return nil, openErr(reason.BadConfig, p, err)
	}
	f := os.NewFile(uintptr(fd), clean(p))
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, reason.Wrap(reason.BadConfig, clean(p), err)
	}
	return fi, nil
}

// Exists reports whether p exists inside the root (symlinks followed inside it).
func (t Target) Exists(p string) bool {
	_, err := t.Stat(p)
	return err == nil
}

// IsDir reports whether p is a directory inside the root.
func (t Target) IsDir(p string) bool {
	fi, err := t.Stat(p)
	return err == nil && fi.IsDir()
}

// Join returns the host path of p under the root, for messages and for
// callers outside the confinement (never for opening boot files).
func (t Target) Join(p string) string { return filepath.Join(t.root(), clean(p)) }
