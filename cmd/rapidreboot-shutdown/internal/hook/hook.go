// Package hook is everything rapidreboot-shutdown decides, as functions
// over an injected System and a fake-able root, so that all of it is tested
// without a reboot. main only wires the real System in.
//
// Modes (docs/reboot-design.md):
//
//	Shutdown(verb)  systemd-shutdown's hook, at the very end of a shutdown:
//	                for "reboot" and "kexec", when the loaded image is the
//	                product's: a valid arm, the same kernel file → kexec
//	                (for "reboot" the hook calls reboot(KEXEC) itself, for
//	                "kexec" systemd-shutdown does once the hooks are done);
//	                anything else → unload, a firmware reboot. An image the
//	                product did not load is not its business.
//	Verify          ExecStop of rapidreboot-boot.service, early in the
//	                shutdown while /boot is still mounted: check the arm and
//	                the files, wait for dpkg, record the verdict.
//	Boot            early in every boot: drop a stale arm and the
//	                product's image, run the boot markers.
//	CameUp          after multi-user.target: this boot is good.
package hook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/bootid"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
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
	// RebootFirmware is reboot(LINUX_REBOOT_CMD_RESTART), the normal
	// reboot systemd would make; it returns only when it failed. Used only
	// when systemd would otherwise kexec an image the hook refused and
	// could not unload.
	RebootFirmware() error
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
	Handed   bool   // verb "kexec": the image passed, systemd-shutdown executes it
	Firmware bool   // reboot(RESTART) was called (and, since we are here, failed)
	Unloaded bool   // the loaded image was unloaded
	Why      string // the decision; logged unless it concerns nothing of the product's
}

// Shutdown is the systemd-shutdown hook for verb. It returns only when no
// kexec was made here; the caller then exits 0 and systemd goes on: for
// "reboot" a firmware reboot, for "kexec" its own `kexec -e` of whatever
// is still loaded (a firmware reboot when nothing is).
//
// Both verbs get the same checks. "kexec" is what systemd ≥ 255 passes for
// a plain `systemctl reboot` with any image loaded (and every systemd for
// `systemctl kexec`); checking only "reboot" would let an unarmed, expired
// or stale image of the product's through on that path (issue 15).
func Shutdown(c Config, verb string) Result {
	switch verb {
	case "reboot", "kexec":
	default:
		// poweroff and halt never kexec, whatever is loaded; a verb this
		// program does not know (a later systemd) is not its to judge.
		// Nothing to do and nothing to say.
		return Result{Why: fmt.Sprintf("verb %q: nothing to do", verb)}
	}
	if !armstate.Ours(c.runDir()) {
		// No arm and no loaded mark: whatever is loaded (root's own
		// kexec -s -l, or nothing) is not the product's. systemd does
		// with it what it does without rapidreboot, and the product says
		// nothing about it.
		return Result{Why: "no kexec image of the product's: nothing to do"}
	}
	loaded, lerr := c.Sys.KexecLoaded()
	if lerr != nil {
		loaded = true // unknown: unloading is harmless, kexec is not
	}
	st, err := c.validArm()
	if errors.Is(err, armstate.ErrNotArmed) {
		return c.decline(verb, loaded, "a kexec image the product loaded is not armed: normal reboot")
	}
	if err != nil {
		return c.decline(verb, loaded, "no valid Quick Restart arm (%v): normal reboot", err)
	}
	if lerr != nil {
		return c.decline(verb, loaded, "cannot tell whether an image is loaded (%v): normal reboot", lerr)
	}
	if !loaded {
		return c.note(Result{}, "armed, but no image is loaded: normal reboot")
	}
	if exitrd(c.Run) {
		return c.decline(verb, loaded, "%s exists and a kexec would skip it: normal reboot", filepath.Join(c.Run, "initramfs/shutdown"))
	}
	if err := c.checkFilesAtTheEnd(st); err != nil {
		return c.decline(verb, loaded, "%v: normal reboot", err)
	}
	if verb == "kexec" {
		// systemd-shutdown waits for every hook (its own bound is longer
		// than ours), switches into a dracut exitrd if there is one, syncs
		// and runs `kexec -e` (shutdown.c, after execute_directories). A
		// kexec from here would cut the other hooks short and skip those
		// steps; leaving the checked image to systemd skips nothing.
		return c.note(Result{Handed: true}, "Quick Restart into %s (%s) checked; systemd-shutdown runs the kexec once every hook is done", st.Image.Kernel.Path, st.Image.Version)
	}
	if n := c.waitSiblings(); n > 0 {
		return c.decline(verb, loaded, "%d other shutdown hooks still running after %s: normal reboot, which lets them finish", n, c.SiblingWait)
	}
	c.Sys.Sync()
	c.logf("restarting into %s (%s) by kexec", st.Image.Kernel.Path, st.Image.Version)
	err = c.Sys.RebootKexec()
	if err == nil {
		// Only a fake returns from a kexec that worked.
		return Result{Kexec: true, Why: "kexec"}
	}
	r := c.decline(verb, true, "reboot(LINUX_REBOOT_CMD_KEXEC) failed (%v): normal reboot", err)
	r.Kexec = true
	return r
}

// checkFilesAtTheEnd re-checks the arm's files at the hook's time. A file
// that is missing is excused only when the stop-time verdict for this arm
// recorded it on a separate mount that the mount table no longer has
// (a /boot unmounted by systemd-shutdown); a file missing from a file
// system that is still mounted was removed (issue 12 item 8).
func (c Config) checkFilesAtTheEnd(st armstate.State) error {
	var verdict *armstate.Verdict
	var mounts []Mount
	for _, ch := range c.loader().VerifyEach(st.Image) {
		if ch.Err == nil {
			continue
		}
		if !errors.Is(ch.Err, fs.ErrNotExist) {
			return ch.Err
		}
		if verdict == nil {
			v, ok := armstate.ReadVerdict(c.runDir(), st.Digest())
			if !ok {
				return fmt.Errorf("%w (and no stop-time check passed for this arm)", ch.Err)
			}
			verdict = &v
		}
		mp := verdict.Mounts[ch.File.Path]
		switch {
		case mp == "":
			return fmt.Errorf("%w (and the stop-time check recorded no mount for it)", ch.Err)
		case mp == "/":
			return fmt.Errorf("%w: removed after the stop-time check (it is on the root file system, which is never unmounted)", ch.Err)
		}
		if mounts == nil {
			m, err := ReadMounts(c.Proc)
			if err != nil {
				return fmt.Errorf("%w, and %w", ch.Err, err)
			}
			mounts = m
		}
		if Mounted(mounts, mp) {
			return fmt.Errorf("%w: removed after the stop-time check (%s is still mounted)", ch.Err, mp)
		}
		// A separate /boot is unmounted by now; the stop-time check saw
		// this very file while it was mounted.
		c.logf("%s is not reachable: %s is unmounted; relying on the check made while it was mounted", ch.File.Path, mp)
	}
	return nil
}

// Verify runs early in the shutdown (ExecStop of rapidreboot-boot.service)
// while /boot is mounted and / writable: it drops an arm that the hook
// would refuse anyway, so the next boot does not take the refusal for a
// failed kexec, waits (bounded) for a package manager to finish (row 34),
// and records that the files were checked, for a /boot that the hook will
// find unmounted.
func Verify(c Config) Result {
	if !armstate.Ours(c.runDir()) {
		// Nothing armed, nothing of the product's loaded: root's own
		// image, if any, is none of its business.
		return Result{Why: "not armed"}
	}
	st, err := armstate.Read(c.runDir())
	loaded, lerr := c.Sys.KexecLoaded()
	if lerr != nil {
		loaded = true
	}
	if errors.Is(err, armstate.ErrNotArmed) {
		// The loaded mark without an arm: the helper stopped between the
		// load and the arm, or a Disarm could not unload.
		return c.drop(loaded, nil, "a kexec image the product loaded is not armed")
	}
	if err == nil {
		err = c.validState(st)
	}
	if err != nil {
		return c.drop(loaded, nil, "no valid Quick Restart arm (%v)", err)
	}
	if lerr != nil || !loaded {
		return c.drop(loaded, &st, "armed, but no image is loaded")
	}
	switch t := c.Sys.ShutdownTarget(); t {
	case "", "reboot", "kexec":
	default:
		return c.drop(loaded, &st, "this shutdown is a %s, not a restart", t)
	}
	if exitrd(c.Run) {
		return c.drop(loaded, &st, "%s exists and a kexec would skip it", filepath.Join(c.Run, "initramfs/shutdown"))
	}
	if err := c.loader().Verify(st.Image); err != nil {
		return c.drop(loaded, &st, "%v", err)
	}
	if h := c.waitDpkg(); h != nil {
		return c.drop(loaded, &st, "the package manager is still running (%s) after %s", h, c.DpkgWait)
	}
	v := armstate.Verdict{Digest: st.Digest(), Mounts: c.fileMounts(st.Image)}
	if err := armstate.WriteVerdict(c.runDir(), v); err != nil {
		return c.note(Result{}, "cannot record the check: %v", err)
	}
	return c.note(Result{}, "Quick Restart into %s checked", st.Image.Kernel.Path)
}

// fileMounts names, for each file of img, the mount point holding its
// directory now, from the mount table. A table that cannot be read gives
// none: the hook then excuses no missing file.
func (c Config) fileMounts(img kexec.Image) map[string]string {
	mounts, err := ReadMounts(c.Proc)
	if err != nil {
		c.logf("%v; a boot file missing at the very end will not be taken for an unmounted /boot", err)
		return nil
	}
	out := map[string]string{}
	for _, id := range append([]kexec.FileID{img.Kernel}, img.Initrds...) {
		p := id.Resolved
		if p == "" {
			p = id.Path
		}
		if mp := MountOf(mounts, path.Dir(p)); mp != "" {
			out[id.Path] = mp
		}
	}
	return out
}

// Boot runs early in every boot, before anyone can arm: any arm in /run is
// stale (a soft-reboot keeps /run) and any loaded image is nobody's, so
// both go; then the boot markers.
func Boot(c Config) Result {
	var r Result
	if armstate.Ours(c.runDir()) {
		// A soft-reboot keeps /run and the loaded image: the product's
		// goes, root's own (no arm, no mark) stays.
		loaded, err := c.Sys.KexecLoaded()
		if err != nil {
			c.logf("%v", err)
			loaded = true
		}
		unloaded := c.unload(loaded, &r, "the kexec image of a Quick Restart from before this boot")
		if r.Unloaded {
			c.logf("unloaded the kexec image of a Quick Restart from before this boot")
		}
		c.forget(unloaded, nil)
		c.logf("dropped a stale Quick Restart arm")
	}
	id, err := bootid.Read(c.Proc)
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
	id, err := bootid.Read(c.Proc)
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
	id, err := bootid.Read(c.Proc)
	if err != nil {
		return err
	}
	return st.Valid(c.now(), id)
}

func (c Config) loader() kexec.Loader {
	return kexec.Loader{Target: host.Target{Root: c.Root, OwnerUID: c.OwnerUID}}
}

func exitrd(run string) bool {
	_, err := os.Lstat(filepath.Join(run, "initramfs/shutdown"))
	return err == nil
}

// decline unloads what is loaded so that the reboot cannot turn into a
// kexec of something unchecked, whichever systemd runs. On the verb
// "kexec" an image that cannot be unloaded would still be executed by
// systemd-shutdown right after the hooks; the hook then makes the firmware
// reboot itself, once the other hooks are done (bounded).
func (c Config) decline(verb string, loaded bool, format string, args ...any) Result {
	var r Result
	if loaded {
		err := c.Sys.Unload()
		if err == nil {
			r.Unloaded = true
			return c.note(r, format, args...)
		}
		c.logf("cannot unload the kexec image: %v", err)
		if verb == "kexec" {
			r = c.note(r, format, args...)
			c.waitSiblings()
			c.Sys.Sync()
			c.logf("restarting through the firmware: systemd would kexec the image it could not unload")
			r.Firmware = true
			if err := c.Sys.RebootFirmware(); err != nil {
				c.logf("reboot(LINUX_REBOOT_CMD_RESTART) failed: %v", err)
			}
			return r
		}
	}
	return c.note(r, format, args...)
}

// unload unloads the kexec image when one is loaded (r.Unloaded says it
// did) and reports whether none is left; a failure is logged naming what.
func (c Config) unload(loaded bool, r *Result, what string) bool {
	if !loaded {
		return true
	}
	if err := c.Sys.Unload(); err != nil {
		c.logf("cannot unload %s: %v", what, err)
		return false
	}
	r.Unloaded = true
	return true
}

// drop is Verify's decline: the Quick Restart is cancelled, and the next
// (firmware) boot must not take it for a failed kexec. st is the arm, when
// there is a readable one.
func (c Config) drop(loaded bool, st *armstate.State, format string, args ...any) Result {
	var r Result
	unloaded := c.unload(loaded, &r, "the kexec image")
	c.forget(unloaded, st)
	if err := armstate.ClearPending(c.stateDir()); err != nil {
		c.logf("%v", err)
	}
	return c.note(r, "Quick Restart cancelled: "+format+"; this restart will be a normal one", args...)
}

// forget removes the arm and its verdict: whatever was cancelled must never
// be kexec'd by a later check that passes. The loaded mark goes only with
// the image: after a failed unload it stays (and is written, should the
// arm have been the only sign), so that the hook at the very end still
// knows the image as the product's, declines it and tries the unload
// again.
func (c Config) forget(unloaded bool, st *armstate.State) {
	if !unloaded && !loadedMark(c.runDir()) {
		m := armstate.Marker{Time: c.now(), Note: "an unload failed; the image is still the product's"}
		if id, err := bootid.Read(c.Proc); err == nil {
			m.BootID = id
		}
		if st != nil {
			m.Kernel, m.Version = st.Image.Kernel.Path, st.Image.Version
		}
		if err := armstate.MarkLoaded(c.runDir(), m); err != nil {
			// The arm stays then: it is the only sign left.
			c.logf("%v; keeping the arm", err)
			return
		}
	}
	if err := armstate.Clear(c.runDir()); err != nil {
		c.logf("%v", err)
	}
	if unloaded {
		if err := armstate.ClearLoaded(c.runDir()); err != nil {
			c.logf("%v", err)
		}
	}
}

func loadedMark(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, armstate.LoadedFile))
	return err == nil
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
