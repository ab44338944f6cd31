package preflight_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

// fullCaps is a bounding set with every capability, CAP_SYS_BOOT included.
const fullCaps = "000001ffffffffff"

// goodEnv is a fake machine on which a Quick Restart is possible.
func goodEnv(t *testing.T) preflight.Env {
	t.Helper()
	d := t.TempDir()
	env := preflight.Env{Proc: filepath.Join(d, "proc"), Sys: filepath.Join(d, "sys"), Run: filepath.Join(d, "run"), Root: filepath.Join(d, "root")}
	put(t, env.Proc, "self/status", "Name:\trapidreboot-helper\nCapInh:\t0000000000000000\nCapBnd:\t"+fullCaps+"\n")
	put(t, env.Proc, "1/environ", "HOME=/\x00TERM=linux\x00")
	put(t, env.Proc, "sys/kernel/kexec_load_disabled", "0\n")
	put(t, env.Sys, "kernel/kexec_loaded", "0\n")
	put(t, env.Sys, "kernel/security/lockdown", "[none] integrity confidentiality\n")
	put(t, env.Root, "var/lib/dpkg/lock-frontend", "")
	put(t, env.Root, "var/lib/dpkg/lock", "")
	os.MkdirAll(env.Run, 0o755)
	return env
}

func put(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, c reason.Code) {
	t.Helper()
	if got := reason.CodeOf(err); got != c {
		t.Fatalf("code = %q (%v), want %q", got, err, c)
	}
}

func TestAMachineThatCanKexecPassesWithoutWarnings(t *testing.T) {
	env := goodEnv(t)
	if err := preflight.Check(env); err != nil {
		t.Fatal(err)
	}
	if w := preflight.Warnings(env); len(w) != 0 {
		t.Fatalf("warnings: %q", w)
	}
}

func TestAKernelWithoutKexecIsNoKexec(t *testing.T) {
	env := goodEnv(t)
	os.Remove(filepath.Join(env.Sys, "kernel/kexec_loaded"))
	wantCode(t, preflight.Check(env), reason.NoKexec)
}

func TestAttack28_KexecLoadDisabledIsReportedBeforeAnyAttempt(t *testing.T) {
	env := goodEnv(t)
	put(t, env.Proc, "sys/kernel/kexec_load_disabled", "1\n")
	wantCode(t, preflight.Check(env), reason.KexecDisabled)
}

func TestAKernelWithoutTheDisableSysctlIsNotDisabled(t *testing.T) {
	env := goodEnv(t)
	os.Remove(filepath.Join(env.Proc, "sys/kernel/kexec_load_disabled"))
	if err := preflight.Check(env); err != nil {
		t.Fatal(err)
	}
}

func TestAttack32_AContainerIsUnavailableAndSaysWhichSign(t *testing.T) {
	for _, tc := range []struct {
		name, detail string
		make         func(t *testing.T, env preflight.Env)
	}{
		{"systemd's container file", "docker", func(t *testing.T, env preflight.Env) {
			put(t, env.Run, "systemd/container", "docker\n")
		}},
		{"PID 1's environment", "lxc", func(t *testing.T, env preflight.Env) {
			put(t, env.Proc, "1/environ", "HOME=/\x00container=lxc\x00TERM=linux\x00")
		}},
		{"no CAP_SYS_BOOT in the bounding set", "CAP_SYS_BOOT is not in the capability bounding set", func(t *testing.T, env preflight.Env) {
			put(t, env.Proc, "self/status", "CapBnd:\t"+fmt.Sprintf("%016x", uint64(0x1ffffffffff)&^(1<<22))+"\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := goodEnv(t)
			tc.make(t, env)
			err := preflight.Check(env)
			wantCode(t, err, reason.Container)
			if reason.DetailOf(err) != tc.detail {
				t.Fatalf("detail = %q", reason.DetailOf(err))
			}
		})
	}
}

func TestAnUnreadableStatusIsAnErrorNotAPass(t *testing.T) {
	env := goodEnv(t)
	put(t, env.Proc, "self/status", "Name:\tx\n")
	wantCode(t, preflight.Check(env), reason.Internal)
	put(t, env.Proc, "self/status", "CapBnd:\tzz\n")
	wantCode(t, preflight.Check(env), reason.Internal)
}

func TestLockdownIsAWarningNotARefusal(t *testing.T) {
	env := goodEnv(t)
	put(t, env.Sys, "kernel/security/lockdown", "none [integrity] confidentiality\n")
	if err := preflight.Check(env); err != nil {
		t.Fatal(err)
	}
	w := preflight.Warnings(env)
	if len(w) != 1 || !strings.Contains(w[0], "integrity") || !strings.Contains(w[0], "signed") {
		t.Fatalf("warnings = %q", w)
	}
	if preflight.LockdownMode(env) != "integrity" {
		t.Fatal(preflight.LockdownMode(env))
	}
	os.Remove(filepath.Join(env.Sys, "kernel/security/lockdown"))
	if len(preflight.Warnings(env)) != 0 {
		t.Fatal("warning without lockdown LSM")
	}
}

func TestAnEarlierFailedQuickRestartSwitchesItOff(t *testing.T) {
	env := goodEnv(t)
	dir := filepath.Join(env.Root, armstate.StateDir)
	armstate.MarkPending(dir, armstate.Marker{BootID: "a", Version: "6.1.0-10-amd64"})
	armstate.AtBoot(dir, "b", armstate.BootFirmware, time0)
	err := preflight.Check(env)
	wantCode(t, err, reason.LastKexecFailed)
	if !strings.Contains(reason.DetailOf(err), "6.1.0-10-amd64") {
		t.Fatalf("detail = %q", reason.DetailOf(err))
	}
	armstate.ClearFailed(dir)
	if err := preflight.Check(env); err != nil {
		t.Fatal(err)
	}
}

func TestADracutExitrdIsRefused(t *testing.T) {
	env := goodEnv(t)
	put(t, env.Run, "initramfs/shutdown", "#!/bin/sh\n")
	err := preflight.Check(env)
	wantCode(t, err, reason.Exitrd)
	if s := reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err)); !strings.Contains(s, "shutdown initramfs") {
		t.Fatalf("sentence = %q", s)
	}

	env = goodEnv(t)
	put(t, env.Root, "usr/lib/systemd/system/dracut-shutdown.service", "[Unit]\n")
	wantCode(t, preflight.Check(env), reason.Exitrd)
}

func TestFreeOrMissingDpkgLocksPass(t *testing.T) {
	env := goodEnv(t)
	if h, err := preflight.DpkgLockHolder(env); err != nil || h != nil {
		t.Fatalf("%v %v", h, err)
	}
	os.RemoveAll(filepath.Join(env.Root, "var/lib/dpkg"))
	if h, err := preflight.DpkgLockHolder(env); err != nil || h != nil {
		t.Fatalf("no dpkg: %v %v", h, err)
	}
}

func TestTheChecksComeMostLastingCauseFirst(t *testing.T) {
	env := goodEnv(t)
	put(t, env.Run, "systemd/container", "podman\n")
	put(t, env.Proc, "sys/kernel/kexec_load_disabled", "1\n")
	wantCode(t, preflight.Check(env), reason.Container)
}

func TestParseLocksFindsHoldersNotWaiters(t *testing.T) {
	locks := []byte(`1: POSIX  ADVISORY  WRITE 1234 08:02:1311 0 EOF
2: FLOCK  ADVISORY  WRITE 1240 00:2d:77 0 EOF
2: -> FLOCK  ADVISORY  WRITE 1250 00:2d:78 0 EOF
3: OFDLCK ADVISORY  WRITE -1 fd:01:9 0 EOF
garbage line
4: POSIX ADVISORY READ 77 zz:01:9 0 EOF
`)
	for _, tc := range []struct {
		maj, min uint32
		ino      uint64
		pid      int
		found    bool
	}{
		{8, 2, 1311, 1234, true},
		{0, 0x2d, 77, 1240, true},
		{0, 0x2d, 78, 0, false}, // only a waiter
		{0xfd, 1, 9, -1, true},
		{8, 2, 1312, 0, false},
	} {
		pid, found := preflight.ParseLocks(locks, tc.maj, tc.min, tc.ino)
		if pid != tc.pid || found != tc.found {
			t.Errorf("%x:%x:%d: %d %v, want %d %v", tc.maj, tc.min, tc.ino, pid, found, tc.pid, tc.found)
		}
	}
}

func FuzzParseLocks(f *testing.F) {
	f.Add([]byte("1: POSIX  ADVISORY  WRITE 1234 08:02:1311 0 EOF\n"), uint32(8), uint32(2), uint64(1311))
	f.Add([]byte("2: -> FLOCK  ADVISORY  WRITE 1250 00:2d:78 0 EOF\n"), uint32(0), uint32(0x2d), uint64(78))
	f.Fuzz(func(t *testing.T, b []byte, maj, min uint32, ino uint64) {
		pid, found := preflight.ParseLocks(b, maj, min, ino)
		if !found && pid != 0 {
			t.Fatalf("pid %d without a lock", pid)
		}
		if found && !strings.Contains(string(b), strconv.FormatUint(ino, 10)) {
			t.Fatalf("found a lock on inode %d that is not in the input", ino)
		}
	})
}

func TestParsersNeverPanicOnOddInput(t *testing.T) {
	for _, b := range []string{"", "\x00", "CapBnd:", "CapBnd:\tffffffffffffffffff"} {
		env := goodEnv(t)
		put(t, env.Proc, "self/status", b)
		_ = preflight.Check(env)
	}
}

// lockHolder runs this test binary as a child that takes the lock on path
// in the given way and keeps it until the returned function is called.
func lockHolder(t *testing.T, how, path string) (pid int, release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RAPIDREBOOT_TEST_LOCK="+how+":"+path)
	return startHolder(t, cmd)
}

func startHolder(t *testing.T, cmd *exec.Cmd) (int, func()) {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder said %q, %v", line, err)
	}
	release := func() { in.Close(); cmd.Wait() }
	t.Cleanup(release)
	return cmd.Process.Pid, release
}

// TestMain doubles as the lock holder child (RAPIDREBOOT_TEST_LOCK).
func TestMain(m *testing.M) {
	if v := os.Getenv("RAPIDREBOOT_TEST_LOCK"); v != "" {
		how, path, _ := strings.Cut(v, ":")
		holdLock(how, path)
		return
	}
	os.Exit(m.Run())
}

func holdLock(how, path string) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	switch how {
	case "fcntl": // what dpkg and apt do
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
	case "ofd":
		err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
	case "flock":
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// ourLocks lists /proc/locks lines that name this process.
func ourLocks(t *testing.T) []string {
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skipf("no /proc/locks: %v", err)
	}
	var out []string
	me := strconv.Itoa(os.Getpid())
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 5 && (f[4] == me || (f[1] == "->" && f[5] == me)) {
			out = append(out, l)
		}
	}
	return out
}

func TestAttack33_AHeldDpkgLockIsRefusedNamingTheHolderWithoutTakingIt(t *testing.T) {
	for _, tc := range []struct {
		how, lock string
		namesPID  bool
	}{
		{"fcntl", "var/lib/dpkg/lock-frontend", true},
		{"fcntl", "var/lib/dpkg/lock", true},
		{"ofd", "var/lib/dpkg/lock-frontend", false}, // the kernel may hide an OFD holder's PID
		{"flock", "var/lib/dpkg/lock-frontend", true},
	} {
		t.Run(tc.how+" "+filepath.Base(tc.lock), func(t *testing.T) {
			env := goodEnv(t)
			env.Proc = "/proc" // the real one: /proc/locks and the holder's comm
			lockPath := filepath.Join(env.Root, tc.lock)
			pid, release := lockHolder(t, tc.how, lockPath)

			h, err := preflight.DpkgLockHolder(env)
			if err != nil || h == nil {
				t.Fatalf("holder = %v, %v", h, err)
			}
			if tc.namesPID && h.PID != pid {
				t.Fatalf("PID = %d, want %d", h.PID, pid)
			}
			if h.PID == pid && !strings.Contains(h.String(), "process "+strconv.Itoa(pid)) {
				t.Fatalf("detail = %q", h.String())
			}
			if h.PID == pid && h.Command == "" {
				t.Fatal("holder's command not named")
			}
			// Not taken by us: this process holds no lock, and the holder
			// still does (a second look still sees it).
			if l := ourLocks(t); len(l) != 0 {
				t.Fatalf("we hold locks: %q", l)
			}
			if h2, _ := preflight.DpkgLockHolder(env); h2 == nil {
				t.Fatal("lock gone after the check")
			}
			release()
			if h, err := preflight.DpkgLockHolder(env); err != nil || h != nil {
				t.Fatalf("after release: %v %v", h, err)
			}
		})
	}
}

func TestAttack33_CheckRefusesWithPackageManagerWhileTheLockIsHeld(t *testing.T) {
	env := goodEnv(t)
	pid, _ := lockHolder(t, "fcntl", filepath.Join(env.Root, "var/lib/dpkg/lock-frontend"))
	err := preflight.Check(env)
	wantCode(t, err, reason.PackageManager)
	if !strings.Contains(reason.DetailOf(err), strconv.Itoa(pid)) {
		t.Fatalf("detail = %q", reason.DetailOf(err))
	}
	s := reason.Sentence(nil, reason.PackageManager, reason.DetailOf(err))
	if !strings.Contains(s, "process "+strconv.Itoa(pid)) {
		t.Fatalf("sentence = %q", s)
	}
}

func TestAttack33_TheRealFlockCommandIsSeen(t *testing.T) {
	flock := testtool.Need(t, "flock", "util-linux")
	env := goodEnv(t)
	env.Proc = "/proc"
	lock := filepath.Join(env.Root, "var/lib/dpkg/lock-frontend")
	_, release := startHolder(t, exec.Command(flock, "--exclusive", lock, "sh", "-c", "echo locked; exec cat"))
	h, err := preflight.DpkgLockHolder(env)
	if err != nil || h == nil || h.PID <= 0 {
		t.Fatalf("holder = %+v, %v", h, err)
	}
	release()
}

var time0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
