package preflight_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// bigProcLocks is n bytes of /proc/locks lines on files that are not the
// dpkg locks, as any user can make with byte-range locks on a file of
// their own (issue 12, item 6), followed by last.
func bigProcLocks(n int, last string) []byte {
	var b strings.Builder
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d: POSIX  ADVISORY  WRITE 31337 00:2d:%d %d %d\n", i, 4000000+i%7, 2*i, 2*i)
	}
	b.WriteString(last)
	return []byte(b.String())
}

// lockLine is a /proc/locks line for a flock held on path by pid.
func lockLine(t *testing.T, path string, pid int) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("999999: FLOCK  ADVISORY  WRITE %d %02x:%02x:%d 0 EOF\n", pid, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
}

// Issue 12, item 6: /proc/locks is read as a stream, once for both dpkg
// locks, with no buffer for the whole file: a 5 MiB file costs the check
// a few KiB, and a holder listed at its very end is still seen (the old
// whole-file read gave up above 4 MiB and saw nothing).
func TestIssue12Item6AHugeProcLocksIsStreamedAndItsLastLockIsSeen(t *testing.T) {
	env := goodEnv(t)
	frontend := filepath.Join(env.Root, "var/lib/dpkg/lock-frontend")
	put(t, env.Proc, "locks", string(bigProcLocks(5<<20, lockLine(t, frontend, 4242))))
	put(t, env.Proc, "4242/comm", "apt-get\n")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h, err := preflight.DpkgLockHolder(env)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("DpkgLockHolder over a 5 MiB /proc/locks allocated %d KiB", alloc>>10)
	if err != nil || h == nil || h.PID != 4242 || h.Command != "apt-get" {
		t.Errorf("holder = %+v, %v; want apt-get, process 4242", h, err)
	}
	if alloc > 256<<10 {
		t.Errorf("allocated %d KiB for one check, want under 256 KiB", alloc>>10)
	}

	// One pass answers for both files: dpkg's own lock, listed last, is
	// seen too, and the frontend still comes first when both are held.
	lock := filepath.Join(env.Root, "var/lib/dpkg/lock")
	put(t, env.Proc, "locks", string(bigProcLocks(1<<20, lockLine(t, lock, 4243))))
	if h, err := preflight.DpkgLockHolder(env); err != nil || h == nil || h.PID != 4243 || h.Path != "/var/lib/dpkg/lock" {
		t.Errorf("dpkg's lock: %+v, %v", h, err)
	}
	put(t, env.Proc, "locks", lockLine(t, lock, 4243)+lockLine(t, frontend, 4242))
	if h, err := preflight.DpkgLockHolder(env); err != nil || h == nil || h.PID != 4242 {
		t.Errorf("both held: %+v, %v; want the frontend's holder", h, err)
	}

	// Free: the whole file is read, nothing is found.
	put(t, env.Proc, "locks", string(bigProcLocks(5<<20, "")))
	if h, err := preflight.DpkgLockHolder(env); err != nil || h != nil {
		t.Errorf("free locks: %+v, %v", h, err)
	}
}

// fieldsParseLocks is ParseLocks as it was before the streaming parser
// (strings.Fields and strconv per line): the reference the fuzzer compares
// the new parser with.
func fieldsParseLocks(b []byte, major, minor uint32, ino uint64) (int, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || fields[1] == "->" {
			continue
		}
		ids := strings.Split(fields[5], ":")
		if len(ids) != 3 {
			continue
		}
		ma, err1 := strconv.ParseUint(ids[0], 16, 32)
		mi, err2 := strconv.ParseUint(ids[1], 16, 32)
		in, err3 := strconv.ParseUint(ids[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || uint32(ma) != major || uint32(mi) != minor || in != ino {
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

// FuzzScanLocksAgreesWithTheFieldsParser: on what /proc/locks can hold
// (ASCII letters, digits, ':', '-', '>', spaces and newlines; lines under
// the 4 KiB line cap; PIDs as the kernel prints them), the streaming
// parser finds what the whole-file parser found.
func FuzzScanLocksAgreesWithTheFieldsParser(f *testing.F) {
	f.Add([]byte("1: POSIX  ADVISORY  WRITE 1234 08:02:1311 0 EOF\n2: -> FLOCK  ADVISORY  WRITE 1250 08:02:1311 0 EOF\n"), uint32(8), uint32(2), uint64(1311))
	f.Add([]byte("3: OFDLCK ADVISORY  WRITE -1 fd:01:9 0 EOF\n"), uint32(0xfd), uint32(1), uint64(9))
	f.Add([]byte("4: FLOCK ADVISORY WRITE 77 0:0:0 0 EOF\n"), uint32(0), uint32(0), uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, maj, min uint32, ino uint64) {
		for _, line := range strings.Split(string(b), "\n") {
			if len(line) >= 4096 {
				t.Skip()
			}
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], "+") {
				t.Skip() // strconv.Atoi takes "+5"; the kernel never prints it
			}
		}
		for _, c := range b {
			ok := c == ' ' || c == '\n' || c == ':' || c == '-' || c == '>' ||
				('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
			if !ok {
				t.Skip()
			}
		}
		wantPID, wantOK := fieldsParseLocks(b, maj, min, ino)
		if wantOK && (wantPID > 1<<31-1 || wantPID < -(1<<31-1)) {
			t.Skip() // beyond a pid_t
		}
		pid, ok := preflight.ParseLocks(b, maj, min, ino)
		if pid != wantPID || ok != wantOK {
			t.Fatalf("ParseLocks = %d, %v; the fields parser says %d, %v", pid, ok, wantPID, wantOK)
		}
	})
}
