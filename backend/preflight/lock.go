package preflight

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/host"
)

// LockHolder is a process holding one of the package manager's locks.
type LockHolder struct {
	Path    string // the lock file, as the target sees it
	PID     int    // 0 when the kernel does not say (an OFD lock, another PID namespace)
	Command string // /proc/<pid>/comm, "" when unknown
}

// String is the detail of a PackageManager refusal: "apt-get, process 1234".
func (h *LockHolder) String() string {
	switch {
	case h.PID > 0 && h.Command != "":
		return fmt.Sprintf("%s, process %d", h.Command, h.PID)
	case h.PID > 0:
		return fmt.Sprintf("process %d", h.PID)
	default:
		return "a process holds " + h.Path
	}
}

// DpkgLockHolder returns who holds a dpkg lock under env.Root, or nil when
// no one does. It never takes the lock.
func DpkgLockHolder(env Env) (*LockHolder, error) {
	t := host.New(env.Root)
	for _, p := range DpkgLocks {
		h, err := LockHolderOf(t, env.Proc, p)
		if err != nil || h != nil {
			return h, err
		}
	}
	return nil, nil
}

// LockHolderOf tests the lock file p inside t without taking any lock:
// F_OFD_GETLK sees fcntl (POSIX) and OFD locks, which dpkg and apt take;
// /proc/locks also sees flock(2) locks, which F_GETLK cannot, and names the
// PID when F_OFD_GETLK could not (an OFD holder reports -1).
func LockHolderOf(t host.Target, proc, p string) (*LockHolder, error) {
	f, err := t.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", p, err)
	}
	defer f.Close()

	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("cannot stat %s: %w", p, err)
	}

	held := false
	pid := 0
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	err = unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk)
	if errors.Is(err, unix.EINVAL) {
		// Before Linux 3.15. F_GETLK is safe here too: it only asks, and this
		// process holds no POSIX lock on the file that closing f could drop.
		lk = unix.Flock_t{Type: unix.F_WRLCK}
		err = unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot test the lock on %s: %w", p, err)
	}
	if lk.Type != unix.F_UNLCK {
		held = true
		if lk.Pid > 0 {
			pid = int(lk.Pid)
		}
	}

	if !held || pid == 0 {
		if b, err := readProcLocks(proc); err == nil {
			if lpid, ok := ParseLocks(b, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino); ok {
				held = true
				if pid == 0 && lpid > 0 {
					pid = lpid
				}
			}
		}
	}
	if !held {
		return nil, nil
	}
	h := &LockHolder{Path: p, PID: pid}
	if pid > 0 {
		if b, err := readSmall(filepath.Join(proc, strconv.Itoa(pid), "comm")); err == nil {
			h.Command = strings.TrimSpace(string(b))
		}
	}
	return h, nil
}

// /proc/locks grows with the number of locks on the system; a busy server
// may have thousands.
const maxProcLocks = 4 << 20

func readProcLocks(proc string) ([]byte, error) {
	return readN(filepath.Join(proc, "locks"), maxProcLocks)
}

// ParseLocks scans /proc/locks for a lock held on the file major:minor:ino
// and returns its holder's PID (-1 or 0 when the kernel hides it) and
// whether one was found. Waiters ("->" lines) do not hold the lock.
//
//	1: POSIX  ADVISORY  WRITE 1234 08:02:1311 0 EOF
//	2: FLOCK  ADVISORY  WRITE 1240 00:2d:77 0 EOF
//	2: -> FLOCK  ADVISORY  WRITE 1250 00:2d:77 0 EOF
func ParseLocks(b []byte, major, minor uint32, ino uint64) (int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 256), 4096)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] == "->" {
			continue
		}
		// fields: id, class, ADVISORY|MANDATORY, READ|WRITE, pid, maj:min:ino, ...
		ids := strings.Split(fields[5], ":")
		if len(ids) != 3 {
			continue
		}
		ma, err1 := strconv.ParseUint(ids[0], 16, 32)
		mi, err2 := strconv.ParseUint(ids[1], 16, 32)
		in, err3 := strconv.ParseUint(ids[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if uint32(ma) != major || uint32(mi) != minor || in != ino {
			continue
		}
		pid, err := strconv.Atoi(fields[4])
		if err != nil {
			pid = 0
		}
		return pid, true
	}
	return 0, false
}
