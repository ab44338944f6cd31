package actions

import (
	"context"
	"errors"
	"fmt"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/session"
)

// The load off the critical path (issue 16, "Faster than a bare kexec").
//
// Arm loads the kernel: seconds under emulation, where the kernel hashes
// tens of MB of segments. Asked before the restart request, that time is
// added to every Quick Restart. But the session manager's end-session
// phase (asking the applications, a confirmation, saving) takes time of
// its own, so both start at the click and the restart waits for the load
// only where it must: at logind's PrepareForShutdown, held back by the
// helper's delay inhibitor until the arm is written (backend/helper
// delay.go). docs/reboot-design.md §9 argues the order and its bound.

// asksLogindAtOnce: logind without a session manager starts the shutdown
// the moment it is asked, with no end-session phase to overlap; the helper
// would have to win a race for its inhibitor. There the load goes first,
// as before.
func asksLogindAtOnce(m session.Manager) bool { return m.Name() == "logind" }

// quickOverlapped starts the load and the restart request together and
// waits for both.
func (r *Runner) quickOverlapped(ctx context.Context, w Waiter) Result {
	r.progress(i18n.G("Preparing Quick Restart…"))
	// The load is not cut short by ctx (the user's Cancel): a Disarm does
	// that, inside the helper, so that nothing stays loaded (row 6).
	armc := make(chan error, 1)
	go func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), armTimeout)
		defer cancel()
		_, err := r.Helper.Arm(actx, true)
		armc <- err
	}()

	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	err := r.Manager.Do(cctx, session.Reboot)
	cancel()
	if err != nil {
		return r.abandon(ctx, armc, fmt.Sprintf(i18n.G("Cannot restart: %s"), plain(err)), err)
	}

	outc := make(chan session.Outcome, 1)
	go func() { outc <- w.Wait(ctx, r.Grace) }()

	var armErr error
	for armc != nil || outc != nil {
		select {
		case armErr = <-armc:
			armc = nil
			if armErr != nil {
				// Nothing is loaded (the helper undid the load); the
				// restart, if it goes on, is a normal one.
				r.progress(notQuick(armErr))
			} else {
				r.progress(i18n.G("Restarting…"))
			}
		case o := <-outc:
			outc = nil
			if o != session.Proceeding {
				return r.abandon(ctx, armc, i18n.G("Quick Restart was cancelled. The next restart will be a normal one."), fmt.Errorf("restart %s", o))
			}
			// Proceeding: logind announced the shutdown and waits for the
			// helper's delay inhibitor; the dialog waits for the Arm's
			// answer, since the helper writes the arm only while its caller
			// is still on the bus.
		}
	}
	if armErr != nil {
		return Result{Message: notQuick(armErr), Err: armErr}
	}
	return Result{Done: true}
}

// notQuick says that the Quick Restart failed and the restart under way is
// a normal one.
func notQuick(err error) string {
	return fmt.Sprintf(i18n.G("Quick Restart is not possible: %s"), plain(err)) + " " + i18n.G("The restart will be a normal one.")
}

// abandon calls a Quick Restart off while its Arm may still be under way
// (pending not nil): Disarm at once, which cancels a load in flight, then
// wait for the Arm's answer; an Arm that still armed (its polkit prompt
// answered after that Disarm) is disarmed again.
func (r *Runner) abandon(ctx context.Context, pending <-chan error, msg string, cause error) Result {
	res := r.undo(ctx, msg, cause)
	if pending == nil {
		return res
	}
	if err := <-pending; err == nil {
		res = r.undo(ctx, msg, errors.Join(cause, errors.New("armed after the first Disarm")))
	}
	return res
}
