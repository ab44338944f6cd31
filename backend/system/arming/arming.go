// Package arming is Quick Restart's one arming mechanism: the steps that
// touch the kernel's kexec state and the state files, written once and
// used by both rapidreboot-helper (backend/system/helper, behind D-Bus and
// polkit) and `rapidrebootctl --root DIR` (in process, as root, for an
// installer's target). It knows nothing of D-Bus, polkit or callers: who
// may arm is decided before it is called, and the caller's bus, logger and
// logind are reached only through the functions in Config.
//
// # API
//
//   - New(Config) *Mechanism.
//   - Prepare(ctx, Via) Prepared: preflight, the plan, logind's block
//     inhibitors on shutdown (Config.ShutdownBlocker; Via says whether the
//     caller's own session manager's block counts), in that order; the
//     plan, extra warnings, and the first reason it cannot be armed now.
//   - Arm(ctx, cur, Request) (*armstate.State, Prepared, error): Prepare,
//     then either renew cur (same kernel, initrds and command line, still
//     loaded, files unchanged: only the clock restarts) or, in order: the
//     pending mark (the target's /var/lib/rapidreboot), the loaded mark
//     (/run/rapidreboot/loaded), the load (Config.Loader), Request.BeforeArm,
//     the arm (/run/rapidreboot/arm). Any failure after the pending mark
//     undoes what was done (see Ownership). A reason found by Prepare is an
//     *UnavailableError and changes nothing.
//   - Load(ctx, prev, Via) (*Loaded, Prepared, error): Arm without the arm
//     (issue 16's Prepare): the pending mark, the loaded mark, the load.
//     The image is the product's from the first moment, so the hook, Disarm
//     and Restore unload it; nothing executes it until an Arm is written.
//     Request.Loaded hands it to Arm, which then only writes the arm when
//     the plan, the files and kexec_loaded still agree, and loads afresh
//     otherwise.
//   - Request.BeforeArm func() error: the caller's hook, called after the
//     load (or before a renewal is written) and just before the arm file
//     is written. Its error undoes the load (unload, marks cleared; a
//     renewal is left as it was) and is returned as it is. The helper
//     cancels an Arm there when a Disarm came in during the load, and
//     checks that the caller is still on the bus.
//   - Disarm() error: unload (only the product's image), remove the arm,
//     the loaded mark (only after an unload that worked) and the pending mark.
//   - Restore() (*armstate.State, func() error): at start-up, read what an
//     earlier run left without changing anything; return the arm to keep
//     and the clean-up to run once the caller may act.
//   - Current() (*armstate.State, error): the arm on disk, if valid now.
//
// A Mechanism holds no lock: its methods must not run concurrently (the
// helper runs them one at a time in its ticket queue; rapidrebootctl is
// one call of one process).
//
// # Ownership
//
// The product unloads only an image it loaded, never root's own
// `kexec -s -l` image. An image is the product's when
// armstate.Ours(RunDir): an arm or a loaded mark exists. The loaded mark is
// written before kexec_file_load and removed only after an unload that
// worked, so an image loaded but not (yet, or any more) armed is still
// known to be the product's — to Disarm, to Restore, and to the shutdown
// hook, which unloads a product image without a valid arm. Disarm,
// expiry (the helper's timer calls Disarm) and Restore leave any other
// loaded image alone. A failed load keeps whatever the kernel had: an
// earlier image of the product's is then dropped (nothing stays armed),
// root's is left.
//
// # A failed unload
//
// Disarm whose unload fails removes the arm anyway and keeps the loaded
// mark, and returns the error. The arm must go: it is what the hook would
// kexec into, and the person asked for a normal restart. The loaded mark
// must stay: it tells the hook (and the next Restore) that the image still
// loaded is the product's, so the hook unloads it before systemd could
// kexec it (systemd ≥ 255 kexecs any loaded image on `systemctl
// reboot`); an arm without a loaded mark (made before marks existed) gets
// one before it goes. So the helper's Armed becomes false — no Quick
// Restart will happen — while the state the hook needs is still there.
//
// # Confinement
//
// The pending mark lives in the planned system's state directory
// (StateDir inside StateRoot): "/" for the helper, an installer's /target
// for `rapidrebootctl --root`. It is opened with every path component
// resolved inside StateRoot (armstate.OpenDirIn, openat2 RESOLVE_IN_ROOT),
// so an absolute symlink in the target never leads a write onto the
// running system (attack list row 44). The arm and the loaded mark are the
// running system's (/run/rapidreboot), whoever planned.
package arming

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
)

// Loader loads and unloads kernels; kexec.Loader is the real one.
type Loader interface {
	Load(p *bootplan.Plan) (kexec.Image, error)
	Unload() error
	Verify(img kexec.Image) error
}

// Logger is where the mechanism says what it did on its own (start-up
// clean-up, undoing a failed arm); *helper.Logger is one. Nil logs nothing.
type Logger interface {
	Info(format string, a ...any)
	Notice(format string, a ...any)
	Warning(format string, a ...any)
	Err(format string, a ...any)
}

// Config is what the mechanism reads and calls. Fields marked optional may
// be left zero.
type Config struct {
	Loader Loader
	// Loaded reads kexec_loaded (kexecstate.Loaded).
	Loaded func() (bool, error)
	// Plan computes the boot plan (bootplan.Compute with LiveOptions for
	// the running system, the zero Options for another root).
	Plan func() (*bootplan.Plan, error)
	// Preflight is preflight.Check.
	Preflight func() error
	// Warnings are preflight.Warnings (optional).
	Warnings func() []string
	// ShutdownBlocker names the program that holds a block inhibitor on
	// shutdown, "" for none (logind's ShutdownBlocker; optional: nil asks
	// nobody), passing over the session manager's own block when via says
	// the restart goes through it. An error only costs the early warning:
	// logind enforces inhibitors at reboot time anyway.
	ShutdownBlocker func(ctx context.Context, via Via) (string, error)

	// RunDir is the running system's armstate.RunDir: the arm and the
	// loaded mark.
	RunDir string
	// StateRoot is the root of the system the plan is for ("/" when empty)
	// and StateDir its state directory as that system sees it
	// (armstate.StateDir); the pending mark goes there, resolved inside
	// StateRoot.
	StateRoot, StateDir string

	BootID string
	TTL    time.Duration    // armstate.DefaultTTL when 0
	Now    func() time.Time // time.Now when nil
	Log    Logger           // optional
}

// queryTimeout bounds the inhibitor question, which must leave room
// within a D-Bus caller's own timeout (25 s by default).
const queryTimeout = 5 * time.Second

// Mechanism arms, disarms and restores. Make it with New.
type Mechanism struct{ cfg Config }

// New returns the mechanism for cfg.
func New(cfg Config) *Mechanism {
	if cfg.TTL <= 0 {
		cfg.TTL = armstate.DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StateRoot == "" {
		cfg.StateRoot = "/"
	}
	if cfg.Log == nil {
		cfg.Log = discard{}
	}
	return &Mechanism{cfg: cfg}
}

type discard struct{}

func (discard) Info(string, ...any)    {}
func (discard) Notice(string, ...any)  {}
func (discard) Warning(string, ...any) {}
func (discard) Err(string, ...any)     {}

// TTL is how long an arm stays valid.
func (m *Mechanism) TTL() time.Duration { return m.cfg.TTL }

// ---- Prepare ----

// Prepared is what Prepare found.
type Prepared struct {
	// Plan is nil when none could be computed.
	Plan *bootplan.Plan
	// Warnings come after Plan.Warnings: preflight's, and an inhibitor
	// question that could not be asked.
	Warnings []string
	// Unavailable is the first reason a Quick Restart cannot be armed now
	// (a *reason.Error as a rule), nil when it can.
	Unavailable error
}

// UnavailableError is Arm's refusal for a reason Prepare found; nothing
// was changed.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Via is how the restart after a preparation will be asked for, which
// decides one inhibitor question: whether a session manager's own block
// on shutdown (logind.Inhibitor.SessionManagers: an application of the
// session has unsaved work) keeps Quick Restart off offer.
//
// Through the caller's own session manager (the dialog, the GNOME
// extension: Arm, then the session manager's Reboot) it does not: that
// session manager asks its user in its own end-session dialog, naming the
// application, and drops its block only when the user goes on — a cancel
// there disarms. Refusing would only take Quick Restart away from everyone
// with an open draft. Everywhere else (QuickRestart, where the helper asks
// logind itself; rapidrebootctl --root) it does: nobody would be asked.
// The block of another user's session manager always counts: that user is
// not asked.
type Via struct {
	// SessionManager: the restart is asked of the caller's own session
	// manager.
	SessionManager bool
	// UID is the caller; its session manager's block is passed.
	UID uint32
	// AnyUser is for an answer shared between callers (GetPlan, the
	// advice): a session manager's block of any user is passed, and Arm,
	// which knows the caller, decides.
	AnyUser bool
}

// Passes reports whether a block held by a session manager for uid is
// passed on this way.
func (v Via) Passes(uid uint32) bool {
	return v.SessionManager && (v.AnyUser || v.UID == uid)
}

// Prepare runs, in order, preflight, the plan and the inhibitor question
// (asked for via). It changes nothing.
func (m *Mechanism) Prepare(ctx context.Context, via Via) Prepared {
	pfErr := m.cfg.Preflight()
	p, planErr := m.cfg.Plan()
	if planErr == nil && p == nil {
		planErr = reason.New(reason.KernelMissing, "")
	}
	out := Prepared{Plan: p}
	if m.cfg.Warnings != nil {
		out.Warnings = append(out.Warnings, m.cfg.Warnings()...)
	}
	switch {
	case pfErr != nil:
		out.Unavailable = pfErr
	case planErr != nil:
		out.Unavailable = planErr
	case m.cfg.ShutdownBlocker != nil:
		lctx, cancel := context.WithTimeout(ctx, queryTimeout)
		who, err := m.cfg.ShutdownBlocker(lctx, via)
		cancel()
		switch {
		case err != nil:
			// logind is the one that enforces inhibitors at reboot time;
			// not seeing them here only loses the early warning.
			out.Warnings = append(out.Warnings, "cannot list the programs that block restarting: "+err.Error())
		case who != "":
			// An installer holds a block inhibitor while it writes the
			// boot loader (row 44): name it.
			out.Unavailable = reason.New(reason.Inhibited, who)
		}
	}
	return out
}

// ---- Arm ----

// Request is one Arm.
type Request struct {
	// UID is who asked, for the arm (and the log).
	UID uint32
	// ViaSessionManager: the restart will be asked of the caller's own
	// session manager (Via).
	ViaSessionManager bool
	// BeforeArm, when set, is called once the kernel is loaded (or, for a
	// renewal, before the arm is rewritten), just before the arm file is
	// written: the caller's last chance to say no (a Disarm that came in
	// meanwhile; a caller that left the bus). Its error is returned as it
	// is; after a load, the load is undone first (unload, marks cleared),
	// and a renewal is left as it was.
	BeforeArm func() error
	// Loaded, when set, is an image Load put in the kernel for this
	// caller: Arm writes the arm for it without loading again when it is
	// still the plan prepared now, from the same files, and still loaded;
	// otherwise Arm loads as usual, replacing it.
	Loaded *Loaded
}

// Arm prepares, then loads and arms, or renews cur when cur is armed with
// the very plan prepared. cur is the caller's current arm (nil: none).
//
// It returns the arm in place afterwards — the new one; or, on an error,
// cur when nothing was changed, nil when the failure undid everything —
// the preparation, and the error: *UnavailableError for a reason Prepare
// found; the load's own error (with its reason code); BeforeArm's error;
// reason.Internal for a state file that could not be written.
func (m *Mechanism) Arm(ctx context.Context, cur *armstate.State, req Request) (*armstate.State, Prepared, error) {
	prep := m.Prepare(ctx, Via{SessionManager: req.ViaSessionManager, UID: req.UID})
	if prep.Unavailable != nil {
		return cur, prep, &UnavailableError{Err: prep.Unavailable}
	}
	p := prep.Plan
	now := m.cfg.Now()

	// Already armed with this very plan and files: arming again only
	// restarts the clock (the dialog arms right before it asks the session
	// manager, which may take a while).
	if cur != nil && samePlan(&cur.Plan, p) && m.cfg.Loader.Verify(cur.Image) == nil {
		if loaded, err := m.cfg.Loaded(); err == nil && loaded {
			if req.BeforeArm != nil {
				if err := req.BeforeArm(); err != nil {
					return cur, prep, err
				}
			}
			st := *cur
			st.ArmedAt, st.ExpiresAt, st.UID = now, now.Add(m.cfg.TTL), req.UID
			if err := armstate.Write(m.cfg.RunDir, st); err != nil {
				m.drop("cannot renew the arm")
				return nil, prep, reason.Wrap(reason.Internal, "cannot write the arm", err)
			}
			return &st, prep, nil
		}
	}

	// An image Load put there for this caller (the dialog's Prepare, issue
	// 16): when it is still the plan prepared now, from the same files,
	// and still loaded, only the arm is left to write.
	var img kexec.Image
	if l := req.Loaded; l != nil && m.stillLoaded(l, p) {
		img = l.Image
	} else {
		loaded, keep, err := m.load(p, now, cur)
		if err != nil {
			return keep, prep, err
		}
		img = loaded
	}
	if req.BeforeArm != nil {
		if err := req.BeforeArm(); err != nil {
			m.drop("the arm was called off")
			return nil, prep, err
		}
	}
	st := armstate.State{
		Format:    armstate.Format,
		BootID:    m.cfg.BootID,
		ArmedAt:   now,
		ExpiresAt: now.Add(m.cfg.TTL),
		UID:       req.UID,
		Image:     img,
		Plan:      *p,
	}
	if err := armstate.Write(m.cfg.RunDir, st); err != nil {
		m.drop("cannot write the arm")
		return nil, prep, reason.Wrap(reason.Internal, "cannot write the arm", err)
	}
	return &st, prep, nil
}

// load writes the pending mark, the loaded mark, and loads p. On an error
// it returns the arm in place afterwards: cur when nothing was changed,
// nil when the failure undid everything.
func (m *Mechanism) load(p *bootplan.Plan, now time.Time, cur *armstate.State) (kexec.Image, *armstate.State, error) {
	// The pending mark goes first: should the machine go down between the
	// load and the arm, the next boot still learns that a kexec was meant.
	mark := armstate.Marker{BootID: m.cfg.BootID, Time: now, Kernel: p.Kernel, Version: p.Version}
	if err := m.markPending(mark); err != nil {
		return kexec.Image{}, cur, reason.Wrap(reason.Internal, "cannot record the pending Quick Restart", err)
	}
	// Whether an image loaded now is the product's, before the loaded mark
	// says so: decides what a failed load leaves.
	wasOurs := armstate.Ours(m.cfg.RunDir)
	if err := armstate.MarkLoaded(m.cfg.RunDir, mark); err != nil {
		m.undo(wasOurs, "cannot write the loaded mark")
		return kexec.Image{}, nil, reason.Wrap(reason.Internal, "cannot record the load", err)
	}
	img, err := m.cfg.Loader.Load(p)
	if err != nil {
		// The kernel keeps its earlier image when a load fails: the
		// product's is dropped (nothing stays armed), root's is left.
		m.undo(wasOurs, "load failed")
		return kexec.Image{}, nil, err
	}
	return img, nil, nil
}

// ---- Load: an image loaded, not armed (issue 16) ----

// Loaded is an image Load put in the kernel without an arm: the plan it
// was loaded for and the files' identities (kexec.Image records dev, ino,
// size, mtime and ctime of the kernel and every initrd, and the command
// line).
type Loaded struct {
	Image kexec.Image
	Plan  bootplan.Plan
	At    time.Time
}

// Load prepares, then writes the pending mark and the loaded mark and
// loads the plan — everything Arm does but the arm. The image is the
// product's (the loaded mark) from before the load, so the shutdown hook
// unloads it on both verbs, Restore at the next start, and Disarm on
// request; nothing executes it unless an Arm follows.
//
// prev is the image an earlier Load left (nil: none); when it is still the
// plan prepared now, from the same files, and still loaded, it is returned
// as it is and nothing is loaded again. The caller must not Load while
// armed: an armed image is never replaced by an unarmed one.
//
// Errors are Arm's: *UnavailableError for a reason Prepare found (nothing
// changed), the load's own (everything undone), reason.Internal for a
// mark that could not be written (undone).
func (m *Mechanism) Load(ctx context.Context, prev *Loaded, via Via) (*Loaded, Prepared, error) {
	prep := m.Prepare(ctx, via)
	if prep.Unavailable != nil {
		return nil, prep, &UnavailableError{Err: prep.Unavailable}
	}
	p := prep.Plan
	if prev != nil && m.stillLoaded(prev, p) {
		return prev, prep, nil
	}
	now := m.cfg.Now()
	img, _, err := m.load(p, now, nil)
	if err != nil {
		return nil, prep, err
	}
	return &Loaded{Image: img, Plan: *p, At: now}, prep, nil
}

// stillLoaded: l was loaded for the plan p (same kernel, initrds and
// command line), its files are the ones loaded (Loader.Verify: a kernel
// replaced since, even in place, fails), and kexec_loaded is 1.
func (m *Mechanism) stillLoaded(l *Loaded, p *bootplan.Plan) bool {
	if !samePlan(&l.Plan, p) || m.cfg.Loader.Verify(l.Image) != nil {
		return false
	}
	loaded, err := m.cfg.Loaded()
	return err == nil && loaded
}

// samePlan compares what would be loaded.

func samePlan(a, b *bootplan.Plan) bool {
	return a.Kernel == b.Kernel && a.Version == b.Version && a.Cmdline == b.Cmdline && slices.Equal(a.Initrd, b.Initrd)
}

// undo takes back an Arm that failed before its image was loaded: with an
// earlier image of the product's, everything goes (as drop); otherwise
// whatever is loaded is root's or nothing, and only the marks go.
func (m *Mechanism) undo(wasOurs bool, why string) {
	if wasOurs {
		m.drop(why)
		return
	}
	if err := errors.Join(armstate.ClearLoaded(m.cfg.RunDir), m.clearPending()); err != nil {
		m.cfg.Log.Err("cannot clean up after %s: %v", why, err)
	}
}

// drop disarms after a failure. Errors are logged: the caller is already
// failing for another reason.
func (m *Mechanism) drop(why string) {
	if err := m.Disarm(); err != nil {
		m.cfg.Log.Err("cannot clean up after %s: %v", why, err)
	}
}

// ---- Disarm ----

// Disarm unloads the product's image and removes the arm, the loaded mark
// and the pending mark. An image that is not the product's (root's own
// kexec -s -l; no arm and no loaded mark) is left loaded. When the unload
// fails, the arm and the pending mark are removed all the same (no Quick
// Restart may follow a Disarm) but the loaded mark stays, so that the
// shutdown hook and the next Restore still know the image is the
// product's; the error is returned.
func (m *Mechanism) Disarm() error {
	var errs []error
	unloaded := true
	if armstate.Ours(m.cfg.RunDir) {
		if err := m.cfg.Loader.Unload(); err != nil {
			unloaded = false
			errs = append(errs, fmt.Errorf("%w (the image stays marked as the product's for the shutdown hook)", err))
			// An arm made before loaded marks existed (an older helper,
			// before an upgrade) is the only sign of ownership: it goes
			// below, so the mark must be there first.
			if _, err := os.Lstat(filepath.Join(m.cfg.RunDir, armstate.LoadedFile)); errors.Is(err, fs.ErrNotExist) {
				mk := armstate.Marker{BootID: m.cfg.BootID, Time: m.cfg.Now(), Note: "kept after a failed unload"}
				if err := armstate.MarkLoaded(m.cfg.RunDir, mk); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := armstate.Clear(m.cfg.RunDir); err != nil {
		errs = append(errs, err)
	}
	if unloaded {
		if err := armstate.ClearLoaded(m.cfg.RunDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.clearPending(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ---- the pending mark, confined ----

func (m *Mechanism) markPending(mk armstate.Marker) error {
	d, err := armstate.OpenDirIn(m.cfg.StateRoot, m.cfg.StateDir, true)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.MarkPending(mk)
}

func (m *Mechanism) clearPending() error {
	d, err := armstate.OpenDirIn(m.cfg.StateRoot, m.cfg.StateDir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot remove the pending mark: %w", err)
	}
	defer d.Close()
	return d.ClearPending()
}

// ---- Current and Restore ----

// Current returns the arm on disk when it is valid now, in this boot; nil
// and the reason otherwise (errors.Is(err, armstate.ErrNotArmed) when
// there is none).
func (m *Mechanism) Current() (*armstate.State, error) {
	st, err := armstate.Read(m.cfg.RunDir)
	if err != nil {
		return nil, err
	}
	if err := st.Valid(m.cfg.Now(), m.cfg.BootID); err != nil {
		return nil, err
	}
	return &st, nil
}

// Restore reads the state an earlier run left, without changing anything,
// and returns the arm to keep (nil: none) and the clean-up, to be run once
// the caller may act. A valid arm of this boot whose files are unchanged
// and whose image is still loaded is kept. An expired, damaged or
// other-boot arm is dropped (Disarm). Without an arm, a stale pending mark
// is removed and a product image that nobody armed (the loaded mark) is
// unloaded; an image root loaded (no mark) is left alone.
func (m *Mechanism) Restore() (*armstate.State, func() error) {
	st, err := armstate.Read(m.cfg.RunDir)
	if err == nil {
		verr := st.Valid(m.cfg.Now(), m.cfg.BootID)
		if verr == nil {
			verr = m.cfg.Loader.Verify(st.Image)
		}
		if verr == nil {
			if loaded, lerr := m.cfg.Loaded(); lerr != nil || !loaded {
				verr = errors.New("no kernel is loaded any more")
			}
		}
		if verr == nil {
			m.cfg.Log.Info("kept the arm of an earlier run: Linux %s until %s", st.Plan.Version, st.ExpiresAt.Format(time.RFC3339))
			return &st, func() error { return nil }
		}
		return nil, func() error {
			m.cfg.Log.Notice("dropping the arm of an earlier run: %v", verr)
			return m.Disarm()
		}
	}
	if !errors.Is(err, armstate.ErrNotArmed) {
		return nil, func() error {
			m.cfg.Log.Warning("dropping an arm that cannot be read: %v", err)
			return m.Disarm()
		}
	}
	// Not armed: a pending mark would make the next boot believe a Quick
	// Restart failed; a product image nobody armed would be kexec'd by
	// systemctl reboot (systemd 255+). Root's own image is root's business.
	return nil, func() error {
		var errs []error
		if err := m.clearPending(); err != nil {
			errs = append(errs, err)
		}
		loaded, lerr := m.cfg.Loaded()
		switch {
		case armstate.Ours(m.cfg.RunDir):
			if lerr == nil && loaded {
				m.cfg.Log.Notice("a kexec image the product loaded is not armed: unloading it")
			}
			if err := m.Disarm(); err != nil {
				errs = append(errs, err)
			}
		case lerr == nil && loaded:
			m.cfg.Log.Info("a kexec image is loaded that the product did not load: left alone")
		}
		return errors.Join(errs...)
	}
}
