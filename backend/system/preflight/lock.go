package preflight

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/host"
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
// no one does. It never takes the lock. /proc/locks is read once for both
// lock files, as a stream (issue 12, item 6: any user can make it
// megabytes long, and GetPlan runs this for any caller).
func DpkgLockHolder(env Env) (*LockHolder, error) {
	return lockHolder(host.New(env.Root), env.Proc, DpkgLocks)
}

// LockHolderOf tests the lock file p inside t without taking any lock:
// F_OFD_GETLK sees fcntl (POSIX) and OFD locks, which dpkg and apt take;
// /proc/locks also sees flock(2) locks, which F_GETLK cannot, and names the
// PID when F_OFD_GETLK could not (an OFD holder reports -1).
func LockHolderOf(t host.Target, proc, p string) (*LockHolder, error) {
	return lockHolder(t, proc, []string{p})
}

// lockFile is one lock file as tested: its identity in /proc/locks and
// what F_OFD_GETLK said.
type lockFile struct {
	path string
	id   FileID
	held bool
	pid  int
}

// lockHolder returns the holder of the first of paths that is held.
func lockHolder(t host.Target, proc string, paths []string) (*LockHolder, error) {
	var files []lockFile
	var ask []FileID // files F_OFD_GETLK could not name a holder for
	for _, p := range paths {
		lf, ok, err := testLock(t, p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		files = append(files, lf)
		if !lf.held || lf.pid == 0 {
			ask = append(ask, lf.id)
		}
	}
	var listed map[FileID]int
	if len(ask) > 0 {
		// An unreadable /proc/locks only loses the flock holders and the
		// PIDs of OFD holders; F_OFD_GETLK has answered for the rest.
		listed, _ = scanProcLocks(proc, ask)
	}
	for _, lf := range files {
		if lpid, ok := listed[lf.id]; ok {
			lf.held = true
			if lf.pid == 0 && lpid > 0 {
				lf.pid = lpid
			}
		}
		if !lf.held {
			continue
		}
		h := &LockHolder{Path: lf.path, PID: lf.pid}
		if lf.pid > 0 {
			if b, err := readSmall(filepath.Join(proc, strconv.Itoa(lf.pid), "comm")); err == nil {
				h.Command = strings.TrimSpace(string(b))
			}
		}
		return h, nil
	}
	return nil, nil
}

// testLock opens p inside t and asks F_OFD_GETLK about it; ok is false
// when p does not exist.
func testLock(t host.Target, p string) (lf lockFile, ok bool, err error) {
	f, err := t.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return lockFile{}, false, nil
	}
	if err != nil {
		return lockFile{}, false, fmt.Errorf("cannot open %s: %w", p, err)
	}
	defer f.Close()

	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return lockFile{}, false, fmt.Errorf("cannot stat %s: %w", p, err)
	}
	lf = lockFile{path: p, id: FileID{Major: unix.Major(st.Dev), Minor: unix.Minor(st.Dev), Ino: st.Ino}}

	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	err = unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk)
	if errors.Is(err, unix.EINVAL) {
		// Before Linux 3.15. F_GETLK is safe here too: it only asks, and this
		// process holds no POSIX lock on the file that closing f could drop.
		lk = unix.Flock_t{Type: unix.F_WRLCK}
		err = unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk)
	}
	if err != nil {
		return lockFile{}, false, fmt.Errorf("cannot test the lock on %s: %w", p, err)
	}
	if lk.Type != unix.F_UNLCK {
		lf.held = true
		if lk.Pid > 0 {
			lf.pid = int(lk.Pid)
		}
	}
	return lf, true, nil
}

// FileID is a file as /proc/locks names it: device major:minor and inode.
type FileID struct {
	Major, Minor uint32
	Ino          uint64
}

func scanProcLocks(proc string, want []FileID) (map[FileID]int, error) {
	f, err := os.Open(filepath.Join(proc, "locks"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ScanLocks(f, want)
}

// maxLocksLine bounds one /proc/locks line; the kernel's are under 100
// bytes.
const maxLocksLine = 4096

// ScanLocks reads /proc/locks from r line by line, in one pass with one
// line's buffer, and returns, for each of want that has a holder, the
// first holder's PID (-1 or 0 when the kernel hides it). Waiters ("->"
// lines) do not hold a lock.
//
//	1: POSIX  ADVISORY  WRITE 1234 08:02:1311 0 EOF
//	2: FLOCK  ADVISORY  WRITE 1240 00:2d:77 0 EOF
//	2: -> FLOCK  ADVISORY  WRITE 1250 00:2d:77 0 EOF
func ScanLocks(r io.Reader, want []FileID) (map[FileID]int, error) {
	found := make(map[FileID]int, len(want))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLocksLine)
	var fields [6][]byte
	for sc.Scan() && len(found) < len(want) {
		// fields: id, class, ADVISORY|MANDATORY, READ|WRITE, pid, maj:min:ino, ...
		if splitFields(sc.Bytes(), fields[:]) < 6 || string(fields[1]) == "->" {
			continue
		}
		id, ok := parseFileID(fields[5])
		if !ok || !slices.Contains(want, id) {
			continue
		}
		if _, seen := found[id]; seen {
			continue
		}
		found[id] = parsePID(fields[4])
	}
	if err := sc.Err(); err != nil {
		return found, fmt.Errorf("cannot read /proc/locks: %w", err)
	}
	return found, nil
}

// ParseLocks scans /proc/locks for a lock held on the file major:minor:ino
// and returns its holder's PID (-1 or 0 when the kernel hides it) and
// whether one was found.
func ParseLocks(b []byte, major, minor uint32, ino uint64) (int, bool) {
	id := FileID{Major: major, Minor: minor, Ino: ino}
	found, _ := ScanLocks(bytes.NewReader(b), []FileID{id})
	pid, ok := found[id]
	return pid, ok
}

// splitFields puts the first len(out) space-separated fields of line in
// out, without allocating, and returns how many there were.
func splitFields(line []byte, out [][]byte) int {
	n := 0
	for n < len(out) {
		i := 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		line = line[i:]
		if len(line) == 0 {
			break
		}
		j := 0
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		out[n] = line[:j]
		n++
		line = line[j:]
	}
	return n
}

// parseFileID parses "08:02:1311" (major and minor in hex, inode decimal).
func parseFileID(b []byte) (FileID, bool) {
	ma, rest, ok1 := bytes.Cut(b, []byte{':'})
	mi, in, ok2 := bytes.Cut(rest, []byte{':'})
	if !ok1 || !ok2 {
		return FileID{}, false
	}
	major, ok3 := parseUint(ma, 16, 32)
	minor, ok4 := parseUint(mi, 16, 32)
	ino, ok5 := parseUint(in, 10, 64)
	if !ok3 || !ok4 || !ok5 {
		return FileID{}, false
	}
	return FileID{Major: uint32(major), Minor: uint32(minor), Ino: ino}, true
}

// parsePID parses the PID field: a decimal, -1 for a holder the kernel does
// not name; anything else is 0 (unknown).
func parsePID(b []byte) int {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	v, ok := parseUint(b, 10, 31)
	if !ok {
		return 0
	}
	if neg {
		return -int(v)
	}
	return int(v)
}

// parseUint is strconv.ParseUint on bytes, without the conversion to a
// string (one per line adds up over a file of megabytes).
func parseUint(b []byte, base, bits int) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if v > (1<<bits-1-d)/uint64(base) {
			return 0, false // overflow
		}
		v = v*uint64(base) + d
	}
	return v, true
}
