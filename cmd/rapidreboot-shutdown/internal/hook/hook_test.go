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

	"github.com/rapidreboot/rapidreboot/backend/bootid"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
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
	unloadErr error
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
func (f *fakeSystem) RebootFirmware() error {
	f.event("reboot(RESTART)")
	return nil // the real one does not return when it works
}
func (f *fakeSystem) KexecLoaded() (bool, error) { return f.Fake.Loaded(), f.loadedErr }
func (f *fakeSystem) Unload() error {
	f.event("unload")
	if f.unloadErr != nil {
		return f.unloadErr
	}
	return kexec.Unload(f.Fake)
}
func (f *fakeSystem) ShutdownTarget() string { return f.target }

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
	m.mounts(t, rootMount) // /boot is part of /
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

// Lines of a mountinfo fixture.
const (
	rootMount = "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw"
	bootMount = "31 22 254:2 / /boot rw,relatime shared:9 - ext4 /dev/vda2 rw"
)

// mounts makes the mount table the hook reads (<proc>/self/mountinfo).
func (m *machine) mounts(t testing.TB, lines ...string) {
	t.Helper()
	put(t, m.proc, "self/mountinfo", strings.Join(lines, "\n")+"\n")
}

// armed loads and arms like the helper: pending mark, loaded mark, load,
// arm file.
func (m *machine) armed(t testing.TB) *machine {
	t.Helper()
	m.loadedByTheProduct(t)
	m.writeArm(t)
	return m
}

// loadedByTheProduct is the helper's part before the arm: pending mark,
// loaded mark, load. m.arm is set but not written.
func (m *machine) loadedByTheProduct(t testing.TB) *machine {
	t.Helper()
	plan := m.loadWithoutMark(t)
	if err := armstate.MarkLoaded(m.runDir(), armstate.Marker{BootID: thisBoot, Time: t0, Kernel: plan.Kernel, Version: ver}); err != nil {
		t.Fatal(err)
	}
	return m
}

// loadWithoutMark is what a helper that writes no loaded mark did (before
// the mark existed): pending mark and load; m.arm is set but not written.
func (m *machine) loadWithoutMark(t testing.TB) *bootplan.Plan {
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
	return plan
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

// Issue 15: poweroff and halt never kexec, and a verb this program does
// not know (a later systemd's) is not its to judge: nothing is done and
// nothing is said, even with a Quick Restart armed.
func TestOtherVerbsDoNothingAndSayNothing(t *testing.T) {
	for _, verb := range []string{"poweroff", "halt", "exit", "soft-reboot", "", "REBOOT", "reboot ", "kexec2"} {
		m := newMachine(t).armed(t)
		r := hook.Shutdown(m.cfg, verb)
		m.wantEvents(t, "")
		if r.Kexec || r.Firmware || !m.sys.Fake.Loaded() || m.log.String() != "" {
			t.Fatalf("verb %q: %+v, log %q", verb, r, m.log)
		}
	}
}

// Issue 15 Required 1: "reboot" and "kexec" get the same checks. systemd
// ≥ 255 turns a plain `systemctl reboot` with an image loaded into the
// verb "kexec"; whatever the hook refuses on one verb it refuses on the
// other. A good image: on "reboot" the hook kexecs, on "kexec" it leaves
// the kexec to systemd-shutdown, which runs it after every hook.
func TestBothVerbsGetTheSameChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, m *machine)
		why  string // "" for an image that passes
	}{
		{"a valid arm", func(t *testing.T, m *machine) {}, ""},
		{"expired", func(t *testing.T, m *machine) {
			m.cfg.Now = func() time.Time { return t0.Add(armstate.DefaultTTL + time.Second) }
		}, "expired"},
		{"from another boot", func(t *testing.T, m *machine) {
			m.arm.BootID = lastBoot
			m.writeArm(t)
		}, "another boot"},
		{"loaded by the product, never armed (the helper stopped between load and arm)", func(t *testing.T, m *machine) {
			armstate.Clear(m.runDir())
		}, "not armed"},
		{"an arm of format 1, without ctimes", func(t *testing.T, m *machine) {
			m.arm.Format = 1
			m.writeArm(t)
		}, "format"},
		{"kernel replaced after arming", func(t *testing.T, m *machine) {
			hosttest.File(t, m.root, "/boot/vmlinuz-new", "MZ kernel "+ver)
			os.Rename(filepath.Join(m.root, "boot/vmlinuz-new"), filepath.Join(m.root, "boot/vmlinuz-"+ver))
		}, "changed since it was loaded"},
		{"kernel rewritten in place, mtime set back", func(t *testing.T, m *machine) {
			hosttest.RewriteInPlace(t, m.root, "/boot/vmlinuz-"+ver, "MZ evil!! "+ver)
		}, "changed since it was loaded"},
		{"dracut exitrd", func(t *testing.T, m *machine) {
			put(t, m.run, "initramfs/shutdown", "#!/bin/sh\n")
		}, "initramfs/shutdown"},
		{"kexec state unreadable", func(t *testing.T, m *machine) {
			m.sys.loadedErr = errors.New("EIO")
		}, "cannot tell"},
	} {
		for _, verb := range []string{"reboot", "kexec"} {
			t.Run(verb+"/"+tc.name, func(t *testing.T) {
				m := newMachine(t).armed(t)
				tc.make(t, m)
				r := hook.Shutdown(m.cfg, verb)
				switch {
				case tc.why != "":
					m.declined(t, r)
					m.wantEvents(t, "unload")
					if !strings.Contains(r.Why, tc.why) {
						t.Fatalf("why = %q, want %q in it", r.Why, tc.why)
					}
				case verb == "reboot":
					m.wantEvents(t, "sync,reboot(KEXEC)")
				default:
					m.wantEvents(t, "")
					if !r.Handed || !m.sys.Fake.Loaded() || !strings.Contains(m.log.String(), "checked") {
						t.Fatalf("a good image was not left to systemd's kexec: %+v\n%s", r, m.log)
					}
				}
			})
		}
	}
}

// Issue 15: an image the product did not load (root's own kexec -s -l, no
// arm, no loaded mark) is left alone on every verb, by --verify and at
// boot (a soft-reboot keeps it), and the product says nothing about it.
func TestRootsOwnImageIsLeftAloneAndUnmentioned(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(c hook.Config) hook.Result
	}{
		{"hook, verb reboot", func(c hook.Config) hook.Result { return hook.Shutdown(c, "reboot") }},
		{"hook, verb kexec", func(c hook.Config) hook.Result { return hook.Shutdown(c, "kexec") }},
		{"--verify of a reboot", hook.Verify},
		{"--boot after a soft-reboot", hook.Boot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			m.sys.target = "reboot"
			m.sys.Fake.SetLoaded(true) // kexec -s -l by root
			r := tc.run(m.cfg)
			m.wantEvents(t, "")
			if !m.sys.Fake.Loaded() || r.Unloaded || r.Kexec || r.Firmware {
				t.Fatalf("root's image was touched: %+v", r)
			}
			if m.log.String() != "" {
				t.Fatalf("the product spoke about an image that is not its own:\n%s", m.log)
			}
		})
	}
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
	m.mounts(t, rootMount, bootMount)
	os.RemoveAll(filepath.Join(m.root, "boot")) // /boot unmounted by systemd-shutdown
	m.mounts(t, rootMount)
	m.declined(t, hook.Shutdown(m.cfg, "reboot"))

	m = newMachine(t).armed(t)
	m.mounts(t, rootMount, bootMount)
	if r := hook.Verify(m.cfg); !strings.Contains(r.Why, "checked") {
		t.Fatalf("verify: %+v\n%s", r, m.log)
	}
	os.RemoveAll(filepath.Join(m.root, "boot"))
	m.mounts(t, rootMount)
	r := hook.Shutdown(m.cfg, "reboot")
	m.wantEvents(t, "sync,reboot(KEXEC)")
	if !r.Kexec || !strings.Contains(m.log.String(), "/boot is unmounted") {
		t.Fatalf("%+v\n%s", r, m.log)
	}
}

// Issue 12 item 8: a kernel file missing at the very end, after --verify
// passed, is taken for an unmounted /boot only when the mount table says
// so: the file's directory was on a separate mount at the check and that
// mount is gone now. Removed from a /boot that is part of / (or from a
// /boot still mounted), it was removed: no kexec, on either verb.
func TestAKernelRemovedAfterVerifyIsNotTakenForAnUnmountedBoot(t *testing.T) {
	for _, tc := range []struct {
		name         string
		atVerify     []string // the mount table at --verify
		atHook       []string // and at the very end
		removeBoot   bool     // the whole /boot gone from view (unmounted) rather than one file
		kexec        bool
		why, logLine string
	}{
		{name: "/boot part of /, kernel removed", atVerify: []string{rootMount}, atHook: []string{rootMount},
			why: "root file system"},
		{name: "separate /boot still mounted, kernel removed", atVerify: []string{rootMount, bootMount}, atHook: []string{rootMount, bootMount},
			why: "/boot is still mounted"},
		{name: "separate /boot unmounted", atVerify: []string{rootMount, bootMount}, atHook: []string{rootMount}, removeBoot: true,
			kexec: true, logLine: "/boot is unmounted"},
		{name: "mount table unreadable at the end", atVerify: []string{rootMount, bootMount}, atHook: nil, removeBoot: true,
			why: "mount table"},
		{name: "mount table unreadable at --verify", atVerify: nil, atHook: []string{rootMount}, removeBoot: true,
			why: "recorded no mount"},
	} {
		for _, verb := range []string{"reboot", "kexec"} {
			t.Run(verb+"/"+tc.name, func(t *testing.T) {
				m := newMachine(t).armed(t)
				mountinfo := filepath.Join(m.proc, "self/mountinfo")
				os.Remove(mountinfo)
				if tc.atVerify != nil {
					m.mounts(t, tc.atVerify...)
				}
				if r := hook.Verify(m.cfg); !strings.Contains(r.Why, "checked") {
					t.Fatalf("verify: %+v\n%s", r, m.log)
				}
				if tc.removeBoot {
					os.RemoveAll(filepath.Join(m.root, "boot"))
				} else {
					os.Remove(filepath.Join(m.root, "boot/vmlinuz-"+ver))
				}
				os.Remove(mountinfo)
				if tc.atHook != nil {
					m.mounts(t, tc.atHook...)
				}
				r := hook.Shutdown(m.cfg, verb)
				if !tc.kexec {
					m.declined(t, r)
					if !strings.Contains(r.Why, tc.why) {
						t.Fatalf("why = %q, want %q in it", r.Why, tc.why)
					}
					return
				}
				if r.Unloaded || !m.sys.Fake.Loaded() || !(r.Kexec || r.Handed) || !strings.Contains(m.log.String(), tc.logLine) {
					t.Fatalf("%+v\n%s", r, m.log)
				}
			})
		}
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
	bootID, err := bootid.Read("/proc")
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

func TestBootDropsAStaleArmAndTheProductsImage(t *testing.T) {
	m := newMachine(t).armed(t) // as after a soft-reboot: /run and the image survive
	r := hook.Boot(m.cfg)
	if !r.Unloaded || m.sys.Fake.Loaded() {
		t.Fatalf("%+v", r)
	}
	if _, err := armstate.Read(m.runDir()); !errors.Is(err, armstate.ErrNotArmed) {
		t.Fatal("stale arm kept")
	}
	if armstate.Ours(m.runDir()) {
		t.Fatal("the loaded mark outlived the unload")
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

// Issue 15: --verify on a restart with an image the product loaded and
// no arm (the helper stopped between the load and the arm) unloads it
// and forgets it, so that no path can kexec it later.
func TestVerifyUnloadsAnImageOfTheProductsThatIsNotArmed(t *testing.T) {
	for _, target := range []string{"reboot", "kexec", ""} {
		t.Run(target, func(t *testing.T) {
			m := newMachine(t).loadedByTheProduct(t)
			m.sys.target = target
			r := hook.Verify(m.cfg)
			m.dropped(t, r)
			m.wantEvents(t, "unload")
			if !strings.Contains(r.Why, "not armed") || armstate.Ours(m.runDir()) {
				t.Fatalf("%+v, ours after the unload: %v", r, armstate.Ours(m.runDir()))
			}
		})
	}
}

// Issue 15: a failed unload leaves the image the product's. The arm goes
// (what was cancelled must never pass a later check) but the loaded mark
// stays, written if the arm was the only sign, so the hook at the end
// still declines the image and tries again; on the verb "kexec", where
// systemd would execute what could not be unloaded, the hook restarts
// through the firmware itself.
func TestAFailedUnloadKeepsTheImageTheProducts(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(m *machine) hook.Result
	}{
		{"--verify cancelling an expired arm", func(m *machine) hook.Result {
			m.cfg.Now = func() time.Time { return t0.Add(time.Hour) }
			return hook.Verify(m.cfg)
		}},
		{"--verify of a power-off", func(m *machine) hook.Result {
			m.sys.target = "poweroff"
			return hook.Verify(m.cfg)
		}},
		{"--boot after a soft-reboot", func(m *machine) hook.Result { return hook.Boot(m.cfg) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			m.loadWithoutMark(t) // the arm is the only sign
			m.writeArm(t)
			m.sys.unloadErr = unix.EBUSY
			tc.run(m)
			if !armstate.Ours(m.runDir()) {
				t.Fatalf("after a failed unload the image is no longer the product's\n%s", m.log)
			}
			if _, err := armstate.Read(m.runDir()); !errors.Is(err, armstate.ErrNotArmed) {
				t.Fatalf("a cancelled arm was kept: %v", err)
			}
			// The very end, on both verbs.
			m.sys.unloadErr = nil
			m.cfg.Now = func() time.Time { return t0.Add(time.Minute) }
			for _, verb := range []string{"reboot", "kexec"} {
				m.sys.Fake.SetLoaded(true)
				r := hook.Shutdown(m.cfg, verb)
				if !r.Unloaded || r.Kexec || r.Handed || m.sys.Fake.Loaded() {
					t.Fatalf("verb %s: %+v\n%s", verb, r, m.log)
				}
			}
		})
	}
}

func TestAnImageTheHookCannotUnloadOnTheKexecVerbIsAFirmwareReboot(t *testing.T) {
	for _, verb := range []string{"reboot", "kexec"} {
		t.Run(verb, func(t *testing.T) {
			m := newMachine(t).armed(t)
			m.cfg.Now = func() time.Time { return t0.Add(time.Hour) } // expired
			m.sys.unloadErr = unix.EBUSY
			r := hook.Shutdown(m.cfg, verb)
			if verb == "reboot" {
				// systemd-shutdown reboots through the firmware after the
				// hooks whatever is loaded.
				m.wantEvents(t, "unload")
				if r.Firmware || r.Kexec {
					t.Fatalf("%+v", r)
				}
				return
			}
			m.wantEvents(t, "unload,sync,reboot(RESTART)")
			if !r.Firmware || !strings.Contains(m.log.String(), "firmware") {
				t.Fatalf("%+v\n%s", r, m.log)
			}
		})
	}
}

func TestParseMountinfoKeepsDevicesAndUnescapedMountPoints(t *testing.T) {
	in := "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n" +
		"31 22 254:2 / /boot rw,relatime shared:9 - ext4 /dev/vda2 rw\n" +
		"40 31 0:50 / /boot/my\\040efi rw - vfat /dev/vda3 rw\n" +
		"41 22 0:51 / /bootstrap rw - tmpfs tmpfs rw\n"
	ms, err := hook.ParseMountinfo([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ms); got != "[{254:1 /} {254:2 /boot} {0:50 /boot/my efi} {0:51 /bootstrap}]" {
		t.Fatal(got)
	}
	for p, want := range map[string]string{
		"/boot":             "/boot",
		"/boot/grub":        "/boot",
		"/boot/my efi/EFI":  "/boot/my efi",
		"/bootstrap/x":      "/bootstrap",
		"/bootx":            "/",
		"/usr/lib/../../bo": "/",
	} {
		if got := hook.MountOf(ms, p); got != want {
			t.Errorf("MountOf(%q) = %q, want %q", p, got, want)
		}
	}
	if !hook.Mounted(ms, "/boot") || hook.Mounted(ms, "/efi") {
		t.Error("Mounted")
	}
	for _, bad := range []string{"", "22 1 254:1 / / rw\n", "22 1 254:1 / /a\\04 rw shared:1 - ext4 /dev/vda1 rw", "22 1 254:1 / relative rw shared:1 - ext4 /dev/vda1 rw"} {
		if _, err := hook.ParseMountinfo([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte(rootMount + "\n" + bootMount + "\n"))
	f.Add([]byte("1 1 0:1 / /a\\134\\040b rw - x y rw\n"))
	f.Add([]byte("1 1 0:1 / /a\\9 rw - x y rw\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := hook.ParseMountinfo(b)
		if err == nil && len(ms) == 0 {
			t.Fatal("no mounts and no error")
		}
		for _, m := range ms {
			if !strings.HasPrefix(m.Point, "/") {
				t.Fatalf("relative mount point %q", m.Point)
			}
		}
	})
}
