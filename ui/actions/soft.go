package actions

import (
	"context"
	"fmt"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/session"
)

// soft is "Restart Apps Only" (issue 16). No session manager can ask for
// a soft restart, so the order is the one docs/restart-kinds.md asks for
// and docs/dialog.md argues: the session manager ends the session first
// (a log out: applications asked to save, inhibitors honoured, its prompt
// can be cancelled), and the soft restart follows the session's end.
//
// In a real session the dialog does not outlive the session it ends (the
// Debian 13 guest under MATE, docs/e2e.md), so it cannot ask for the
// restart afterwards: it asks the helper first to restart the programs
// when this session ends (SoftRestartAfterLogout: authorised now, while a
// password can still be asked, refused now for an inhibitor or a systemd
// without soft-reboot), then asks the session manager to log out. The
// helper, which outlives the session, acts on logind's word that the
// session ended. A cancel at the session manager's prompt (or nothing
// heard within the grace) calls the schedule off (CancelSoftRestart), so a
// cancel leaves nothing pending; SessionOver needs nothing more. With
// logind alone (no session manager) there is no end of session to go
// through, and the helper is asked at once, as logind is for Restart; the
// helper honours block inhibitors itself.
func (r *Runner) soft(ctx context.Context) Result {
	ok, direct := session.SoftPath(r.Manager)
	if !ok {
		err := fmt.Errorf("%s cannot end the session before a soft restart", r.Manager.Name())
		return Result{Message: fmt.Sprintf(i18n.G("Cannot restart the apps: %s"), plain(err)), Err: err}
	}
	if direct {
		r.progress(i18n.G("Restarting…"))
		return r.softRestart(ctx, true)
	}
	w, err := r.Watch()
	if err != nil {
		return Result{Message: fmt.Sprintf(i18n.G("Cannot restart the apps: %s"), plain(err)), Err: err}
	}
	defer w.Close()
	// The schedule first: a password prompt may come (armTimeout), and a
	// refusal leaves the session as it is.
	sctx, scancel := context.WithTimeout(ctx, armTimeout)
	err = r.Helper.SoftRestartAfterLogout(sctx, true)
	scancel()
	if err != nil {
		return Result{Message: fmt.Sprintf(i18n.G("Cannot restart the apps: %s"), plain(err)), Err: err}
	}
	r.progress(i18n.G("Closing programs…"))
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	err = r.Manager.Do(cctx, session.Logout)
	cancel()
	if err != nil {
		return r.callOff(ctx, Result{Message: fmt.Sprintf(i18n.G("Cannot restart the apps: %s"), plain(err)), Err: err})
	}
	if o := w.Wait(ctx, r.Grace); o != session.Proceeding {
		return r.callOff(ctx, Result{Message: i18n.G("Restarting the apps was cancelled. Nothing was changed."), Err: fmt.Errorf("log out before the soft restart %s", o)})
	}
	// The session is over: the helper carries the restart out when logind
	// says so.
	return Result{Done: true}
}

// callOff drops the helper's schedule after a log out that did not
// happen, and returns res; when the helper cannot drop it, the person is
// told that a restart may still follow the end of this session.
func (r *Runner) callOff(ctx context.Context, res Result) Result {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	if err := r.Helper.CancelSoftRestart(cctx); err != nil {
		return Result{
			Message: fmt.Sprintf(i18n.G("The apps will still restart when you log out: it could not be called off (%s)."), plain(err)),
			Err:     fmt.Errorf("%v; the soft restart cannot be called off: %w", res.Err, err),
		}
	}
	return res
}

func (r *Runner) softRestart(ctx context.Context, interactive bool) Result {
	t := callTimeout
	if interactive {
		t = armTimeout // a password prompt may come
	}
	cctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	if err := r.Helper.SoftRestart(cctx, interactive); err != nil {
		return Result{Message: fmt.Sprintf(i18n.G("Cannot restart the apps: %s"), plain(err)), Err: err}
	}
	return Result{Done: true}
}
