package helper

// Issue 16: the soft restart carried past the session's end.
//
// Under a GNOME-style session manager the dialog asks for a log out
// (applications asked to save, inhibitors honoured, the user can cancel)
// before the soft restart. In a real session the dialog does not outlive
// the session it ends (docs/e2e.md), so it cannot ask for the restart
// afterwards. Instead it asks the helper first, while it, its session and
// the polkit agent still live: SoftRestartAfterLogout is authorised then,
// exactly as SoftRestart, and the helper, which outlives the session,
// carries the restart out when logind says that session is over.

import (
	"context"
	"fmt"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/arming"
	"github.com/rapidreboot/rapidreboot/backend/system/softreboot"
)

// SoftDeadline is how long a SoftRestartAfterLogout waits for its
// session's end before it lapses unused. The end of a session takes: the
// session manager's query to the applications and its "programs are still
// running" prompt (GNOME's end-session dialog counts down 60 s before it
// logs out by itself; MATE's waits for the user), the applications'
// saving, then the session's processes being stopped (logind marks the
// session "closing" as soon as its leader leaves; systemd's stop timeout
// for the scope is 90 s, but "closing" comes before it). The dialog itself
// gives up after its grace (90 s by default) and then cancels. Five
// minutes covers the slow end of all that; longer would let a schedule the
// user has forgotten (a cancelled prompt whose cancel no one reported)
// turn a later, ordinary log out into a restart.
const SoftDeadline = 5 * time.Minute

// SessionTracker names a caller's logind session and follows it
// (LogindSessions is the real one).
type SessionTracker interface {
	// Of names the logind session of sender's connection (uid is the
	// caller's, from the bus daemon).
	Of(ctx context.Context, sender string, uid uint32) (string, error)
	// Watch calls ended (once, in its own goroutine) with what logind
	// said when session id is removed or reaches the state "closing" —
	// already, or from now on — until stop.
	Watch(ctx context.Context, id string, ended func(why string)) (stop func(), err error)
}

// SoftRestartAfterLogout schedules a soft restart for when the caller's
// logind session ends. It is authorised now as SoftRestart is (logind's
// reboot action, or reboot-multiple-sessions, for the caller's bus name;
// interactive as the message allows), and refused now for what would
// refuse SoftRestart (no soft-reboot in the running systemd, a block
// inhibitor), or when the system is already going down, or when the
// caller is in no session to follow. A new schedule replaces the pending
// one; CancelSoftRestart and Disarm drop it; it lapses after
// SoftDeadline. Nothing is disarmed or changed until the session ends.
//
// The session is the one the caller's connection belongs to: the bus
// daemon says which process opened the connection, logind says which
// session that process is in. This is not the PID-based trust the rules
// forbid (attack list: polkit's unix-process subject, racy because the
// process may exit and its PID be reused): authorisation stays on the bus
// name; the PID only chooses which session's end to wait for, it is read
// while the caller waits on this very call (its connection is open, so
// the process that opened it is alive and its PID not reused), and the
// caller is checked to be still on the bus after the lookup. Choosing a
// wrong session could only make the restart the caller was just
// authorised for come at another session's end, within the deadline, and
// after the same re-checks.
func (h *Helper) SoftRestartAfterLogout(ctx context.Context, sender string, interactive bool) error {
	h.begin()
	defer h.end()
	const method = "SoftRestartAfterLogout"
	if h.ShuttingDown(ctx) {
		h.cfg.Log.Decision(method, sender, h.uidForLog(ctx, sender), "", "refused: the system is shutting down")
		return refuse(busapi.ErrUnavailable, reason.New(reason.ShuttingDown, ""))
	}
	uid, others, err := h.authorizeRebootFor(ctx, method, sender, interactive)
	if err != nil {
		return err
	}
	if version, err := h.softAvailable(ctx); err != nil {
		h.cfg.Log.Decision(method, sender, int64(uid), "", "unavailable: "+err.Error())
		if version == "" {
			version = "?"
		}
		return refuse(busapi.ErrUnavailable, reason.Wrap(reason.SoftUnavailable, version, err))
	}
	if b, err := h.blocker(ctx); err != nil {
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "cannot list inhibitors: "+err.Error(), err))
	} else if b != "" {
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: blocked by "+b)
		return refuse(busapi.ErrUnavailable, reason.New(reason.Inhibited, b))
	}
	if h.cfg.Sessions == nil {
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: no session tracker")
		return refuse(busapi.ErrUnavailable, reason.New(reason.SoftNoSession, ""))
	}
	sctx, scancel := context.WithTimeout(ctx, queryTimeout)
	id, err := h.cfg.Sessions.Of(sctx, sender, uid)
	scancel()
	if err != nil {
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: no session to follow: "+err.Error())
		return refuse(busapi.ErrUnavailable, reason.Wrap(reason.SoftNoSession, "", err))
	}
	if err := h.stillThere(ctx, sender, uid); err != nil {
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: "+err.Error())
		return err
	}
	sc := &softSchedule{sender: sender, uid: uid, session: id, others: others, deadline: h.cfg.Now().Add(h.cfg.SoftDeadline)}
	h.mu.Lock()
	old, ok := h.soft.put(sc)
	seq := sc.seq
	h.mu.Unlock()
	if !ok {
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: a soft restart is being carried out")
		return refuse(busapi.ErrUnavailable, reason.New(reason.ShuttingDown, ""))
	}
	if old != nil {
		old.stopAll()
		h.cfg.Log.Info("%s: replaces the one %s (uid %d) asked for session %s", method, old.sender, old.uid, old.session)
	}
	// Followed only once it is in the slot: a session already closing
	// fires at once, and finds it.
	wctx, wcancel := context.WithTimeout(context.Background(), queryTimeout)
	stopWatch, err := h.cfg.Sessions.Watch(wctx, id, func(why string) { h.softFire(seq, why) })
	wcancel()
	if err != nil {
		h.mu.Lock()
		h.soft.drop()
		h.mu.Unlock()
		h.notifySoft(false)
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: cannot follow session "+id+": "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "cannot follow the session: "+err.Error(), err))
	}
	timer := time.AfterFunc(h.cfg.SoftDeadline, func() { h.softLapse(seq) })
	h.mu.Lock()
	sc.stop = func() { timer.Stop(); stopWatch() }
	live := h.soft.cur == sc && h.soft.state == softPending
	h.mu.Unlock()
	if !live {
		// Fired (a session already closing), replaced or dropped in
		// the meantime: nothing is left to follow.
		sc.stopAll()
	}
	h.notifySoft(true)
	h.cfg.Log.Decision(method, sender, int64(uid), logind.RebootActions(others, false)[0],
		fmt.Sprintf("scheduled: a soft restart when session %s ends, until %s", id, sc.deadline.UTC().Format(time.RFC3339)))
	return nil
}

func (sc *softSchedule) stopAll() {
	if sc != nil && sc.stop != nil {
		sc.stop()
	}
}

// blocker names the first block inhibitor on shutdown, "" for none. The
// helper asks logind itself here, after the session ended: every block
// counts, a session manager's too (arming.Via).
func (h *Helper) blocker(ctx context.Context) (string, error) {
	bctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return h.shutdownBlocker(bctx, arming.Via{})
}

// softFire carries out the schedule seq: its session ended (why is
// logind's word). It checks again what may have changed since the
// request — the system going down already, a block inhibitor, another
// user's session the caller was not authorised for, soft-reboot itself —
// then disarms anything armed and asks logind for the soft reboot that
// honours block inhibitors, as SoftRestart does. Every outcome is logged.
func (h *Helper) softFire(seq uint64, why string) {
	h.mu.Lock()
	sc := h.soft.take(seq)
	h.mu.Unlock()
	if sc == nil {
		return
	}
	defer func() {
		h.mu.Lock()
		h.soft.finish(seq)
		h.mu.Unlock()
		h.notifySoft(false)
	}()
	sc.stopAll()
	const method = "SoftRestartAfterLogout"
	decide := func(result string) { h.cfg.Log.Decision(method, sc.sender, int64(sc.uid), "", result) }
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	at := fmt.Sprintf("session %s %s", sc.session, why)
	if h.ShuttingDown(ctx) {
		decide("dropped at the end of " + at + ": the system is already shutting down")
		return
	}
	if b, err := h.blocker(ctx); err != nil {
		decide("refused at the end of " + at + ": cannot list inhibitors: " + err.Error())
		return
	} else if b != "" {
		decide("refused at the end of " + at + ": blocked by " + b)
		return
	}
	if !sc.others && h.othersLoggedIn(ctx, sc.uid) {
		decide("refused at the end of " + at + ": another user's session appeared, and only a reboot with no other users was authorised")
		return
	}
	if _, err := h.softAvailable(ctx); err != nil {
		decide("refused at the end of " + at + ": unavailable: " + err.Error())
		return
	}
	if err := h.disarm(); err != nil {
		decide("refused at the end of " + at + ": cannot disarm first: " + err.Error())
		return
	}
	h.mu.Lock()
	h.restarting = true
	h.mu.Unlock()
	if err := h.cfg.Logind.RebootWithFlags(ctx, logind.FlagRootCheckInhibitors|softreboot.Flag); err != nil {
		h.mu.Lock()
		h.restarting = false
		h.mu.Unlock()
		decide("logind refused the soft reboot at the end of " + at + ": " + err.Error())
		return
	}
	decide("restarting userspace: " + at)
}

// softLapse drops the schedule seq when its deadline passed unused.
func (h *Helper) softLapse(seq uint64) {
	h.mu.Lock()
	sc := h.soft.lapse(seq, h.cfg.Now())
	h.mu.Unlock()
	if sc == nil {
		return
	}
	sc.stopAll()
	h.notifySoft(false)
	h.cfg.Log.Decision("SoftRestartAfterLogout", sc.sender, int64(sc.uid), "",
		fmt.Sprintf("lapsed unused: session %s did not end within %s", sc.session, h.cfg.SoftDeadline))
}

// dropSoft drops the pending schedule for method (CancelSoftRestart,
// Disarm), logged; it reports whether one was dropped and whether one is
// being carried out instead.
func (h *Helper) dropSoft(method, sender string, uid uint32) (dropped, firing bool) {
	h.mu.Lock()
	old, firing := h.soft.drop()
	h.mu.Unlock()
	if old == nil {
		return false, firing
	}
	old.stopAll()
	h.notifySoft(false)
	h.cfg.Log.Decision(method, sender, int64(uid), "",
		fmt.Sprintf("dropped the soft restart %s (uid %d) scheduled for the end of session %s", old.sender, old.uid, old.session))
	return true, false
}

// CancelSoftRestart drops the pending SoftRestartAfterLogout: the dialog
// calls it when the session manager says the user cancelled the log out.
// Allowed to root and to the uid that scheduled it; anyone else is
// refused, as for Disarm without polkit (another user must not turn a
// restart they were not asked about into a mere log out), except that
// Disarm's polkit rule also applies there. With nothing pending it does
// nothing and succeeds: afterwards nothing is pending, which is what the
// caller asked for. While the restart is being asked of logind it is too
// late, and the caller is told.
func (h *Helper) CancelSoftRestart(ctx context.Context, sender string) error {
	h.begin()
	defer h.end()
	const method = "CancelSoftRestart"
	uid, err := h.callerUID(ctx, method, sender)
	if err != nil {
		return err
	}
	h.mu.Lock()
	var owner int64 = -1
	if h.soft.cur != nil {
		owner = int64(h.soft.cur.uid)
	}
	h.mu.Unlock()
	if owner >= 0 && uid != 0 && int64(uid) != owner {
		pctx, cancel := context.WithTimeout(ctx, queryTimeout)
		err := h.cfg.Auth.Check(pctx, sender, busapi.ActionQuickRestart, nil, false)
		cancel()
		if err != nil {
			h.cfg.Log.Decision(method, sender, int64(uid), busapi.ActionQuickRestart, "refused: "+err.Error())
			return refuse(authErrName(err), err)
		}
	}
	dropped, firing := h.dropSoft(method, sender, uid)
	switch {
	case firing:
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: the soft restart is being carried out")
		return refuse(busapi.ErrUnavailable, reason.New(reason.ShuttingDown, ""))
	case !dropped:
		h.cfg.Log.Decision(method, sender, int64(uid), "", "nothing pending")
	}
	return nil
}

// SoftRestartPending reports whether a soft restart waits for its
// session's end (or is being carried out).
func (h *Helper) SoftRestartPending() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.soft.pending()
}

// OnSoftPending adds f to be told every change of SoftRestartPending,
// outside the helper's lock.
func (h *Helper) OnSoftPending(f func(bool)) {
	h.mu.Lock()
	h.onSoft = append(h.onSoft, f)
	h.mu.Unlock()
}

func (h *Helper) notifySoft(bool) {
	h.mu.Lock()
	fs := append([]func(bool){}, h.onSoft...)
	v := h.soft.pending()
	h.mu.Unlock()
	for _, f := range fs {
		f(v)
	}
}
