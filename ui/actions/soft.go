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
// can be cancelled), and the helper's SoftRestart is asked only once the
// session manager says the session is over. A cancel anywhere before
// that leaves everything as it was: the helper was not asked. With
// logind alone (no session manager) there is no end of session to go
// through, and the helper is asked at once, as logind is for Restart;
// the helper honours block inhibitors itself.
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
	r.progress(i18n.G("Closing programs…"))
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	err = r.Manager.Do(cctx, session.Logout)
	cancel()
	if err != nil {
		return Result{Message: fmt.Sprintf(i18n.G("Cannot restart the apps: %s"), plain(err)), Err: err}
	}
	if o := w.Wait(ctx, r.Grace); o != session.Proceeding {
		return Result{Message: i18n.G("Restarting the apps was cancelled. Nothing was changed."), Err: fmt.Errorf("log out before the soft restart %s", o)}
	}
	// The session is over: no password prompt can be shown any more
	// (the polkit agent went with it), so the call is not interactive;
	// the session is still active, which is what logind's reboot action
	// asks of a local user.
	return r.softRestart(context.WithoutCancel(ctx), false)
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
