// Package helper is rapidreboot-helper's mechanism: GetPlan, Arm, Disarm,
// QuickRestart, Prepare/Unprepare (prepare.go) and the Armed state, with polkit asked about every caller
// and every decision logged. export.go puts it on the bus; this file knows
// nothing of D-Bus messages.
//
// Trust: no method takes an argument. The caller is its unique bus name
// (polkit "system-bus-name" subject; its uid from the bus daemon, for the
// log and the multiple-sessions rule); everything acted on is computed here
// from root-owned files. Any error while identifying or authorising denies.
//
// The steps that touch the kernel and the state files (prepare, load,
// arm, disarm, restore) are backend/system/arming's, shared with `rapidrebootctl
// --root`; this file adds who may ask, the queue, the expiry timer and the
// Armed property.
//
// Concurrency: godbus runs every call in its own goroutine. Operations that
// change the kernel's or the disk's state (arm, disarm, expiry) run one at a
// time in the order they were asked for (a ticket queue). Concurrent Arms
// share one flight: one load, one plan for all (attack list row 5). A
// Disarm asked while a load is in flight cancels it: when the Disarm
// returns, nothing is loaded and Armed is false (row 6).
package helper

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/arming"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/restartkind"
)

// Authorizer asks polkit; polkit.Authority is the real one.
type Authorizer interface {
	Check(ctx context.Context, sender, action string, details map[string]string, interactive bool) error
}

// Users names a caller's uid from its unique bus name (the bus daemon's
// GetConnectionUnixUser).
type Users interface {
	UnixUser(ctx context.Context, sender string) (uint32, error)
}

// Logind is what the helper asks logind; logind.Manager is the real one.
type Logind interface {
	OtherUsersSessions(ctx context.Context, uid uint32) (bool, error)
	ShutdownBlocker(ctx context.Context) (*logind.Inhibitor, error)
	ListInhibitors(ctx context.Context) ([]logind.Inhibitor, error)
	RebootWithFlags(ctx context.Context, flags uint64) error
	Reboot(ctx context.Context, interactive bool) error
}

// Loader loads and unloads kernels; kexec.Loader is the real one.
type Loader interface {
	Load(p *bootplan.Plan) (kexec.Image, error)
	Unload() error
	Verify(img kexec.Image) error
}

// Config is everything the helper reads and calls. Fields marked optional
// may be nil.
type Config struct {
	Auth   Authorizer
	Users  Users
	Logind Logind
	Loader Loader

	// Plan computes the boot plan for the running system
	// (bootplan.Compute with the live command line).
	Plan func() (*bootplan.Plan, error)
	// Preflight is preflight.Check for the running system.
	Preflight func() error
	// Warnings are preflight.Warnings (optional).
	Warnings func() []string
	// Loaded reads kexec_loaded (kexecstate.Loaded).
	Loaded func() (bool, error)
	// TimeSaved gathers what a Quick Restart saves on this machine
	// (boottime.Live.Gather) for GetTimeSaved (optional: no figures).
	TimeSaved func(ctx context.Context) boottime.Report
	// ShuttingDown asks whether the system is shutting down, beyond the
	// PrepareForShutdown signal the helper watches itself (optional).
	ShuttingDown func(ctx context.Context) bool
	// DelayShutdown takes logind's "delay" inhibitor on shutdown and
	// returns its release; held from the start of a load until the arm
	// is written or abandoned (delay.go; optional).
	DelayShutdown func(ctx context.Context) (release func(), err error)
	// WatchCaller calls gone (once, in its own goroutine) when sender's
	// unique name leaves the bus, until stop is called: a prepared image
	// is unloaded when its caller goes (prepare.go; optional: nil leaves
	// it to PrepareTTL).
	WatchCaller func(ctx context.Context, sender string, gone func()) (stop func(), err error)

	ArmDir   string // armstate.RunDir
	StateDir string // armstate.StateDir
	BootID   string
	TTL      time.Duration // armstate.DefaultTTL when 0

	Log *Logger
	Now func() time.Time // time.Now when nil

	// Issue 16 (soft.go). SoftProbe says whether the running systemd can
	// soft-reboot: nil error means yes; the string is its version
	// (softreboot.Probe). Gather reads the pending changes
	// (restartkind.Gather of "/"). DebianColdFlag is kexec-tools'
	// /no-kexec-reboot, honoured like the coldreboot flag. All optional:
	// nil or "" means no soft restart, nothing pending, no Debian flag.
	SoftProbe      func(ctx context.Context) (string, error)
	Gather         func() restartkind.Gathered
	DebianColdFlag string

	// Issue 16 (softafter.go). Sessions names a caller's logind session
	// and follows it to its end, for SoftRestartAfterLogout (optional:
	// nil refuses it as soft-no-session). SoftDeadline is how long such a
	// schedule waits for the session's end (SoftDeadline when 0).
	Sessions     SessionTracker
	SoftDeadline time.Duration
}

// Helper is the mechanism. Make it with New.
type Helper struct {
	cfg  Config
	mech *arming.Mechanism
	// prepareTTL is PrepareTTL; a test shortens it (export_prepare_test.go)
	// before the first Prepare.
	prepareTTL time.Duration

	mu     sync.Mutex
	cond   *sync.Cond
	next   uint64 // next ticket to hand out
	serve  uint64 // ticket allowed to run
	gen    uint64 // bumped by every Disarm: flights from before it are cancelled
	flight *flight
	armed  *armstate.State
	timer  *time.Timer

	// The image Prepare loaded and nobody armed yet (prepare.go).
	prep    *prepared
	prepSeq uint64

	// activity, for the idle exit
	calls    int
	lastCall time.Time

	shutdown   bool // PrepareForShutdown(true) seen
	restarting bool // our own reboot was asked for

	plans   planShare            // GetPlan's computations, shared
	advices share[busapi.Advice] // GetAdvice's, shared (soft.go)

	saved savedCache // GetTimeSaved's, one at a time

	onArmed []func(bool)
	ready   chan struct{} // closed when the restore is done; nil: none reserved

	// The soft restart waiting for its session's end (softafter.go).
	soft   softSlot
	onSoft []func(bool)
}

// OnArmed adds f to be told every change of Armed, and of the armed
// kernel while armed (ArmedVersion), in order, outside the helper's lock.
func (h *Helper) OnArmed(f func(bool)) {
	h.mu.Lock()
	h.onArmed = append(h.onArmed, f)
	h.mu.Unlock()
}

type flight struct {
	done chan struct{}
	plan busapi.Plan
	err  error
	// The caller that started the flight: the arm is written for it,
	// and only while it is still on the bus (callerStillThere).
	sender string
	uid    uint32
}

// New returns a helper; call Restore before serving.
func New(cfg Config) *Helper {
	if cfg.TTL <= 0 {
		cfg.TTL = armstate.DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = DiscardLogger()
	}
	if cfg.SoftDeadline <= 0 {
		cfg.SoftDeadline = SoftDeadline
	}
	cfg.Preflight = coldPreflight(cfg.ArmDir, cfg.DebianColdFlag, cfg.Preflight)
	h := &Helper{cfg: cfg, prepareTTL: PrepareTTL}
	h.mech = arming.New(arming.Config{
		Loader:          cfg.Loader,
		Loaded:          cfg.Loaded,
		Plan:            cfg.Plan,
		Preflight:       cfg.Preflight,
		Warnings:        cfg.Warnings,
		ShutdownBlocker: h.shutdownBlocker,
		RunDir:          cfg.ArmDir,
		StateDir:        cfg.StateDir,
		BootID:          cfg.BootID,
		TTL:             cfg.TTL,
		Now:             cfg.Now,
		Log:             cfg.Log,
	})
	h.cond = sync.NewCond(&h.mu)
	h.lastCall = cfg.Now()
	return h
}

// opTimeout bounds one operation's calls that change something (the
// reboot request); queryTimeout the questions asked on the way (the
// caller's uid, sessions, inhibitors), which must leave room within the
// caller's own D-Bus timeout (25 s by default).
const (
	opTimeout    = 30 * time.Second
	queryTimeout = 5 * time.Second
)

// Refusal kinds, one per D-Bus error name of busapi.
var (
	errCancelled = errors.New("the Quick Restart was cancelled by a Disarm while its kernel was being loaded")
)

// CallError is a refusal or failure with the D-Bus error name it gets.
type CallError struct {
	Name string // busapi.ErrNotAuthorized, …
	Err  error  // carries the reason code
}

func (e *CallError) Error() string { return e.Err.Error() }
func (e *CallError) Unwrap() error { return e.Err }

func refuse(name string, err error) error { return &CallError{Name: name, Err: err} }

// ---- activity (idle exit) ----

func (h *Helper) begin() {
	h.waitReady()
	h.mu.Lock()
	h.calls++
	h.lastCall = h.cfg.Now()
	h.mu.Unlock()
}

func (h *Helper) end() {
	h.mu.Lock()
	h.calls--
	h.lastCall = h.cfg.Now()
	h.mu.Unlock()
}

// Idle reports whether the helper may exit: nothing armed, nothing in
// progress, and no call for at least d.
func (h *Helper) Idle(d time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.armed == nil && h.prep == nil && !h.soft.pending() && h.calls == 0 && h.flight == nil && h.next == h.serve &&
		h.cfg.Now().Sub(h.lastCall) >= d
}

// Armed reports whether a Quick Restart is armed.
func (h *Helper) Armed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.armed != nil
}

// ArmedVersion is the armed kernel's version, "" when nothing is armed:
// what the next restart starts, for a dialog opened later to say. It is
// the version of a file in /boot, which every user may read anyway.
func (h *Helper) ArmedVersion() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return versionOf(h.armed)
}

func versionOf(st *armstate.State) string {
	if st == nil {
		return ""
	}
	return st.Plan.Version
}

// ---- the ticket queue ----

func (h *Helper) ticketLocked() uint64 {
	t := h.next
	h.next++
	return t
}

func (h *Helper) waitTurn(t uint64) {
	h.mu.Lock()
	for h.serve != t {
		h.cond.Wait()
	}
	h.mu.Unlock()
}

func (h *Helper) doneTurn() {
	h.mu.Lock()
	h.serve++
	h.cond.Broadcast()
	h.mu.Unlock()
}

// ---- GetPlan ----

// GetPlan returns the plan and whether Quick Restart can be armed now. It
// never fails: what prevents a Quick Restart is in the plan's Reason.
// Concurrent GetPlans share one computation (share.go).
//
// The command line comes from root-only files (Debian's grub.cfg is 0600)
// and may hold secrets (iSCSI or NFS credentials), so only root and
// callers polkit allows quick-restart without asking (the seat's user, by
// default) get the whole plan; anyone else gets the kernel, its version,
// availability and the reason (mayReadPlan, redact).
func (h *Helper) GetPlan(ctx context.Context, sender string) busapi.Plan {
	h.begin()
	defer h.end()
	wire := h.plans.do(func() busapi.Plan {
		_, wire, _ := h.prepare(ctx)
		return wire
	})
	h.logCall(ctx, "GetPlan", sender, wire)
	if !h.mayReadPlan(ctx, sender) {
		return redact(wire)
	}
	return wire
}

// mayReadPlan: root, or polkit says yes to quick-restart without
// interaction. Any failure to decide is a no.
func (h *Helper) mayReadPlan(ctx context.Context, sender string) bool {
	uctx, ucancel := context.WithTimeout(ctx, queryTimeout)
	uid, err := h.cfg.Users.UnixUser(uctx, sender)
	ucancel()
	if err != nil {
		return false
	}
	if uid == 0 {
		return true
	}
	// A question on the way, not a decision: a slow polkit withholds the
	// command line rather than holding up the plan.
	pctx, pcancel := context.WithTimeout(ctx, queryTimeout)
	defer pcancel()
	return h.cfg.Auth.Check(pctx, sender, busapi.ActionQuickRestart, nil, false) == nil
}

// WithheldWhy is the one Why line of a plan given to a caller who may not
// see the command line.
const WithheldWhy = busapi.WithheldWhy

// redact keeps what any local user can see anyway (the files in /boot,
// the inhibitors) and drops the command line and every line that may
// quote it or the boot loader's configuration: Why (dropped one-shot
// tokens, root= from fstab, encrypted volumes, menu entries) and Warnings.
func redact(w busapi.Plan) busapi.Plan {
	return busapi.Plan{
		Kernel:    w.Kernel,
		Version:   w.Version,
		Initrds:   w.Initrds,
		Source:    w.Source,
		Why:       []string{WithheldWhy},
		Warnings:  []string{},
		Available: w.Available,
		Reason:    w.Reason,
		Detail:    w.Detail,
	}
}

// prepare runs, in order, preflight, the plan and logind's inhibitors
// (arming.Prepare), and returns the plan, its wire form, and the first
// reason it cannot be armed. It is GetPlan's and the advice's shared
// answer, for callers whose restart goes through their own session
// manager (the dialog, the GNOME extension): a session manager's own
// block, whoever's, does not make it unavailable; Arm decides that for
// its caller (arming.Via).
func (h *Helper) prepare(ctx context.Context) (*bootplan.Plan, busapi.Plan, error) {
	prep := h.mech.Prepare(ctx, arming.Via{SessionManager: true, AnyUser: true})
	return prep.Plan, wireOf(prep), prep.Unavailable
}

// shutdownBlocker names logind's block inhibitor on shutdown, "" for
// none, passing over a session manager's own block where via says so.
func (h *Helper) shutdownBlocker(ctx context.Context, via arming.Via) (string, error) {
	ii, err := h.cfg.Logind.ListInhibitors(ctx)
	if err != nil {
		return "", err
	}
	b := logind.FirstBlockerExcept(ii, func(i logind.Inhibitor) bool {
		return i.SessionManagers() && via.Passes(i.UID)
	})
	if b == nil {
		return "", nil
	}
	return b.Name(), nil
}

// wireOf is a preparation as GetPlan and Arm answer it.
func wireOf(prep arming.Prepared) busapi.Plan {
	wire := toWire(prep.Plan)
	wire.Warnings = append(wire.Warnings, prep.Warnings...)
	if prep.Unavailable != nil {
		wire.Available = false
		wire.Reason = reason.CodeOf(prep.Unavailable)
		wire.Detail = reason.DetailOf(prep.Unavailable)
	} else {
		wire.Available = true
	}
	return wire
}

func toWire(p *bootplan.Plan) busapi.Plan {
	if p == nil {
		return busapi.Plan{Initrds: []string{}, Why: []string{}, Warnings: []string{}}
	}
	w := busapi.Plan{
		Kernel:   p.Kernel,
		Version:  p.Version,
		Initrds:  append([]string{}, p.Initrd...),
		Cmdline:  p.Cmdline,
		Source:   p.Source,
		Why:      append([]string{}, p.Why...),
		Warnings: append([]string{}, p.Warnings...),
	}
	return w
}

// ---- authorisation ----

// callerUID names the caller's uid. A failure is a refusal, logged.
func (h *Helper) callerUID(ctx context.Context, method, sender string) (uint32, error) {
	uctx, ucancel := context.WithTimeout(ctx, queryTimeout)
	uid, err := h.cfg.Users.UnixUser(uctx, sender)
	ucancel()
	if err != nil {
		h.cfg.Log.Decision(method, sender, -1, "", "refused: cannot identify the caller: "+err.Error())
		return 0, refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "cannot identify the caller", err))
	}
	return uid, nil
}

// othersLoggedIn says whether users other than uid have sessions. Not
// knowing is taken as "others are logged in": the stricter action, never
// the looser one.
func (h *Helper) othersLoggedIn(ctx context.Context, uid uint32) bool {
	lctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	others, err := h.cfg.Logind.OtherUsersSessions(lctx, uid)
	return err != nil || others
}

// mayReboot asks polkit logind's own actions for this reboot (reboot, or
// reboot-multiple-sessions), for the caller's bus-name subject, as if it
// asked logind itself: the helper's RebootWithFlags comes from root, which
// logind does not ask polkit about, so no door of the product may widen
// who may restart. Never reboot-ignore-inhibit: no door of the product
// overrides a block inhibitor (Quick Restart is unavailable while one is
// held, naming it — but for the caller's own session manager's on its way,
// arming.Via, which that session manager drops itself after asking — and
// every reboot it asks for honours them), so asking
// for it would only turn "Backup is copying" into a password prompt.
func (h *Helper) mayReboot(ctx context.Context, method, sender string, uid uint32, others, interactive bool) error {
	for _, la := range logind.RebootActions(others, false) {
		if err := h.cfg.Auth.Check(ctx, sender, la, nil, interactive); err != nil {
			if reason.CodeOf(err) == reason.NotAuthorized {
				err = reason.Wrap(reason.RestartNotAllowed, "", err)
			}
			h.cfg.Log.Decision(method, sender, int64(uid), la, "refused: "+err.Error())
			return refuse(authErrName(err), err)
		}
	}
	return nil
}

// authorize names the caller's uid, picks the polkit action and asks
// polkit. Every failure is a refusal, logged with what is known.
func (h *Helper) authorize(ctx context.Context, method, sender string, interactive bool) (uint32, error) {
	uid, err := h.callerUID(ctx, method, sender)
	if err != nil {
		return 0, err
	}
	others := h.othersLoggedIn(ctx, uid)
	action := busapi.ActionQuickRestart
	if others {
		action = busapi.ActionQuickRestartMultipleSessions
	}
	if err := h.cfg.Auth.Check(ctx, sender, action, nil, interactive); err != nil {
		h.cfg.Log.Decision(method, sender, int64(uid), action, "refused: "+err.Error())
		return uid, refuse(authErrName(err), err)
	}
	// Quick Restart must not widen who may restart: the caller must also
	// pass logind's own check for this reboot.
	if err := h.mayReboot(ctx, method, sender, uid, others, interactive); err != nil {
		return uid, err
	}
	// polkit's yes may come long after the question (a password, a slow
	// polkitd): a caller that left meanwhile gets nothing, whatever
	// polkitd made of its vanished name (CVE-2021-3560).
	if err := h.stillThere(ctx, sender, uid); err != nil {
		h.cfg.Log.Decision(method, sender, int64(uid), action, "refused: "+err.Error())
		return uid, err
	}
	h.cfg.Log.Decision(method, sender, int64(uid), action, "authorized")
	return uid, nil
}

// authErrName is the D-Bus error of a polkit refusal: a no is
// NotAuthorized; polkit absent, hung or broken is a failure to decide,
// refused as Failed so that the person reads what went wrong instead of
// "not allowed".
func authErrName(err error) string {
	switch reason.CodeOf(err) {
	case reason.NotAuthorized, reason.RestartNotAllowed:
		return busapi.ErrNotAuthorized
	case reason.AuthenticationRequired:
		return busapi.ErrAuthenticationRequired
	}
	return busapi.ErrFailed
}

// errCallerLeft: the caller's unique name is gone from the bus, or is no
// longer its uid's (unique names are never reused, so the second cannot
// happen with a conforming bus daemon; it is checked anyway).
var errCallerLeft = errors.New("the caller left the bus")

// stillThere asks the bus daemon whether sender still owns its unique
// name with uid. Any failure to know is a no.
func (h *Helper) stillThere(ctx context.Context, sender string, uid uint32) error {
	uctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	now, err := h.cfg.Users.UnixUser(uctx, sender)
	if err != nil {
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, errCallerLeft.Error(), fmt.Errorf("%w: %w", errCallerLeft, err)))
	}
	if now != uid {
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, errCallerLeft.Error(), fmt.Errorf("%w: %s is now uid %d, was %d", errCallerLeft, sender, now, uid)))
	}
	return nil
}

// callerStillThere is checked just before the arm is written: the caller
// that started the flight must still be on the bus with its uid, or the
// load is undone. (The loading may take seconds; the caller may be gone.)
func (h *Helper) callerStillThere() error {
	h.mu.Lock()
	f := h.flight
	h.mu.Unlock()
	if f == nil {
		return refuse(busapi.ErrFailed, reason.New(reason.Internal, "no caller to arm for"))
	}
	return h.stillThere(context.Background(), f.sender, f.uid)
}

// ---- Arm ----

// Arm authorises sender, then loads the plan and arms. interactive is
// whether the caller's message allowed interactive authorisation.
func (h *Helper) Arm(ctx context.Context, sender string, interactive bool) (busapi.Plan, error) {
	h.begin()
	defer h.end()
	uid, err := h.authorize(ctx, "Arm", sender, interactive)
	if err != nil {
		return busapi.Plan{}, err
	}
	// The dialog and the GNOME extension arm, then ask the session manager.
	plan, err := h.arm(uid, sender, true)
	h.logResult("Arm", sender, uid, plan, err)
	return plan, err
}

func (h *Helper) logResult(method, sender string, uid uint32, p busapi.Plan, err error) {
	switch {
	case err != nil:
		h.cfg.Log.Decision(method, sender, int64(uid), "", "failed: "+err.Error())
	case method == "Arm" || method == "QuickRestart":
		h.cfg.Log.Decision(method, sender, int64(uid), "", fmt.Sprintf("armed: Linux %s (%s)", p.Version, p.Kernel))
	}
}

// arm joins the flight in progress or starts one for sender. viaSM: the
// restart will be asked of the caller's own session manager (arming.Via).
func (h *Helper) arm(uid uint32, sender string, viaSM bool) (busapi.Plan, error) {
	h.mu.Lock()
	if f := h.flight; f != nil {
		h.mu.Unlock()
		<-f.done
		return f.plan, f.err
	}
	f := &flight{done: make(chan struct{}), sender: sender, uid: uid}
	h.flight = f
	gen := h.gen
	t := h.ticketLocked()
	h.mu.Unlock()

	h.waitTurn(t)
	f.plan, f.err = h.doArm(gen, uid, sender, viaSM)
	h.mu.Lock()
	h.flight = nil
	h.mu.Unlock()
	h.doneTurn()
	close(f.done)
	return f.plan, f.err
}

func (h *Helper) cancelled(gen uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gen != gen
}

func (h *Helper) current() *armstate.State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.armed
}

// doArm runs in its turn: arming.Arm, with a Disarm that came in during
// the load calling the arm off just before it is written (row 6).
func (h *Helper) doArm(gen uint64, uid uint32, sender string, viaSM bool) (busapi.Plan, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	// Whatever this Arm does, a prepared image is armed now, replaced by
	// this Arm's own load, or no longer wanted (prepare.go).
	defer h.afterArm()
	if h.cancelled(gen) {
		return busapi.Plan{}, refuse(busapi.ErrFailed, reason.Wrap(reason.LoadFailed, "cancelled", errCancelled))
	}
	// A restart asked while this runs waits for the arm (delay.go).
	defer h.holdShutdown()()
	cur := h.current()
	st, prep, err := h.mech.Arm(ctx, cur, arming.Request{
		UID:               uid,
		ViaSessionManager: viaSM,
		BeforeArm:         func() error { return h.beforeArm(gen) },
		// This caller's own prepared image, if any: only the arm is left
		// to write when the plan and the files are still those.
		Loaded: h.preparedFor(sender, uid),
	})
	if st != cur {
		h.setArmed(st)
	}
	if err != nil {
		var ue *arming.UnavailableError
		var ce *CallError
		switch {
		case errors.As(err, &ue):
			return busapi.Plan{}, refuse(busapi.ErrUnavailable, ue.Err)
		case errors.As(err, &ce):
			return busapi.Plan{}, err
		}
		return busapi.Plan{}, refuse(busapi.ErrFailed, err)
	}
	return wireOf(prep), nil
}

// afterArm, in an Arm's turn: with an arm in place the prepared image
// became it (or was replaced by the arm's own load); without one, a
// prepared image still loaded is unloaded — the Arm was refused or failed,
// and an unarmed image must not wait for its bound.
func (h *Helper) afterArm() {
	if h.current() != nil {
		h.forgetPrepared()
		return
	}
	h.dropPreparedNow("the Arm did not go ahead")
}

// beforeArm is the helper's last word before arming writes the arm, the
// kernel loaded (or, for a renewal, the arm about to be rewritten): an
// error calls the arm off, and arming undoes the load. A Disarm that came
// in during the load cancels it (row 6).
func (h *Helper) beforeArm(gen uint64) error {
	if h.cancelled(gen) {
		return refuse(busapi.ErrFailed, reason.Wrap(reason.LoadFailed, "cancelled", errCancelled))
	}
	// A caller that left the bus while polkit decided, or during the
	// load, gets nothing (issue 12 item 2).
	return h.callerStillThere()
}

// disarmNow is arming's Disarm, and Armed false: whatever failed, no Quick
// Restart follows (the arm file is gone; a failed unload keeps only the
// loaded mark, for the shutdown hook to unload the image).
func (h *Helper) disarmNow() error {
	h.forgetPrepared()
	err := h.mech.Disarm()
	h.setArmed(nil)
	return err
}

// setArmed records st (nil: disarmed), restarts the expiry timer, and
// tells OnArmed when Armed or the armed kernel changed.
func (h *Helper) setArmed(st *armstate.State) {
	h.mu.Lock()
	was, wasVersion := h.armed != nil, versionOf(h.armed)
	h.armed = st
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	if st != nil {
		d := st.ExpiresAt.Sub(h.cfg.Now())
		expiresAt := st.ExpiresAt
		h.timer = time.AfterFunc(max(d, 0), func() { h.expire(expiresAt) })
	}
	fs := h.onArmed
	h.mu.Unlock()
	if now := st != nil; now != was || versionOf(st) != wasVersion {
		for _, f := range fs {
			f(now)
		}
	}
}

// expire disarms the arm that expires at expiresAt, if it is still the
// current one. While the system shuts down the arm is left to the hook,
// which checks the expiry itself.
func (h *Helper) expire(expiresAt time.Time) {
	defer h.takeTurn()()
	cur := h.current()
	if cur == nil || !cur.ExpiresAt.Equal(expiresAt) {
		return
	}
	if h.ShuttingDown(context.Background()) {
		h.cfg.Log.Info("the arm expired while the system is shutting down; leaving it to the shutdown hook")
		return
	}
	if err := h.disarmNow(); err != nil {
		h.cfg.Log.Err("the Quick Restart into Linux %s expired; cannot disarm: %v", cur.Plan.Version, err)
		return
	}
	h.cfg.Log.Notice("the Quick Restart into Linux %s expired unused; disarmed and unloaded", cur.Plan.Version)
}

// ---- Disarm ----

// Disarm unloads and disarms; a load in flight is cancelled. It is allowed
// to root, to the uid that armed (or is arming), and to callers polkit
// allows quick-restart without asking: anyone else (nobody, an ssh user)
// must not cancel another user's Quick Restart. It also drops a soft
// restart waiting for its session's end (softafter.go): Disarm is "no
// restart of the product's is pending", whichever kind.
func (h *Helper) Disarm(ctx context.Context, sender string) error {
	h.begin()
	defer h.end()
	uctx, ucancel := context.WithTimeout(ctx, queryTimeout)
	u, err := h.cfg.Users.UnixUser(uctx, sender)
	ucancel()
	if err != nil {
		h.cfg.Log.Decision("Disarm", sender, -1, "", "refused: cannot identify the caller: "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "cannot identify the caller", err))
	}
	uid := int64(u)
	if action, err := h.mayDisarm(ctx, sender, u); err != nil {
		h.cfg.Log.Decision("Disarm", sender, uid, action, "refused: "+err.Error())
		return refuse(authErrName(err), err)
	}
	h.dropSoft("Disarm", sender, u)
	err = h.disarm()
	if err != nil {
		h.cfg.Log.Decision("Disarm", sender, uid, "", "failed: "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, err.Error(), err))
	}
	h.cfg.Log.Decision("Disarm", sender, uid, "", "disarmed")
	return nil
}

// mayDisarm returns nil when uid may disarm, and the polkit action it
// asked about, if any.
func (h *Helper) mayDisarm(ctx context.Context, sender string, uid uint32) (string, error) {
	if uid == 0 {
		return "", nil
	}
	h.mu.Lock()
	own := (h.armed != nil && h.armed.UID == uid) || (h.flight != nil && h.flight.uid == uid) ||
		(h.prep != nil && h.prep.uid == uid) || (h.soft.cur != nil && h.soft.cur.uid == uid)
	h.mu.Unlock()
	if own {
		return "", nil
	}
	return busapi.ActionQuickRestart, h.cfg.Auth.Check(ctx, sender, busapi.ActionQuickRestart, nil, false)
}

func (h *Helper) disarm() error {
	h.mu.Lock()
	h.gen++
	inFlight := h.flight != nil
	t := h.ticketLocked()
	h.mu.Unlock()
	if inFlight {
		h.cfg.Log.Info("a Disarm cancels the Arm in flight")
	}
	h.waitTurn(t)
	defer h.doneTurn()
	return h.disarmNow()
}

// ---- QuickRestart ----

// QuickRestart arms, then asks logind for a clean reboot that honours
// block inhibitors; the armed shutdown hook turns that reboot into a kexec.
// If logind refuses, nothing stays armed.
func (h *Helper) QuickRestart(ctx context.Context, sender string, interactive bool) error {
	h.begin()
	defer h.end()
	uid, err := h.authorize(ctx, "QuickRestart", sender, interactive)
	if err != nil {
		return err
	}
	// The helper asks logind itself: no session manager asks anyone, so
	// its block counts here.
	plan, err := h.arm(uid, sender, false)
	if err == nil {
		// logind is asked to restart for this caller: it must still be
		// there (the arm may have been another caller's flight).
		err = h.stillThere(ctx, sender, uid)
		if err != nil {
			if derr := h.disarm(); derr != nil {
				h.cfg.Log.Err("cannot disarm for a caller that left: %v", derr)
			}
		}
	}
	if err != nil {
		h.logResult("QuickRestart", sender, uid, plan, err)
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	h.mu.Lock()
	h.restarting = true
	h.mu.Unlock()
	// RebootWithFlags(0x01); on systemd < 248, Reboot after its own look
	// for a block inhibitor (root's Reboot ignores them there).
	err = logind.RebootCleanly(lctx, h.cfg.Logind)
	if err != nil {
		h.mu.Lock()
		h.restarting = false
		h.mu.Unlock()
		derr := h.disarm()
		h.cfg.Log.Decision("QuickRestart", sender, int64(uid), "", "logind refused the reboot, disarmed: "+err.Error())
		if derr != nil {
			h.cfg.Log.Err("cannot disarm after the refused reboot: %v", derr)
		}
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "the reboot was refused: "+err.Error(), err))
	}
	h.cfg.Log.Decision("QuickRestart", sender, int64(uid), "", fmt.Sprintf("rebooting into Linux %s (%s)", plan.Version, plan.Kernel))
	return nil
}

// ---- shutdown and start ----

// SetShutdown records logind's PrepareForShutdown.
func (h *Helper) SetShutdown(v bool) {
	h.mu.Lock()
	h.shutdown = v
	if !v {
		// The shutdown was cancelled: our own reboot request is over too,
		// and the arm expires as usual again.
		h.restarting = false
	}
	h.mu.Unlock()
	h.cfg.Log.Info("logind: PrepareForShutdown(%v)", v)
}

// ShuttingDown reports whether the system is on its way down.
func (h *Helper) ShuttingDown(ctx context.Context) bool {
	h.mu.Lock()
	v := h.shutdown || h.restarting
	h.mu.Unlock()
	if v {
		return true
	}
	if h.cfg.ShuttingDown != nil {
		return h.cfg.ShuttingDown(ctx)
	}
	return false
}

// Stop is for SIGTERM: an arm is dropped unless the system is shutting
// down, in which case it is what the shutdown hook needs.
func (h *Helper) Stop(ctx context.Context) {
	if !h.Armed() {
		if h.Prepared() && !h.ShuttingDown(ctx) {
			// Not armed: the next start would unload it anyway (Restore),
			// but nobody may start the helper before a restart.
			done := h.takeTurn()
			h.dropPreparedNow("the helper is stopping")
			done()
		}
		return
	}
	if h.ShuttingDown(ctx) {
		h.cfg.Log.Info("stopping while the system shuts down; the arm stays for the shutdown hook")
		return
	}
	if err := h.disarm(); err != nil {
		h.cfg.Log.Err("stopping: cannot disarm: %v", err)
		return
	}
	h.cfg.Log.Notice("stopping while armed and the system is not shutting down: disarmed and unloaded")
}

// Restore picks up the state an earlier run of the helper left
// (arming.Restore): a valid arm of this boot is kept (with its remaining
// time); anything else of the product's — an expired or damaged arm, an
// image it loaded that nobody armed, a stale pending mark — is removed,
// because systemctl reboot would kexec such an image. An image root loaded
// itself is left alone.
func (h *Helper) Restore() error { return h.ReserveRestore()() }

// ReserveRestore reads the earlier state at once, without changing
// anything, so that Armed is right before the object is exported, and
// returns the function that does the clean-up. In between, the helper
// owns its name (activation delivers the first call as soon as it does):
// calls wait until the clean-up is done, and a second helper that cannot
// own the name never touches anything.
func (h *Helper) ReserveRestore() func() error {
	h.mu.Lock()
	t := h.ticketLocked()
	ready := make(chan struct{})
	h.ready = ready
	h.mu.Unlock()
	cleanup := h.inspect()
	return func() error {
		defer close(ready)
		h.waitTurn(t)
		defer h.doneTurn()
		return cleanup()
	}
}

// waitReady waits for the restore, if one was reserved.
func (h *Helper) waitReady() {
	h.mu.Lock()
	r := h.ready
	h.mu.Unlock()
	if r != nil {
		<-r
	}
}

func (h *Helper) inspect() func() error {
	st, cleanup := h.mech.Restore()
	if st != nil {
		h.setArmed(st)
	}
	return cleanup
}
