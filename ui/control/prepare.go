package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// Preparing the Quick Restart while the dialog offers it (issue 16,
// "Faster than a bare kexec"; docs/dialog.md, docs/reboot-design.md §9).
//
// When Quick Restart is on offer — the modifier held, --quick, the
// separate Quick Restart button, or the advice recommending it — and the
// plan is available, the controller asks the helper to Prepare: the kernel
// is loaded (seconds under TCG) while the person reads the dialog, and the
// click's Arm only writes the arm. Prepare is never interactive; where
// polkit would want a password, or the helper is older, nothing is loaded
// and the click loads as before. Closing the dialog without restarting,
// or choosing another action, asks Unprepare; should that call not get
// through, the helper unloads the image when this process leaves the bus,
// or after its bound. Prepare and Arm go over the same system bus
// connection (busSystem's one), so the helper sees the same caller.

// preparer is the part of system that prepares; busSystem has it, and a
// test's fake may.
type preparer interface {
	Prepare(ctx context.Context) error
	Unprepare(ctx context.Context) error
}

// prepareTimeout bounds one Prepare: a load takes seconds under TCG.
const prepareTimeout = 60 * time.Second

// prepState is the controller's part (main thread only).
type prepState struct {
	asked bool // a Prepare was sent (once per dialog)
	// armedKnown: the helper was asked whether something is armed (an
	// arm is renewed by the click's Arm; nothing to prepare then).
	armedKnown bool
	// undone: Unprepare was sent, or a restart began that must not be
	// undone; no Prepare after it.
	undone bool
}

// quickOnOffer: the click would be a Quick Restart, or a button for it is
// shown, and the helper says it is available and nothing is armed yet.
func (c *Controller) quickOnOffer() bool {
	s := c.st
	if s.Quick != model.Available || !c.prep.armedKnown || s.Armed || s.Busy {
		return false
	}
	return s.QuickShown() || s.Config.QuickButton || c.quickRecommended()
}

// quickRecommended says whether the helper's advice makes Quick Restart
// the suggested action (ui/control/advice.go): the dialog then shows it
// without a key held, so it is on offer.
func (c *Controller) quickRecommended() bool { return c.st.Recommended() == model.QuickRestart }

// prepareIfOffered is called after every change of what is drawn: the
// first time Quick Restart is on offer, Prepare is sent.
func (c *Controller) prepareIfOffered() {
	if c.prep.asked || c.prep.undone || c.closed || !c.quickOnOffer() {
		return
	}
	p, ok := c.sys.(preparer)
	if !ok {
		return
	}
	c.prep.asked = true
	c.trace("prepare asked")
	go func() {
		// Not under life: a window that closes now sends Unprepare, which
		// the helper runs after this Prepare.
		ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
		err := p.Prepare(ctx)
		cancel()
		c.post(func() {
			c.trace("prepare done err=%v code=%s", err, prepareCode(err))
			if err != nil && !quietPrepareError(err) {
				fmt.Fprintln(c.log, "rapidreboot: cannot prepare the Quick Restart (it loads at the click instead):", err)
			}
		})
	}()
}

// quietPrepareError: nothing worth a line — polkit wants a password (the
// click asks for it), or the helper has no Prepare (older).
func quietPrepareError(err error) bool {
	code := prepareCode(err)
	return code == reason.AuthenticationRequired || code == "unknown-method"
}

// prepareCode is the reason code of Prepare's answer, for the trace and
// quietPrepareError; "unknown-method" for an older helper.
func prepareCode(err error) reason.Code {
	var ce *busapi.CallError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce) && ce.Name == "org.freedesktop.DBus.Error.UnknownMethod":
		return "unknown-method"
	case errors.As(err, &ce):
		return ce.Code
	}
	return reason.CodeOf(err)
}

// unprepare sends Unprepare once, if a Prepare was sent: the dialog goes
// without a Quick Restart, or another action was chosen. The helper
// leaves an arm alone, so calling it after a Quick Restart was armed is
// harmless.
func (c *Controller) unprepare(why string) {
	if !c.prep.asked || c.prep.undone {
		c.prep.undone = true
		return
	}
	c.prep.undone = true
	p, ok := c.sys.(preparer)
	if !ok {
		return
	}
	c.trace("unprepare %s", why)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Unprepare(ctx); err != nil {
			fmt.Fprintln(c.log, "rapidreboot: cannot unload the prepared kernel (the helper unloads it when this dialog ends):", err)
		}
	}()
}

// beforeRun: an action other than Quick Restart gives the prepared kernel
// up; Quick Restart's own Arm finds it.
func (c *Controller) beforeRun(a model.Action) {
	if a == model.QuickRestart {
		c.prep.undone = true // nothing to undo: the Arm takes it over
		return
	}
	c.unprepare("for " + a.String())
}

// Prepare and Unprepare on the system bus, over the connection Arm uses.

func (b *busSystem) Prepare(ctx context.Context) error {
	sys, err := b.system()
	if err != nil {
		return err
	}
	_, err = busapi.NewClient(sys).Prepare(ctx)
	return err
}

func (b *busSystem) Unprepare(ctx context.Context) error {
	sys, err := b.system()
	if err != nil {
		return err
	}
	return busapi.NewClient(sys).Unprepare(ctx)
}
