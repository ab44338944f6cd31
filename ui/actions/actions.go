// Package actions carries out what the user chose in the dialog, without
// GTK: through the session manager, with the helper armed first for Quick
// Restart and disarmed for every normal restart and every failure.
//
// Quick Restart is Arm, then the same restart request as Restart, then a
// wait for the outcome (session.Watch): the session manager may show its
// own prompt ("applications are busy") and the user may cancel there. If
// the shutdown does not begin within the grace period, or the session
// manager says it was cancelled, or any step fails, the helper is
// disarmed and the user told so. The helper's own arm expiry (10 minutes)
// backs this up if the dialog itself is killed before it can disarm. The
// dialog being killed as the session ends is not a reason to disarm: that
// is what a restart in progress looks like.
package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/kexecstate"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// Helper is the part of busapi.Client the runner needs.
type Helper interface {
	Arm(ctx context.Context, interactive bool) (busapi.Plan, error)
	Disarm(ctx context.Context) error
	// SoftRestart restarts userspace only (busapi.Client.SoftRestart).
	SoftRestart(ctx context.Context, interactive bool) error
	// SoftRestartAfterLogout and CancelSoftRestart schedule a soft
	// restart for the end of this session, and call it off
	// (busapi.Client's, soft.go).
	SoftRestartAfterLogout(ctx context.Context, interactive bool) error
	CancelSoftRestart(ctx context.Context) error
}

// Waiter is a started session.Watch.
type Waiter interface {
	Wait(ctx context.Context, grace time.Duration) session.Outcome
	Close()
}

// Runner runs actions. All fields but Progress are required.
type Runner struct {
	Helper  Helper
	Manager session.Manager
	// Watch starts watching for the outcome of a restart request.
	Watch func() (Waiter, error)
	Grace time.Duration
	// KexecLoaded reads /sys/kernel/kexec_loaded; it decides whether a
	// failed Disarm before a normal restart matters.
	KexecLoaded func() (bool, error)
	// Progress, if set, is told what is happening (a translated line).
	Progress func(string)
}

// Result says how an action ended.
type Result struct {
	// Done: the request is on its way; the dialog can quit.
	Done bool
	// Message is the translated sentence to show when not Done.
	Message string
	// Err is the underlying error, for the log.
	Err error
}

// Timeouts per call: Arm may wait for a polkit password prompt.
const (
	armTimeout  = 5 * time.Minute
	callTimeout = 25 * time.Second
)

func (r *Runner) progress(s string) {
	if r.Progress != nil {
		r.Progress(s)
	}
}

// Run carries out a. It blocks; call it off the GTK main thread.
func (r *Runner) Run(ctx context.Context, a model.Action) Result {
	switch a {
	case model.Logout:
		return r.plain(ctx, session.Logout)
	case model.PowerOff:
		return r.plain(ctx, session.PowerOff)
	case model.Suspend:
		return r.plain(ctx, session.Suspend)
	case model.Hibernate:
		return r.plain(ctx, session.Hibernate)
	case model.Restart:
		return r.restart(ctx)
	case model.QuickRestart:
		return r.quick(ctx)
	case model.SoftRestart:
		return r.soft(ctx)
	}
	return Result{Done: true}
}

func (r *Runner) plain(ctx context.Context, a session.Action) Result {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := r.Manager.Do(cctx, a); err != nil {
		return Result{Message: failed(a, err), Err: err}
	}
	return Result{Done: true}
}

func failed(a session.Action, err error) string {
	var s string
	switch a {
	case session.Logout:
		s = i18n.G("Cannot log out: %s")
	case session.PowerOff:
		s = i18n.G("Cannot shut down: %s")
	case session.Reboot:
		s = i18n.G("Cannot restart: %s")
	case session.Suspend:
		s = i18n.G("Cannot suspend: %s")
	default:
		s = i18n.G("Cannot hibernate: %s")
	}
	return fmt.Sprintf(s, plain(err))
}

// Plain gives the most useful words of err for a person: the helper's
// translated sentence, else the bus's message.
func Plain(err error) string { return plain(err) }

func plain(err error) string {
	var ce *busapi.CallError
	if errors.As(err, &ce) {
		return ce.Sentence(i18n.G)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	return msg
}

// restart is a normal restart: disarm first, so that an arm left by an
// earlier Quick Restart cannot turn this one into a kexec.
func (r *Runner) restart(ctx context.Context) Result {
	if err := r.disarm(ctx); err != nil {
		loaded, lerr := r.KexecLoaded()
		if lerr != nil || loaded {
			return Result{Message: fmt.Sprintf(i18n.G("Cannot make sure the next restart is a normal one: %s"), plain(err)), Err: err}
		}
		// No helper, and nothing loaded: nothing could turn this
		// restart into a kexec.
	}
	return r.plain(ctx, session.Reboot)
}

func (r *Runner) disarm(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return r.Helper.Disarm(cctx)
}

func (r *Runner) quick(ctx context.Context) Result {
	w, err := r.Watch()
	if err != nil {
		return Result{Message: fmt.Sprintf(i18n.G("Cannot restart: %s"), plain(err)), Err: err}
	}
	defer w.Close()

	r.progress(i18n.G("Preparing Quick Restart…"))
	actx, cancel := context.WithTimeout(ctx, armTimeout)
	_, err = r.Helper.Arm(actx, true)
	cancel()
	if err != nil {
		// Arm failed: nothing is loaded, normal Restart still works.
		return Result{Message: fmt.Sprintf(i18n.G("Quick Restart is not possible: %s"), plain(err)), Err: err}
	}

	r.progress(i18n.G("Restarting…"))
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	err = r.Manager.Do(cctx, session.Reboot)
	cancel()
	if err != nil {
		return r.undo(ctx, fmt.Sprintf(i18n.G("Cannot restart: %s"), plain(err)), err)
	}
	switch o := w.Wait(ctx, r.Grace); o {
	case session.Proceeding:
		return Result{Done: true}
	default:
		return r.undo(ctx, i18n.G("Quick Restart was cancelled. The next restart will be a normal one."), fmt.Errorf("restart %s", o))
	}
}

// undo disarms after a failed or cancelled Quick Restart and says so; if
// even that fails, the user must know the next restart may still be quick.
func (r *Runner) undo(ctx context.Context, msg string, cause error) Result {
	// A fresh context: ctx may be what was cancelled.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	if err := r.Helper.Disarm(dctx); err != nil {
		return Result{Message: msg + " " + fmt.Sprintf(i18n.G("Undoing the preparation failed (%s), so the next restart may still skip the firmware."), plain(err)), Err: errors.Join(cause, err)}
	}
	return Result{Message: msg, Err: cause}
}

// KexecLoaded reads <sys>/kernel/kexec_loaded ("/sys" on a live system)
// with kexecstate.Loaded, the one reader of that file.
func KexecLoaded(sys string) func() (bool, error) {
	return func() (bool, error) { return kexecstate.Loaded(sys) }
}

// PlanReason turns a GetPlan failure or an unavailable plan into the
// sentence the dialog shows.
func PlanReason(p busapi.Plan, err error) string {
	if err != nil {
		var ce *busapi.CallError
		if errors.As(err, &ce) {
			if strings.HasPrefix(ce.Name, busapi.ErrorPrefix) {
				return ce.Sentence(i18n.G)
			}
			if ce.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || ce.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
				return i18n.G("The Quick Restart service is not installed.")
			}
		}
		return fmt.Sprintf(i18n.G("The Quick Restart service did not answer (%s)."), plain(err))
	}
	if p.Available {
		return ""
	}
	return reason.Sentence(i18n.G, p.Reason, p.Detail)
}
