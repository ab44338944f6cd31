// Package polkit asks the polkit authority whether a caller on the system
// bus may perform an action, identifying the caller by its unique bus name
// (the "system-bus-name" subject), never by a process id: polkitd then asks
// the bus itself who owns that name, so a caller cannot exec a setuid
// program or recycle a pid to borrow someone else's identity
// (security-background.md; CVE-2013-4288, CVE-2021-3560).
//
// Every outcome but a plain "yes" is a refusal: no, "challenge" (a password
// would be needed and none may or can be asked), polkit absent, a malformed
// reply, or no answer within a bounded time. There is no mode that skips the
// check.
//
// Interface: org.freedesktop.PolicyKit1.Authority, CheckAuthorization
// ((sa{sv}) subject, s action_id, a{ss} details, u flags, s cancellation_id)
// → (bba{ss}) (polkit(8), "The Authority interface").
package polkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// The authority's name on the system bus.
const (
	BusName   = busapi.PolkitBusName
	Path      = busapi.PolkitPath
	Interface = "org.freedesktop.PolicyKit1.Authority"
)

// FlagAllowUserInteraction lets polkit ask the caller's authentication
// agent for a password.
const FlagAllowUserInteraction uint32 = 0x1

// Default time limits. A non-interactive check is a table lookup in
// polkitd; its limit stays under the 25 s a D-Bus caller (and the bus
// daemon) waits for a reply by default, so the caller gets the refusal
// rather than a timeout. An interactive one waits for a person to type a
// password.
const (
	DefaultTimeout            = 20 * time.Second
	DefaultInteractiveTimeout = 5 * time.Minute
)

// Refusals, in the chain of the *reason.Error that Check returns.
var (
	// ErrDenied: polkit said no.
	ErrDenied = errors.New("polkit denied the action")
	// ErrChallenge: polkit wants the caller to authenticate and either
	// interaction was not allowed or no agent could ask.
	ErrChallenge = errors.New("polkit requires authentication")
	// ErrTimeout: polkit did not answer in time.
	ErrTimeout = errors.New("polkit did not answer in time")
)

// Subject is polkit's (sa{sv}) subject.
type Subject struct {
	Kind    string
	Details map[string]dbus.Variant
}

// SystemBusName is the subject for the caller with unique name name.
func SystemBusName(name string) Subject {
	return Subject{Kind: "system-bus-name", Details: map[string]dbus.Variant{"name": dbus.MakeVariant(name)}}
}

// Result is polkit's (bba{ss}) answer.
type Result struct {
	Authorized bool
	Challenge  bool
	Details    map[string]string
}

// Caller is the part of a dbus.BusObject this package uses; tests may
// give their own.
type Caller interface {
	CallWithContext(ctx context.Context, method string, flags dbus.Flags, args ...any) *dbus.Call
}

// Authority asks polkitd.
type Authority struct {
	obj Caller
	// Timeout bounds a check without user interaction,
	// InteractiveTimeout one with.
	Timeout, InteractiveTimeout time.Duration
}

// New returns the authority on conn (the system bus).
func New(conn *dbus.Conn) *Authority {
	return NewWithCaller(conn.Object(BusName, Path))
}

// NewWithCaller returns an authority that calls through obj.
func NewWithCaller(obj Caller) *Authority {
	return &Authority{obj: obj, Timeout: DefaultTimeout, InteractiveTimeout: DefaultInteractiveTimeout}
}

var cancelSeq atomic.Uint64

// Check asks whether the owner of the unique bus name sender may perform
// action. interactive allows polkit to ask for a password; pass it only
// when the caller's own message carried ALLOW_INTERACTIVE_AUTHORIZATION.
//
// It returns nil only for a plain yes. Otherwise a *reason.Error:
// NotAuthorized (ErrDenied), AuthenticationRequired (ErrChallenge), or
// Internal for any failure to get an answer (ErrTimeout, polkit absent,
// malformed reply) — each of which the caller must treat as a refusal.
func (a *Authority) Check(ctx context.Context, sender, action string, details map[string]string, interactive bool) error {
	res, err := a.CheckAuthorization(ctx, SystemBusName(sender), action, details, interactive)
	if err != nil {
		return reason.Wrap(reason.Internal, "cannot check authorization: "+err.Error(), err)
	}
	switch {
	case res.Authorized:
		return nil
	case res.Challenge:
		return reason.Wrap(reason.AuthenticationRequired, "", ErrChallenge)
	default:
		return reason.Wrap(reason.NotAuthorized, "", ErrDenied)
	}
}

// CheckAuthorization is the raw call, bounded by the authority's timeouts.
// When the time is up it asks polkit to cancel the check, so that a
// password dialog does not stay open for an answer nobody waits for.
func (a *Authority) CheckAuthorization(ctx context.Context, subject Subject, action string, details map[string]string, interactive bool) (Result, error) {
	if subject.Kind == "" {
		return Result{}, errors.New("no subject")
	}
	if details == nil {
		details = map[string]string{}
	}
	var flags uint32
	limit := a.Timeout
	if interactive {
		flags |= FlagAllowUserInteraction
		limit = a.InteractiveTimeout
	}
	if limit <= 0 {
		limit = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cancelID := "rapidreboot-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(cancelSeq.Add(1), 10)

	call := a.obj.CallWithContext(cctx, Interface+".CheckAuthorization", 0,
		subject, action, details, flags, cancelID)
	if call.Err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			a.cancel(cancelID)
			return Result{}, fmt.Errorf("%w (%s)", ErrTimeout, limit)
		}
		if ctx.Err() != nil {
			a.cancel(cancelID)
		}
		return Result{}, fmt.Errorf("cannot ask polkit: %w", call.Err)
	}
	var res Result
	if err := call.Store(&res); err != nil {
		return Result{}, fmt.Errorf("cannot read polkit's answer: %w", err)
	}
	return res, nil
}

// cancel tells polkit to drop the check, without waiting for long: the
// refusal stands whatever polkit answers.
func (a *Authority) cancel(id string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.obj.CallWithContext(ctx, Interface+".CancelCheckAuthorization", 0, id).Err
	}()
}
