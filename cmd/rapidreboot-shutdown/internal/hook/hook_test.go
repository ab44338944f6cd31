package hook_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/armstate"
	"github.com/rapidreboot/rapidreboot/backend/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/kexec"
	"github.com/rapidreboot/rapidreboot/backend/kexec/kexectest"
	"github.com/rapidreboot/rapidreboot/cmd/rapidreboot-shutdown/internal/hook"
)

const (
	ver      = "6.1.0-10-amd64"
	thisBoot = "6f1c2f0e-8c4b-4d59-9a55-1d0f6c1b2a01"
	lastBoot = "0d6a9d4b-4b1e-4a7e-8f39-7b7c0b0c9e02"
	hookPID  = 4242
	execPID  = 4000 // systemd's "(sd-executor)", parent of every hook
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// fakeSystem is the kernel as the hook sees it: the kexec fake for the
// loaded state, plus the order of sync, reboot and unload.
type fakeSystem struct {
	*kexectest.Fake
	rebootErr error
	loadedErr error
	target    string

	mu     sync.Mutex
	events []string
}

func (f *fakeSystem) event(e string) {
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
}

func (f *fakeSystem) Events() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.events, ",")
}

func (f *fakeSystem) Sync() { f.event("sync") }
func (f *fakeSystem) RebootKexec() error {
	f.event("reboot(KEXEC)")
	// The real call does not return when it works; the fake returns nil.
	return f.rebootErr
}
func (f *fakeSystem) KexecLoaded() (bool, error) { return f.Fake.Loaded(), f.loadedErr }
func (f *fakeSystem) Unload() error              { f.event("unload"); return kexec.Unload(f.Fake) }
func (f *fakeSystem) ShutdownTarget() string     { return f.target }

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// machine is a fake root, /proc and /run with a Quick Restart armed the
// way the helper arms it: the plan loaded through kexec.Loader into the
// fake, the arm written with its image.
type machine struct {
	root, proc, run string
	sys             *fakeSystem
	log             *logLines
	arm             armstate.State
	cfg             hook.Config
}

func newMachine(t testing.TB) *machine {
	t.Helper()
	d := t.TempDir()
	m := &machine{root: filepath.Join(d, "root"), proc: filepath.Join(d, "proc"), run: filepath.Join(d, "run"), log: &logLines{}}
	hosttest.File(t, m.root, "/boot/vmlinuz-"+ver, "MZ kernel "+ver)
	hosttest.File(t, m.root, "/boot/initrd.img-"+ver, "070701 initramfs")
	hosttest.Mkdir(t, m.root, "/var/lib")
	put(t, m.proc, "sys/kernel/random/boot_id", thisBoot+"\n")
	put(t, m.proc, fmt.Sprintf("%d/stat", hookPID), fmt.Sprintf("%d (rapidreboot) R %d 1 1 0", hookPID, execPID))
	put(t, m.proc, fmt.Sprintf("%d/stat", execPID), fmt.Sprintf("%d ((sd-executor)) S 1 1 1 0", execPID))
	put(t, m.proc, "1/stat", "1 (systemd-shutdow) S 0 1 1 0")
	os.MkdirAll(m.run, 0o755)
	m.sys = &fakeSystem{Fake: kexectest.New("")}
	m.cfg = hook.Config{
		Sys: m.sys, Log: m.log,
		Root: m.root, Proc: m.proc, Run: m.run, OwnerUID: uint32(os.Getuid()),
		Now: func() time.Time { return t0.Add(time.Minute) },
		PID: hookPID, PPID: execPID,
		SiblingWait: 300 * time.Millisecond, Poll: 10 * time.Millisecond, DpkgWait: 300 * time.Millisecond,
	}
	return m
}

// armed loads and arms like the helper: pending mark, load, arm file.
func (m *machine) armed(t testing.TB) *machine {
	t.Helper()
	l := kexec.Loader{Sys: m.sys.Fake, Target: hosttest.Target(m.root)}
	plan := &bootplan.Plan{Kernel: "/boot/vmlinuz-" + ver, Version: ver, Initrd: []string{"/boot/initrd.img-" + ver}, Cmdline: "root=/dev/vda1 ro"}
	if err := armstate.MarkPending(m.stateDir(), armstate.Marker{BootID: thisBoot, Time: t0, Kernel: plan.Kernel, Version: ver}); err != nil {
		t.Fatal(err)
	}
	img, err := l.Load(plan)
	if err != nil {
		t.Fatal(err)
	}
	m.arm = armstate.State{Format: armstate.Format, BootID: thisBoot, ArmedAt: t0, ExpiresAt: t0.Add(armstate.DefaultTTL), UID: 1000, Image: img, Plan: *plan}
	m.writeArm(t)
	return m
}

func (m *machine) writeArm(t testing.TB) {
	t.Helper()
	if err := armstate.Write(m.runDir(), m.arm); err != nil {
		t.Fatal(err)
	}
}

func (m *machine) runDir() string   { return filepath.Join(m.run, "rapidreboot") }
func (m *machine) stateDir() string { return filepath.Join(m.root, armstate.StateDir) }

func put(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (m *machine) wantEvents(t *testing.T, want string) {
	t.Helper()
	if got := m.sys.Events(); got != want {
		t.Fatalf("events = %q, want %q\nlog:\n%s", got, want, m.log)
	}
}

// declined asserts a normal reboot: no kexec, nothing left loaded.
func (m *machine) declined(t *testing.T, r hook.Result) {
	t.Helper()
	if r.Kexec || strings.Contains(m.sys.Events(), "reboot") {
		t.Fatalf("kexec attempted: %+v, events %s", r, m.sys.Events())
	}
	if m.sys.Fake.Loaded() {
		t.Fatalf("an image is still loaded for the normal reboot; log:\n%s", m.log)
	}
	if r.Why == "" || !strings.Contains(m.log.String(), r.Why) {
		t.Fatalf("decision not logged: %+v\n%s", r, m.log)
	}
}

func TestAnArmedQuickRestartSyncsAndThenKexecs(t *testing.T) {
	m := newMachine(t).armed(t)
	r := hook.Shutdown(m.cfg, "reboot")
	m.wantEvents(t, "sync,reboot(KEXEC)")
	if !r.Kexec || !strings.Contains(m.log.String(), "restarting into /boot/vmlinuz-"+ver) {
		t.Fatalf("%+v\n%s", r, m.log)
	}
}

func TestOtherVerbsDoNothingAtAll(t *testing.T) {
	for _, verb := range []string{"poweroff", "halt", "kexec", "", "REBOOT", "reboot "} {
		m := newMachine(t).armed(t)
		r := hook.Shutdown(m.cfg, verb)
		m.wantEvents(t, "")
		if r.Kexec || !m.sys.Fake.Loaded() {
			t.Fatalf("verb %q: %+v", verb, r)
		}
	}
}

func TestAttack39_AfterAHelperCrashALoadedImageWithoutArmIsUnloadedForANormalReboot(t *testing.T) {
	m := newMachine(t).armed(t)
	armstate.Clear(m.runDir()) // the helper died before writing, or someone else loaded
	r := hook.Shutdown(m.cfg, "reboot")
	m.declined(t, r)
	m.wantEvents(t, "unload")
}

func TestAttack39_AnExpiredArmIsUnloaded(t *testing.T) {
	m := newMachine(t).armed(t)
	m.cfg.Now = func() time.Time { return t0.Add(armstate.DefaultTTL + time.Second) }
	r := hook.Shutdown(m.cfg, "reboot")
	m.declined(t, r)
	if !strings.Contains(r.Why, "expired") {
		t.Fatal(r.Why)
	}
}

func TestAnArmFromAnotherBootIsIgnored(t *testing.T) {
	m := newMachine(t).armed(t)
	m.arm.BootID = lastBoot
	m.writeArm(t)
	r := hook.Shutdown(m.cfg, "reboot")
	m.declined(t, r)
	if !strings.Contains(r.Why, "another boot") {
		t.Fatal(r.Why)
	}
}

func TestAnArmFileOthersCanWriteIsNotTrusted(t *testing.T) {
	m := newMachine(t).armed(t)
	os.Chmod(filepath.Join(m.runDir(), armstate.ArmFile), 0o666)
	m.declined(t, hook.Shutdown(m.cfg, "reboot"))
}

func TestAReplacedKernelFileIsUnloadedNotBooted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, m *machine)
	}{
		{"new inode (package upgrade)", func(t *testing.T, m *machine) {
			hosttest.File(t, m.root, "/boot/vmlinuz-new", "MZ kernel "+ver)
			os.Rename(filepath.Join(m.root, "boot/vmlinuz-new"), filepath.Join(m.root, "boot/vmlinuz-"+ver))
		}},
		{"new mtime", func(t *testing.T, m *machine) {
			later := t0.Add(time.Hour)
			os.Chtimes(filepath.Join(m.root, "boot/vmlinuz-"+ver), later, later)
		}},
		{"new size", func(t *testing.T, m *machine) {
			f, _ := os.OpenFile(filepath.Join(m.root, "boot/vmlinuz-"+ver), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("more")
			f.Close()
		}},
		{"initrd regenerated", func(t *testing.T, m *machine) {
			hosttest.File(t, m.root, "/boot/initrd.img-new", "070701 newer initramfs")
			os.Rename(filepath.Join(m.root, "boot/initrd.img-new"), filepath.Join(m.root, "boot/initrd.img-"+ver))
		}},
		{"kernel made world-writable", func(t *testing.T, m *machine) {
			os.Chmod(filepath.Join(m.root, "boot/vmlinuz-"+ver), 0o666)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t).armed(t)
			tc.change(t, m)
			m.declined(t, hook.Shutdown(m.cfg, "reboot"))
			m.wantEvents(t, "unload")
		})
	}
}

func TestAnUnmountedBootIsTrustedOnlyWithTheStopTimeVerdict(t *testing.T) {
	m := newMachine(t).armed(t)
	os.RemoveAll(filepath.Join(m.root, "boot")) // /boot unmounted by systemd-shutdown
	m.declined(t, hook.Shutdown(m.cfg, "reboot"))

	m = newMachine(t).armed(t)
	if r := hook.Verify(m.cfg); !strings.Contains(r.Why, "checked") {
		t.Fatalf("verify: %+v\n%s", r, m.log)
	}
	os.RemoveAll(filepath.Join(m.root, "boot"))
	r := hook.Shutdown(m.cfg, "reboot")
	m.wantEvents(t, "sync,reboot(KEXEC)")
	if !r.Kexec {
		t.Fatal(r)
	}
}

func TestAVerdictForAnotherArmDoesNotCount(t *testing.T) {
	m := newMachine(t).armed(t)
	hook.Verify(m.cfg)
	m.arm.ExpiresAt = m.arm.ExpiresAt.Add(time.Second) // re-armed after the check
	m.writeArm(t)
	os.RemoveAll(filepath.Join(m.root, "boot"))
	m.declined(t, hook.Shutdown(m.cfg, "reboot"))
}

func TestADracutExitrdMakesItANormalReboot(t *testing.T) {
	m := newMachine(t).armed(t)
	put(t, m.run, "initramfs/shutdown", "#!/bin/sh\n")
	r := hook.Shutdown(m.cfg, "reboot")
	m.declined(t, r)
	if !strings.Contains(r.Why, "initramfs/shutdown") {
		t.Fatal(r.Why)
	}
}

func TestArmedButNothingLoadedIsANormalReboot(t *testing.T) {
	m := newMachine(t).armed(t)
	m.sys.Fake.SetLoaded(false)
	r := hook.Shutdown(m.cfg, "reboot")
	m.wantEvents(t, "")
	if r.Kexec || r.Why == "" {
		t.Fatal(r)
	}
}

func TestAnUnreadableKexecStateUnloadsAndReboots(t *testing.T) {
	m := newMachine(t).armed(t)
	m.sys.loadedErr = errors.New("cannot read kexec state: EIO")
	m.declined(t, hook.Shutdown(m.cfg, "reboot"))
}

func TestAFailedKexecRebootUnloadsSoTheNormalRebootIsClean(t *testing.T) {
	m := newMachine(t).armed(t)
	m.sys.rebootErr = unix.EINVAL
	r := hook.Shutdown(m.cfg, "reboot")
	m.wantEvents(t, "sync,reboot(KEXEC),unload")
	if !r.Kexec || !r.Unloaded || m.sys.Fake.Loaded() {
		t.Fatal(r)
	}
}

func TestSiblingHooksAreWaitedForUpToTheBound(t *testing.T) {
	m := newMachine(t).armed(t)
	put(t, m.proc, "4243/stat", fmt.Sprintf("4243 (mdadm hook) D %d 1 1 0", execPID))
	put(t, m.proc, "4244/stat", fmt.Sprintf("4244 (fwupd) Z %d 1 1 0", execPID)) // exited, not reaped
	start := time.Now()
	r := hook.Shutdown(m.cfg, "reboot")
	if took := time.Since(start); took < m.cfg.SiblingWait {
		t.Fatalf("waited %s, bound %s", took, m.cfg.SiblingWait)
	}
	m.declined(t, r)
	if !strings.Contains(r.Why, "1 other shutdown hooks") {
		t.Fatal(r.Why)
	}
}

func TestTheKexecWaitsForSiblingHooksToFinish(t *testing.T) {
	m := newMachine(t).armed(t)
	m.cfg.SiblingWait = 10 * time.Second
	sibling := filepath.Join(m.proc, "4243")
	put(t, m.proc, "4243/stat", fmt.Sprintf("4243 (mdadm) S %d 1 1 0", execPID))
	goneAt := make(chan time.Time, 1)
	go func() {
		time.Sleep(150 * time.Millisecond)
		gone := time.Now()
		os.RemoveAll(sibling)
		goneAt <- gone
	}()
	r := hook.Shutdown(m.cfg, "reboot")
	returned := time.Now()
	m.wantEvents(t, "sync,reboot(KEXEC)")
	// The hook returning before the sibling went means it did not wait.
	if gone := <-goneAt; !r.Kexec || returned.Before(gone) {
		t.Fatalf("kexec before the sibling finished: %+v", r)
	}
}

func TestSiblingsAreOnlyTheParentsOtherLiveChildren(t *testing.T) {
	proc := t.TempDir()
	put(t, proc, "10/stat", "10 (me) R 5 0")
	put(t, proc, "11/stat", "11 (sib ling) S 5 0")
	put(t, proc, "12/stat", "12 (a) b) c) S 5 0") // comm with ") "
	put(t, proc, "13/stat", "13 (z) Z 5 0")
	put(t, proc, "14/stat", "14 (other) S 6 0")
	put(t, proc, "self/stat", "10 (me) R 5 0")
	put(t, proc, "15/stat", "garbage")
	got := fmt.Sprint(hook.Siblings(proc, 10, 5))
	if got != "[11 12]" {
		t.Fatalf("siblings = %s", got)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("12 (a) b) c) S 5 0"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ppid, state, err := hook.ParseStat(b)
		if err != nil && (ppid != 0 || state != 0) {
			t.Fatal("values with an error")
		}
	})
}

func TestParseJobsNamesTheShutdownTarget(t *testing.T) {
	for in, want := range map[string]string{
		"1503 reboot.target start waiting\n1504 systemd-reboot.service start waiting\n": "reboot",
		"77 poweroff.target start waiting\n":                                            "poweroff",
		"1 halt.target start waiting":                                                   "halt",
		"9 kexec.target start waiting":                                                  "kexec",
		"3 soft-reboot.target start waiting":                                            "soft-reboot",
		"1 reboot.target start waiting\n2 poweroff.target start waiting":                "",
		"":                                       "",
		"No jobs running.":                       "",
		"5 apt-daily.service start running\n":    "",
		"1 reboot.target start\n1 reboot.target": "reboot",
	} {
		if got := hook.ParseJobs([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestVerifyRecordsTheVerdictForAValidArm(t *testing.T) {
	m := newMachine(t).armed(t)
	m.sys.target = "reboot"
	hook.Verify(m.cfg)
	if !armstate.Verified(m.runDir(), m.arm.Digest()) {
		t.Fatalf("no verdict\n%s", m.log)
	}
	m.wantEvents(t, "")
	if _, err := os.Stat(filepath.Join(m.stateDir(), armstate.PendingFile)); err != nil {
		t.Fatal("pending mark dropped for a good arm")
	}
}

// dropped asserts Verify cancelled the Quick Restart: arm, pending mark and
// image gone, so the restart is normal and the next boot blames nothing.
func (m *machine) dropped(t *testing.T, r hook.Result) {
	t.Helper()
	m.declined(t, r)
	if _, err := armstate.Read(m.runDir()); !errors.Is(err, armstate.ErrNotArmed) {
		t.Fatalf("arm left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.stateDir(), armstate.PendingFile)); err == nil {
		t.Fatal("pending mark left")
	}
}

func TestVerifyCancelsAQuickRestartThatCannotHappen(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, m *machine)
		why  string
	}{
		{"poweroff", func(t *testing.T, m *machine) { m.sys.target = "poweroff" }, "poweroff"},
		{"halt", func(t *testing.T, m *machine) { m.sys.target = "halt" }, "halt"},
		{"soft-reboot", func(t *testing.T, m *machine) { m.sys.target = "soft-reboot" }, "soft-reboot"},
		{"expired", func(t *testing.T, m *machine) {
			m.cfg.Now = func() time.Time { return t0.Add(time.Hour) }
		}, "expired"},
		{"kernel removed", func(t *testing.T, m *machine) {
			os.Remove(filepath.Join(m.root, "boot/vmlinuz-"+ver))
		}, "vmlinuz"},
		{"exitrd", func(t *testing.T, m *machine) { put(t, m.run, "initramfs/shutdown", "") }, "initramfs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t).armed(t)
			tc.make(t, m)
			r := hook.Verify(m.cfg)
			m.dropped(t, r)
			if !strings.Contains(r.Why, tc.why) {
				t.Fatalf("why = %q", r.Why)
			}
		})
	}
}

func TestVerifyWithNothingLoadedDropsTheArmWithoutUnloading(t *testing.T) {
	m := newMachine(t).armed(t)
	m.sys.Fake.SetLoaded(false)
	r := hook.Verify(m.cfg)
	m.wantEvents(t, "")
	if _, err := armstate.Read(m.runDir()); !errors.Is(err, armstate.ErrNotArmed) || r.Why == "" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestAttack34_VerifyWaitsForTheDpkgLockThenCancels(t *testing.T) {
	m := newMachine(t).armed(t)
	m.cfg.Proc = "/proc" // the real one, for /proc/locks...
	m.cfg.Now = nil      // ...so the arm is judged by the wall clock and the real boot id
	bootID, err := armstate.BootID("/proc")
	if err != nil {
		t.Skip(err)
	}
	m.arm.BootID, m.arm.ExpiresAt = bootID, time.Now().Add(time.Hour)
	m.writeArm(t)
	lock := filepath.Join(m.root, "var/lib/dpkg/lock-frontend")
	put(t, m.root, "var/lib/dpkg/lock-frontend", "")
	f, _ := os.OpenFile(lock, os.O_RDWR, 0)
	defer f.Close()
	// An OFD lock from this process stands for apt in another one: OFD
	// locks conflict between open file descriptions, whoever owns them.
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Skip(err)
	}
	start := time.Now()
	r := hook.Verify(m.cfg)
	if time.Since(start) < m.cfg.DpkgWait {
		t.Fatalf("did not wait: %s", time.Since(start))
	}
	m.dropped(t, r)
	if !strings.Contains(r.Why, "package manager") {
		t.Fatal(r.Why)
	}
}

func TestAttack34_VerifyPassesOnceThePackageManagerFinishesInTime(t *testing.T) {
	m := newMachine(t).armed(t)
	m.cfg.DpkgWait = 10 * time.Second
	put(t, m.root, "var/lib/dpkg/lock-frontend", "")
	f, _ := os.OpenFile(filepath.Join(m.root, "var/lib/dpkg/lock-frontend"), os.O_RDWR, 0)
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Skip(err)
	}
	go func() { time.Sleep(150 * time.Millisecond); f.Close() }()
	hook.Verify(m.cfg)
	if !armstate.Verified(m.runDir(), m.arm.Digest()) {
		t.Fatalf("no verdict after the lock was released\n%s", m.log)
	}
}

func TestBootDropsAStaleArmAndAnImageNobodyArmed(t *testing.T) {
	m := newMachine(t).armed(t) // as after a soft-reboot: /run and the image survive
	r := hook.Boot(m.cfg)
	if !r.Unloaded || m.sys.Fake.Loaded() {
		t.Fatalf("%+v", r)
	}
	if _, err := armstate.Read(m.runDir()); !errors.Is(err, armstate.ErrNotArmed) {
		t.Fatal("stale arm kept")
	}
	if _, err := os.Stat(filepath.Join(m.stateDir(), armstate.PendingFile)); err == nil {
		t.Fatal("pending mark of this boot kept")
	}
}

func TestAttack42_BootAndCameUpCarryTheMarkersThroughAKexecBoot(t *testing.T) {
	m := newMachine(t)
	armstate.MarkPending(m.stateDir(), armstate.Marker{BootID: lastBoot, Version: ver})
	put(t, m.proc, "sys/kernel/bootloader_type", "208\n")
	hook.Boot(m.cfg)
	if _, err := os.Stat(filepath.Join(m.stateDir(), armstate.BootingFile)); err != nil {
		t.Fatalf("no booting marker\n%s", m.log)
	}
	hook.CameUp(m.cfg)
	if _, err := os.Stat(filepath.Join(m.stateDir(), armstate.BootingFile)); err == nil {
		t.Fatal("booting marker left after coming up")
	}
	if f, _ := armstate.ReadFailed(m.stateDir()); f != nil {
		t.Fatalf("failure: %+v", f)
	}
}

func TestAttack42_AFirmwareBootAfterAnArmedQuickRestartSwitchesItOff(t *testing.T) {
	m := newMachine(t)
	armstate.MarkPending(m.stateDir(), armstate.Marker{BootID: lastBoot, Version: ver})
	put(t, m.proc, "sys/kernel/bootloader_type", "114\n") // GRUB
	r := hook.Boot(m.cfg)
	f, _ := armstate.ReadFailed(m.stateDir())
	if f == nil || !strings.Contains(r.Why, "firmware") {
		t.Fatalf("%+v %+v", f, r)
	}
}

func BenchmarkHookDecisionToTheRebootCall(b *testing.B) {
	m := newMachine(b).armed(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := hook.Shutdown(m.cfg, "reboot"); !r.Kexec {
			b.Fatal(r.Why)
		}
	}
}
