// Package hook is everything rapidreboot-shutdown decides, as functions
// over an injected System and a fake-able root, so that all of it is tested
// without a reboot. main only wires the real System in.
//
// Modes (docs/reboot-design.md):
//
//	Shutdown(verb)  systemd-shutdown's hook, at the very end of a shutdown:
//	                for "reboot" with a valid arm, the same image still
//	                loaded and the same kernel file: sync, reboot(KEXEC).
//	Verify          ExecStop of rapidreboot-boot.service, early in the
//	                shutdown while /boot is still mounted: check the arm and
//	                the files, wait for dpkg, record the verdict.
//	Boot            early in every boot: drop any arm and image, run the
//	                boot markers.
//	CameUp          after multi-user.target: this boot is good.
package hook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/armstate"
	"github.com/rapidreboot/rapidreboot/backend/host"
	"github.com/rapidreboot/rapidreboot/backend/kexec"
	"github.com/rapidreboot/rapidreboot/backend/preflight"
)

// System is the kernel as the hook needs it.
type System interface {
	// Sync is sync(2).
	Sync()
	// RebootKexec is reboot(LINUX_REBOOT_CMD_KEXEC). It returns only when
	// it failed.
	RebootKexec() error
	// KexecLoaded reads /sys/kernel/kexec_loaded.
	KexecLoaded() (bool, error)
	// Unload unloads the loaded image.
	Unload() error
	// ShutdownTarget names the shutdown systemd is doing ("reboot",
	// "poweroff", "halt", "kexec", "soft-reboot"), or "" when it cannot
	// tell. Only Verify asks; at the hook's time systemd passes the verb.
	ShutdownTarget() string
}

// Logger receives one line per decision. The real one writes /dev/kmsg: by
// the time the hook runs, the journal is gone.
type Logger interface {
	Logf(format string, args ...any)
}

// Config is where the hook looks and how long it waits.
type Config struct {
	Sys System
	Log Logger

	Root string // "/": the boot files and /var/lib/rapidreboot
	Proc string // "/proc"
	Run  string // "/run"
	// OwnerUID is whom boot files must belong to (0; tests: their own uid).
	OwnerUID uint32

	Now  func() time.Time
	PID  int // this process, and its parent: the other hooks are
	PPID int // the parent's other children

	// SiblingWait bounds the wait for the other system-shutdown hooks
	// (they run in parallel with this one); Poll is the polling interval.
	SiblingWait time.Duration
	Poll        time.Duration
	// DpkgWait bounds Verify's wait for a package manager to finish.
	DpkgWait time.Duration
}

// Defaults of Config's durations.
const (
	DefaultSiblingWait = 10 * time.Second
	DefaultPoll        = 50 * time.Millisecond
	DefaultDpkgWait    = 60 * time.Second
)

// Live returns the configuration of the running system around sys and log.
func Live(sys System, log Logger) Config {
	return Config{
		Sys: sys, Log: log,
		Root: "/", Proc: "/proc", Run: "/run",
		Now: time.Now, PID: os.Getpid(), PPID: os.Getppid(),
		SiblingWait: DefaultSiblingWait, Poll: DefaultPoll, DpkgWait: DefaultDpkgWait,
	}
}

func (c Config) runDir() string   { return filepath.Join(c.Run, "rapidreboot") }
func (c Config) stateDir() string { return filepath.Join(c.Root, armstate.StateDir) }
func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log.Logf(format, args...)
	}
}

// Result is what a mode did.
type Result struct {
	Kexec    bool   // reboot(KEXEC) was called (and, since we are here, failed)
	Unloaded bool   // the loaded image was unloaded
	Why      string // the decision, as logged
}

// Shutdown is the systemd-shutdown hook for verb. It returns only when no
// kexec happened; the caller then exits 0 and systemd reboots the normal
// way.
func Shutdown(c Config, verb string) Result {
	if verb != "reboot" {
		// poweroff and halt must not kexec; for "kexec" systemd does it
		// itself with what is loaded. Either way nothing here is ours to do.
		return c.note(Result{}, "verb %q: nothing to do", verb)
	}
	loaded, lerr := c.Sys.KexecLoaded()
	if lerr != nil {
		loaded = true // unknown: unloading is harmless, kexec is not
	}
	st, err := c.validArm()
	if err != nil {
		return c.decline(loaded, "no valid Quick Restart arm (%v): normal reboot", err)
	}
	if lerr != nil {
		return c.decline(loaded, "cannot tell whether an image is loaded (%v): normal reboot", lerr)
	}
	if !loaded {
		return c.note(Result{}, "armed, but no image is loaded: normal reboot")
	}
	if exitrd(c.Run) {
		return c.decline(loaded, "%s exists and a kexec would skip it: normal reboot", filepath.Join(c.Run, "initramfs/shutdown"))
	}
	if err := c.verifyFiles(st); err != nil {
		if !errors.Is(err, fs.ErrNotExist) || !armstate.Verified(c.runDir(), st.Digest()) {
			return c.decline(loaded, "%v: normal reboot", err)
		}
		// A separate /boot is unmounted by now; the stop-time check saw
		// these very files while it was mounted (docs/reboot-design.md).
		c.logf("%s is not reachable (unmounted), relying on the check made while it was mounted", st.Image.Kernel.Path)
	}
	if n := c.waitSiblings(); n > 0 {
		return c.decline(loaded, "%d other shutdown hooks still running after %s: normal reboot, which lets them finish", n, c.SiblingWait)
	}
	c.Sys.Sync()
	c.logf("restarting into %s (%s) by kexec", st.Image.Kernel.Path, st.Image.Version)
	err = c.Sys.RebootKexec()
	if err == nil {
		// Only a fake returns from a kexec that worked.
		return Result{Kexec: true, Why: "kexec"}
	}
	r := c.decline(true, "reboot(LINUX_REBOOT_CMD_KEXEC) failed (%v): normal reboot", err)
	r.Kexec = true
	return r
}

// Verify runs early in the shutdown (ExecStop of rapidreboot-boot.service)
// while /boot is mounted and / writable: it drops an arm that the hook
// would refuse anyway, so the next boot does not take the refusal for a
// failed kexec, waits (bounded) for a package manager to finish (row 34),
// and records that the files were checked, for a /boot that the hook will
// find unmounted.
func Verify(c Config) Result {
	st, err := armstate.Read(c.runDir())
	if errors.Is(err, armstate.ErrNotArmed) {
		return Result{Why: "not armed"}
	}
	loaded, lerr := c.Sys.KexecLoaded()
	if lerr != nil {
		loaded = true
	}
	if err == nil {
		err = c.validState(st)
	}
	if err != nil {
		return c.drop(loaded, "no valid Quick Restart arm (%v)", err)
	}
	if lerr != nil || !loaded {
		return c.drop(loaded, "armed, but no image is loaded")
	}
	switch t := c.Sys.ShutdownTarget(); t {
	case "", "reboot", "kexec":
	default:
		return c.drop(loaded, "this shutdown is a %s, not a restart", t)
	}
	if exitrd(c.Run) {
		return c.drop(loaded, "%s exists and a kexec would skip it", filepath.Join(c.Run, "initramfs/shutdown"))
	}
	if err := c.verifyFiles(st); err != nil {
		return c.drop(loaded, "%v", err)
	}
	if h := c.waitDpkg(); h != nil {
		return c.drop(loaded, "the package manager is still running (%s) after %s", h, c.DpkgWait)
	}
	if err := armstate.WriteVerified(c.runDir(), st.Digest()); err != nil {
		return c.note(Result{}, "cannot record the check: %v", err)
	}
	return c.note(Result{}, "Quick Restart into %s checked", st.Image.Kernel.Path)
}

// Boot runs early in every boot, before anyone can arm: any arm in /run is
// stale (a soft-reboot keeps /run) and any loaded image is nobody's, so
// both go; then the boot markers.
func Boot(c Config) Result {
	var r Result
	if _, err := armstate.Read(c.runDir()); !errors.Is(err, armstate.ErrNotArmed) {
		if err := armstate.Clear(c.runDir()); err != nil {
			c.logf("%v", err)
		} else {
			c.logf("dropped a stale Quick Restart arm")
		}
	}
	if loaded, err := c.Sys.KexecLoaded(); err == nil && loaded {
		if err := c.Sys.Unload(); err != nil {
			c.logf("cannot unload a kexec image left from before this boot: %v", err)
		} else {
			r.Unloaded = true
			c.logf("unloaded a kexec image nobody armed")
		}
	}
	id, err := armstate.BootID(c.Proc)
	if err != nil {
		return c.note(r, "%v", err)
	}
	note, err := armstate.AtBoot(c.stateDir(), id, armstate.DetectBoot(c.Proc), c.now())
	if err != nil {
		return c.note(r, "%v", err)
	}
	if note != "" {
		return c.note(r, "%s", note)
	}
	return r
}

// CameUp runs once this boot reached multi-user.target.
func CameUp(c Config) Result {
	id, err := armstate.BootID(c.Proc)
	if err != nil {
		return c.note(Result{}, "%v", err)
	}
	note, err := armstate.CameUp(c.stateDir(), id)
	if err != nil {
		return c.note(Result{}, "%v", err)
	}
	if note != "" {
		return c.note(Result{}, "%s", note)
	}
	return Result{}
}

func (c Config) validArm() (armstate.State, error) {
	st, err := armstate.Read(c.runDir())
	if err != nil {
		return st, err
	}
	return st, c.validState(st)
}

func (c Config) validState(st armstate.State) error {
	id, err := armstate.BootID(c.Proc)
	if err != nil {
		return err
	}
	return st.Valid(c.now(), id)
}

func (c Config) verifyFiles(st armstate.State) error {
	l := kexec.Loader{Target: host.Target{Root: c.Root, OwnerUID: c.OwnerUID}}
	return l.Verify(st.Image)
}

func exitrd(run string) bool {
	_, err := os.Lstat(filepath.Join(run, "initramfs/shutdown"))
	return err == nil
}

// decline unloads what is loaded so that the normal reboot cannot turn into
// a kexec of something unchecked, whichever systemd runs.
func (c Config) decline(loaded bool, format string, args ...any) Result {
	var r Result
	if loaded {
		if err := c.Sys.Unload(); err != nil {
			c.logf("cannot unload the kexec image: %v", err)
		} else {
			r.Unloaded = true
		}
	}
	return c.note(r, format, args...)
}

// drop is Verify's decline: also forget the arm and its pending mark, so
// the next (firmware) boot knows this was no failed kexec.
func (c Config) drop(loaded bool, format string, args ...any) Result {
	if err := armstate.Clear(c.runDir()); err != nil {
		c.logf("%v", err)
	}
	if err := armstate.ClearPending(c.stateDir()); err != nil {
		c.logf("%v", err)
	}
	return c.decline(loaded, "Quick Restart cancelled: "+format+"; this restart will be a normal one", args...)
}

func (c Config) note(r Result, format string, args ...any) Result {
	r.Why = fmt.Sprintf(format, args...)
	c.logf("%s", r.Why)
	return r
}

// waitDpkg waits up to DpkgWait for the package manager's lock to be free
// and returns its holder if it is still held.
func (c Config) waitDpkg() *preflight.LockHolder {
	env := preflight.Env{Proc: c.Proc, Root: c.Root}
	deadline := time.Now().Add(c.DpkgWait)
	for {
		h, err := preflight.DpkgLockHolder(env)
		if err != nil {
			c.logf("%v", err)
			return nil
		}
		if h == nil || !time.Now().Before(deadline) {
			return h
		}
		time.Sleep(c.poll())
	}
}

func (c Config) poll() time.Duration {
	if c.Poll <= 0 {
		return DefaultPoll
	}
	return c.Poll
}
