package session

import (
	"context"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/logind"
)

// Outcome is what became of a restart or shutdown request.
type Outcome int

const (
	// Proceeding: logind announced the shutdown (PrepareForShutdown(true))
	// or the session manager ended the session.
	Proceeding Outcome = iota
	// Cancelled: the session manager said the user cancelled.
	Cancelled
	// TimedOut: nothing happened within the grace period; treated as a
	// cancel (an application kept the session alive, or the user closed a
	// prompt that sends no signal).
	TimedOut
)

func (o Outcome) String() string {
	return [...]string{"proceeding", "cancelled", "timed out"}[o]
}

// Watch waits for the outcome of a request. Session managers do not
// answer "cancelled" in one common way, so Watch combines what there is:
//
//   - logind's PrepareForShutdown(true) on the system bus: the machine is
//     going down. This is the one signal every desktop ends in.
//   - org.gnome.SessionManager's SessionOver: the session is ending.
//   - the GNOME shell's EndSessionDialog Canceled, org.gnome.SessionManager's
//     SessionRunning (gnome-session, MATE's and Cinnamon's send it when
//     they go back to the running phase: the user cancelled their "some
//     programs are still running" prompt), and IsSessionRunning() going
//     false then true again: cancelled. MATE's IsSessionRunning() stays
//     true while its prompt is up, so only the signal tells its cancel.
//   - otherwise the grace period ends it as TimedOut.
//
// Start a Watch before sending the request, so no signal is missed.
type Watch struct {
	sys, sess *dbus.Conn
	gnome     dbus.BusObject // nil unless the manager is GNOME-compatible
	ch        chan *dbus.Signal
	sessCh    chan *dbus.Signal
	matches   []func()
}

// Poll interval for IsSessionRunning: the user cannot react faster.
const pollEvery = 500 * time.Millisecond

// NewWatch subscribes to the signals above. sess may be nil.
func NewWatch(sys, sess *dbus.Conn, m Manager) (*Watch, error) {
	w := &Watch{sys: sys, sess: sess, ch: make(chan *dbus.Signal, 16)}
	add := func(c *dbus.Conn, opts ...dbus.MatchOption) error {
		if err := c.AddMatchSignal(opts...); err != nil {
			return err
		}
		w.matches = append(w.matches, func() { _ = c.RemoveMatchSignal(opts...) })
		return nil
	}
	if sys != nil {
		sys.Signal(w.ch)
		if err := add(sys, dbus.WithMatchInterface(logind.ManagerInterface), dbus.WithMatchMember("PrepareForShutdown")); err != nil {
			w.Close()
			return nil, err
		}
	}
	if g, ok := m.(*gnome); ok && sess != nil {
		w.gnome = g.obj
		w.sessCh = make(chan *dbus.Signal, 16)
		sess.Signal(w.sessCh)
		for _, member := range []string{"SessionOver", "SessionRunning"} {
			if err := add(sess, dbus.WithMatchInterface(gnomeName), dbus.WithMatchMember(member)); err != nil {
				w.Close()
				return nil, err
			}
		}
		if err := add(sess, dbus.WithMatchInterface(gnomeName+".EndSessionDialog"), dbus.WithMatchMember("Canceled")); err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

// Close drops the subscriptions.
func (w *Watch) Close() {
	for _, f := range w.matches {
		f()
	}
	w.matches = nil
	if w.sys != nil {
		w.sys.RemoveSignal(w.ch)
	}
	if w.sess != nil && w.sessCh != nil {
		w.sess.RemoveSignal(w.sessCh)
	}
}

// Wait returns the outcome, at the latest after grace (or when ctx ends,
// which counts as TimedOut).
func (w *Watch) Wait(ctx context.Context, grace time.Duration) Outcome {
	timer := time.NewTimer(grace)
	defer timer.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	sessCh := w.sessCh // nil channel blocks forever: fine
	ending := false
	for {
		select {
		case <-ctx.Done():
			return TimedOut
		case <-timer.C:
			return TimedOut
		case s := <-w.ch:
			if s != nil && s.Name == logind.ManagerInterface+".PrepareForShutdown" && len(s.Body) == 1 && s.Body[0] == true {
				return Proceeding
			}
		case s := <-sessCh:
			switch {
			case s == nil:
			case s.Name == gnomeName+".SessionOver":
				return Proceeding
			case s.Name == gnomeName+".EndSessionDialog.Canceled", s.Name == gnomeName+".SessionRunning":
				return Cancelled
			}
		case <-tick.C:
			if w.gnome == nil {
				continue
			}
			var running bool
			pctx, cancel := context.WithTimeout(ctx, pollEvery)
			err := w.gnome.CallWithContext(pctx, gnomeName+".IsSessionRunning", 0).Store(&running)
			cancel()
			if err != nil {
				continue // an older session manager without the method
			}
			if !running {
				ending = true
			} else if ending {
				return Cancelled
			}
		}
	}
}
