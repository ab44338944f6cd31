// Package control is the shutdown dialog's controller, without GTK: it
// asks the system what the dialog shows (logind's answers, the
// reboot-required marker, the helper's plan, the session manager and the
// inhibitors), keeps the model.State, turns the view's events into
// actions (ui/actions) and tells the view what to draw.
//
// Threading: every exported method runs on the GTK main thread, and so
// does every change of the state; the questions run in goroutines whose
// answers come back through post (glib.IdleAdd in the dialog). The view
// (package ui) is the only importer of gotk3.
package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/planwarn"
	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/actions"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// Options are the command line's choices.
type Options struct {
	Action     model.Action // --action: the focused button
	Quick      bool         // --quick: open in quick mode
	ForUpdates bool         // --reason=updates
	// Root, Sys and Proc locate /run/reboot-required, /sys/kernel and
	// the running kernel's release and command line; "/", "/sys" and
	// "/proc" on a live system.
	Root, Sys, Proc string
}

// View is what the controller asks of the window. Every method is called
// on the GTK main thread.
type View interface {
	// Draw shows st.
	Draw(st model.State)
	// Focus makes id the focused and default button.
	Focus(id model.ButtonID)
	// HasFocus says whether id has the keyboard focus.
	HasFocus(id model.ButtonID) bool
	// Present brings the window to the front.
	Present()
	// Quit ends the dialog.
	Quit()
}

// system is every question the controller asks outside the process. The
// real one (bus.go) talks to D-Bus; tests give a fake (export_test.go).
type system interface {
	// Early reads the reboot-required marker and logind's Can* answers;
	// it connects the system bus, bounded by ctx.
	Early(ctx context.Context) (session.Caps, rebootreq.Status)
	// Plan asks the helper for the plan; errNoSystemBus without a bus.
	Plan(ctx context.Context) (busapi.Plan, error)
	// Session finds the session manager (session.Detect).
	Session(ctx context.Context) (session.Manager, error)
	// Inhibitors lists logind's and m's inhibitors; a source that fails
	// is left out rather than hiding the other. m may be nil.
	Inhibitors(ctx context.Context, m session.Manager) []session.Inhibitor
	// Helper is the helper's client for the runner.
	Helper() actions.Helper
	// Watch starts watching for the outcome of a restart request via m.
	Watch(m session.Manager) (actions.Waiter, error)
	// KexecLoaded reads /sys/kernel/kexec_loaded.
	KexecLoaded() (bool, error)
	// Running is the running kernel's release (uname -r) and command
	// line (/proc/cmdline), "" for what cannot be read: facts of this
	// session, shown beside the plan, never sent to the helper.
	Running() (release, cmdline string)
	// Armed asks the helper whether a Quick Restart is armed, and into
	// which kernel version ("" when the helper does not say).
	Armed(ctx context.Context) (armed bool, version string, err error)
	// Advice is the helper's GetAdvice; TimeSaved the seconds a Quick
	// Restart saves here (0: nothing measured); SetCold sets or clears
	// the coldreboot flag (advice.go).
	Advice(ctx context.Context) (busapi.Advice, error)
	TimeSaved(ctx context.Context) (float64, error)
	SetCold(ctx context.Context, on bool) error
}

// errNoSystemBus: the system bus could not be reached at all.
var errNoSystemBus = errors.New("the system bus is not running")

// inhibitorPoll is how often the list of inhibitors is read again.
const inhibitorPoll = 2 * time.Second

// Controller runs one dialog. Make it with New.
type Controller struct {
	opts  Options
	cfg   model.Config
	sys   system
	post  func(func())
	trace func(format string, args ...any)
	poll  time.Duration
	log   io.Writer

	// life ends with the window: it stops the poller and the questions
	// under way.
	life context.Context
	stop context.CancelFunc

	// early's answers, written before earlyDone is closed.
	earlyDone chan struct{}
	caps      session.Caps
	updates   rebootreq.Status

	// The session manager is detected once, by whoever needs it first
	// (the inhibitor list after the map, or a click before that); the
	// other waits for that detection rather than starting its own.
	smMu sync.Mutex
	sm   session.Manager

	pollerDone chan struct{} // closed when the inhibitor poller has ended

	// Main thread only.
	view   View
	st     model.State
	cancel context.CancelFunc // of the action under way
	mapped bool
	closed bool
	prep   prepState // prepare.go
}

type option func(*Controller)

// withSystem replaces the D-Bus questions (tests).
func withSystem(s system) option { return func(c *Controller) { c.sys = s } }

// withPollEvery changes how often the inhibitors are read again (tests).
func withPollEvery(d time.Duration) option { return func(c *Controller) { c.poll = d } }

// withLog sends error lines elsewhere than stderr (tests).
func withLog(w io.Writer) option { return func(c *Controller) { c.log = w } }

// New makes the controller. post runs a function on the GTK main thread
// (glib.IdleAdd); trace, if not nil, gets the events tests wait for.
func New(o Options, cfg model.Config, post func(func()), trace func(format string, args ...any), opts ...option) *Controller {
	c := &Controller{
		opts:       o,
		cfg:        cfg,
		post:       post,
		trace:      trace,
		poll:       inhibitorPoll,
		log:        os.Stderr,
		earlyDone:  make(chan struct{}),
		pollerDone: make(chan struct{}),
	}
	if c.trace == nil {
		c.trace = func(string, ...any) {}
	}
	c.life, c.stop = context.WithCancel(context.Background())
	for _, opt := range opts {
		opt(c)
	}
	if c.sys == nil {
		proc := o.Proc
		if proc == "" {
			proc = "/proc"
		}
		c.sys = newBusSystem(o.Root, o.Sys, proc)
	}
	return c
}

// Start asks what the window needs before it is shown and is cheap
// enough to overlap with GTK's own start: logind's Can* answers (which
// optional buttons exist) and the reboot-required marker.
func (c *Controller) Start() {
	go func() {
		defer close(c.earlyDone)
		ctx, cancel := context.WithTimeout(c.life, 2*time.Second)
		defer cancel()
		c.caps, c.updates = c.sys.Early(ctx)
	}()
}

// waitEarly waits for Start's answers but never long: the window is worth
// more than an optional button.
func (c *Controller) waitEarly(max time.Duration) bool {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-c.earlyDone:
		return true
	case <-t.C:
		return false
	}
}

// Open draws the opening state on v, waiting up to wait for Start's
// answers; what comes later is drawn when it comes.
func (c *Controller) Open(v View, wait time.Duration) {
	c.view = v
	complete := c.waitEarly(wait)
	c.trace("early complete=%v", complete)
	c.st = model.New(c.cfg)
	c.st.StartQuick = c.opts.Quick
	c.st.ForUpdates = c.opts.ForUpdates
	if complete {
		c.st.Caps, c.st.Updates = c.caps, c.updates
	}
	c.draw()
	c.focus(c.opts.Action)
	if !complete {
		go func() {
			select {
			case <-c.earlyDone:
			case <-c.life.Done():
				return
			}
			c.post(func() {
				if c.closed {
					return
				}
				c.st.Caps, c.st.Updates = c.caps, c.updates
				c.draw()
			})
		}()
	}
}

// Opened says whether Open ran.
func (c *Controller) Opened() bool { return c.view != nil }

// Reopen is a second launch: adopt its options, come to the front and
// ask the helper again whether a Quick Restart is armed. Before Open, the
// options are only adopted.
func (c *Controller) Reopen(o Options) {
	if c.view == nil {
		c.opts.Action, c.opts.Quick, c.opts.ForUpdates = o.Action, o.Quick, o.ForUpdates
		return
	}
	if o.Action != model.None {
		c.opts.Action = o.Action
	}
	if o.Quick {
		c.st.StartQuick = true
	}
	if o.ForUpdates {
		c.st.ForUpdates = true
	}
	c.draw()
	if o.Action != model.None || o.Quick {
		c.focus(o.Action)
	}
	c.view.Present()
	// Opened again: a Quick Restart may have been prepared or cancelled
	// meanwhile (rapidrebootctl, another session); say what is true now.
	if c.mapped {
		go c.askArmed()
		go c.askAdvice()
	}
}

// State is what is drawn now.
func (c *Controller) State() model.State { return c.st }

// Config is the dialog's configuration.
func (c *Controller) Config() model.Config { return c.cfg }

func (c *Controller) draw() {
	if c.view != nil {
		c.view.Draw(c.st)
	}
	c.prepareIfOffered()
}

func (c *Controller) focus(a model.Action) {
	c.view.Focus(c.st.Focus(a))
}

// SetHeld follows the configured modifier (Shift or Ctrl), read from the
// server by the view; why is for the trace.
func (c *Controller) SetHeld(held bool, why string) {
	if held == c.st.Held {
		return
	}
	c.st.Held = held
	c.trace("mods %s held=%v", why, held)
	c.draw()
}

// Mapped is the window's first map: the slow questions start now, so
// that they cost the window nothing — the helper's plan (the helper may
// be D-Bus activated and read /boot), the session manager and the
// inhibitors, which are then read again every poll until Close.
func (c *Controller) Mapped() {
	if c.mapped {
		return
	}
	c.mapped = true
	go c.askPlan()
	go c.watchInhibitors()
}

func (c *Controller) askPlan() {
	select {
	case <-c.earlyDone:
	case <-c.life.Done():
		return
	}
	ctx, cancel := context.WithTimeout(c.life, 20*time.Second)
	p, err := c.sys.Plan(ctx)
	cancel()
	release, cmdline := c.sys.Running()
	c.post(func() {
		if c.closed {
			return
		}
		c.st.Boot = bootOf(p, err, release, cmdline)
		c.planCame(p, err)
	})
	c.askAdvice()
	c.askArmed()
}

// bootOf is what the "What will boot" expander shows of a plan.
func bootOf(p busapi.Plan, err error, release, cmdline string) model.Boot {
	if err != nil || p.Kernel == "" {
		return model.Boot{}
	}
	b := model.Boot{
		Kernel: p.Kernel, Version: p.Version, Initrds: p.Initrds, Source: p.Source,
		RunningRelease: release, RunningCmdline: cmdline,
	}
	if p.Withheld() {
		b.Withheld = true
	} else {
		b.Why, b.Cmdline = p.Why, p.Cmdline
	}
	return b
}

// askArmed asks the helper whether a Quick Restart is armed (by this
// dialog earlier, rapidrebootctl, or another session) and draws the
// answer. A helper that cannot be asked is taken as "not armed": the
// dialog then says nothing it does not know.
func (c *Controller) askArmed() {
	ctx, cancel := context.WithTimeout(c.life, 10*time.Second)
	armed, version, err := c.sys.Armed(ctx)
	cancel()
	c.post(func() {
		if c.closed {
			return
		}
		if err != nil {
			fmt.Fprintln(c.log, "rapidreboot: cannot ask whether a Quick Restart is armed:", err)
		}
		c.st.Armed, c.st.ArmedVersion = armed && err == nil, version
		c.prep.armedKnown = true
		c.trace("armed=%v version=%q", c.st.Armed, version)
		c.draw()
	})
}

func (c *Controller) planCame(p busapi.Plan, err error) {
	c.st.Nvidia = err == nil && nvidiaWarned(p.Warnings)
	if err == nil && p.Available {
		c.st.Quick = model.Available
		c.st.Version = p.Version
		// The helper's warning, said again in the user's language; the
		// dialog reads no system file for it.
		c.st.Passphrase = planwarn.PassphraseVolumes(p.Warnings)
	} else {
		c.st.Quick = model.Unavailable
		c.st.Reason = actions.PlanReason(p, err)
		if errors.Is(err, errNoSystemBus) {
			c.st.Reason = i18n.G("The system message bus is not running.")
		}
	}
	c.trace("plan available=%v reason=%q", p.Available && err == nil, c.st.Reason)
	c.draw()
	// Opened with --quick before the plan came, the focus fell back to
	// Cancel (Quick Restart was not possible yet), so Enter would cancel:
	// now that it is possible it goes where the option asked, unless the
	// user has moved it.
	if c.opts.Quick && c.st.Quick == model.Available && c.view.HasFocus(model.BCancel) {
		c.focus(c.opts.Action)
	}
}

// manager returns the session manager, detecting it on the first call
// that succeeds; concurrent callers wait for the one detection.
func (c *Controller) manager(ctx context.Context) (session.Manager, error) {
	c.smMu.Lock()
	defer c.smMu.Unlock()
	if c.sm != nil {
		return c.sm, nil
	}
	m, err := c.sys.Session(ctx)
	if err != nil {
		return nil, err
	}
	c.sm = m
	return m, nil
}

// watchInhibitors lists the inhibitors once the session manager is known
// and again every poll: they come and go (a download ends, an editor
// saves), and GNOME keeps its list current too. It ends with the window.
func (c *Controller) watchInhibitors() {
	defer close(c.pollerDone)
	select {
	case <-c.earlyDone:
	case <-c.life.Done():
		return
	}
	ctx, cancel := context.WithTimeout(c.life, 5*time.Second)
	m, err := c.manager(ctx)
	inh := c.sys.Inhibitors(ctx, m)
	cancel()
	c.post(func() {
		if c.closed {
			return
		}
		if err != nil {
			fmt.Fprintln(c.log, "rapidreboot:", err)
		}
		c.st.Inhibitors = inh
		c.managerCame(m)
		name := ""
		if m != nil {
			name = m.Name()
		}
		c.trace("session manager=%q inhibitors=%d", name, len(inh))
		c.draw()
	})
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		select {
		case <-c.life.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.life, c.poll)
		now := c.sys.Inhibitors(ctx, m)
		cancel()
		c.post(func() {
			if c.closed || reflect.DeepEqual(now, c.st.Inhibitors) {
				return
			}
			c.st.Inhibitors = now
			c.trace("inhibitors=%d", len(now))
			c.draw()
		})
	}
}

// Click is a button's activation. state is the modifier state of the
// event that activated it; without one (fromEvent false: a timeout, an
// accessibility action) what is drawn decides.
func (c *Controller) Click(id model.ButtonID, state uint, fromEvent bool) {
	if !fromEvent {
		state = 0
		if c.st.Held {
			state = model.ShiftMask
			if !c.cfg.Shift {
				state = model.ControlMask
			}
		}
	}
	a := c.st.Click(id, state)
	c.trace("click %s state=%#x action=%s", id.Name(), state, a)
	switch a {
	case model.None:
		return
	case model.Cancel:
		c.Quit()
		return
	case model.Disarm:
		c.disarm()
		return
	}
	c.run(a)
}

// disarm is the Cancel Quick Restart button: the helper's Disarm, then
// Armed asked again, so what the dialog shows afterwards is the helper's
// state, not a guess from the reply.
func (c *Controller) disarm() {
	c.st.Busy, c.st.Message = true, ""
	c.draw()
	go func() {
		// Not under life: closing the window right after the click must
		// not call the Disarm off.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.sys.Helper().Disarm(ctx)
		armed, version, aerr := c.sys.Armed(ctx)
		c.post(func() {
			if c.closed {
				return
			}
			c.st.Busy = false
			switch {
			case err != nil:
				fmt.Fprintln(c.log, "rapidreboot: disarm:", err)
				c.st.Message = fmt.Sprintf(i18n.G("Cannot cancel the Quick Restart: %s"), actions.Plain(err))
			case aerr == nil && !armed:
				c.st.Message = i18n.G("Quick Restart was cancelled. The next restart will be a normal one.")
			}
			if aerr == nil {
				c.st.Armed, c.st.ArmedVersion = armed, version
			} else {
				fmt.Fprintln(c.log, "rapidreboot: cannot ask whether a Quick Restart is armed:", aerr)
			}
			c.trace("disarm err=%v armed=%v message=%q", err, c.st.Armed, c.st.Message)
			c.draw()
		})
	}()
}

// Quit is Escape, the window's close button or Cancel. While an action
// is under way (waiting for a Quick Restart to begin) the first one calls
// it off; the runner disarms.
func (c *Controller) Quit() {
	if c.cancel != nil {
		c.cancel()
		return
	}
	c.trace("quit")
	c.view.Quit()
}

// Close ends what the controller started: the inhibitor poller and any
// question still under way. The view calls it when the window goes.
func (c *Controller) Close() {
	c.unprepare("the dialog closed")
	c.closed = true
	c.stop()
}

func (c *Controller) run(a model.Action) {
	// Not under life: an action under way is called off only by Quit,
	// never by the window going (a restart in progress ends the dialog).
	c.beforeRun(a)
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.st.Busy, c.st.Message = true, ""
	c.draw()
	grace := c.cfg.Grace
	go func() {
		res := func() actions.Result {
			// A click before the session manager was found waits for
			// that one detection (bounded) rather than losing the click.
			select {
			case <-c.earlyDone: // bounded by its own time-out
			case <-ctx.Done():
			}
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			m, err := c.manager(dctx)
			dcancel()
			if err != nil {
				return actions.Result{Message: fmt.Sprintf(i18n.G("Cannot reach the session manager or logind: %s"), err), Err: err}
			}
			r := &actions.Runner{
				Helper:      c.sys.Helper(),
				Manager:     m,
				Watch:       func() (actions.Waiter, error) { return c.sys.Watch(m) },
				Grace:       grace,
				KexecLoaded: c.sys.KexecLoaded,
				Progress: func(s string) {
					c.post(func() {
						if !c.closed {
							c.st.Message = s
							c.draw()
						}
					})
				},
			}
			return r.Run(ctx, a)
		}()
		c.post(func() {
			c.cancel = nil
			cancel()
			c.trace("result %s done=%v message=%q", a, res.Done, res.Message)
			if res.Err != nil {
				fmt.Fprintln(c.log, "rapidreboot:", res.Err)
			}
			if c.closed {
				return
			}
			if res.Done {
				c.view.Quit()
				return
			}
			c.st.Busy, c.st.Message = false, res.Message
			c.draw()
			c.view.Present()
			// An action that did not go ahead may leave an arm behind (its
			// undo failed): the armed line says what the helper says.
			go c.askArmed()
		})
	}()
}
