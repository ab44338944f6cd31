package control

// The recommended restart (issue 16): the helper's advice and what a
// Quick Restart saves here, asked after the plan; the NVIDIA warning read
// back from the plan; whether the session manager lets the dialog carry a
// soft restart; and the "next restart is a normal one" check box. Kept
// apart from control.go, which calls in here at three points.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/actions"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// adviceTimeout bounds GetAdvice and GetTimeSaved together: the helper
// may be reading /boot for the plan the advice compares with.
const adviceTimeout = 20 * time.Second

// coldTimeout bounds SetColdReboot/ClearColdReboot, which may wait for
// a password prompt (polkit), and the questions asked again after it.
const coldTimeout = 5 * time.Minute

// fetchAdvice asks the helper's advice and, where it answered, what a
// Quick Restart saves. An older helper (UnknownMethod) or none gives
// Known false: the dialog then shows no recommendation.
func (c *Controller) fetchAdvice(ctx context.Context) (model.Advice, error) {
	a, err := c.sys.Advice(ctx)
	if err != nil {
		return model.Advice{}, err
	}
	adv := model.Advice{Known: true, Advice: a}
	// Nothing measured, or an older helper: no line (no guess).
	if s, err := c.sys.TimeSaved(ctx); err == nil && s > 0 {
		adv.Saves = s
	}
	return adv, nil
}

// askAdvice runs after the plan came (askPlan), off the main thread.
func (c *Controller) askAdvice() {
	ctx, cancel := context.WithTimeout(c.life, adviceTimeout)
	adv, err := c.fetchAdvice(ctx)
	cancel()
	c.post(func() {
		if c.closed {
			return
		}
		c.adviceCame(adv, err)
	})
}

func (c *Controller) adviceCame(adv model.Advice, err error) {
	var ce *busapi.CallError
	if err != nil && !(errors.As(err, &ce) && ce.Name == "org.freedesktop.DBus.Error.UnknownMethod") {
		fmt.Fprintln(c.log, "rapidreboot: cannot ask which restart is recommended:", err)
	}
	c.st.Advice = adv
	c.trace("advice known=%v kind=%s code=%s soft=%v cold=%v saves=%.1f recommend=%s", adv.Known, adv.Kind, adv.Code, adv.SoftAvailable, adv.ColdReboot, adv.Saves, c.st.Recommended())
	c.draw()
}

// nvidiaWarned says whether the plan carries the helper's NVIDIA warning
// (its English sentence, the msgid, as bootplan writes it).
func nvidiaWarned(warnings []string) bool {
	w := reason.Sentence(nil, reason.NvidiaDriver, "")
	for _, s := range warnings {
		if s == w {
			return true
		}
	}
	return false
}

// managerCame notes what the session manager allows (main thread).
func (c *Controller) managerCame(m session.Manager) {
	if m != nil {
		c.st.SoftPath, _ = session.SoftPath(m)
	}
}

// SetColdReboot is the "next restart is a normal one" check box: the
// helper's SetColdReboot or ClearColdReboot (a password may be asked),
// then the plan, the advice and the arm asked again, so that what is
// drawn afterwards is the helper's state. A refusal leaves the box as the
// helper says and tells why.
func (c *Controller) SetColdReboot(on bool) {
	if c.st.Busy || !c.st.Advice.Known || on == c.st.Advice.ColdReboot {
		c.draw() // the box goes back to what is true
		return
	}
	c.st.Busy, c.st.Message = true, ""
	c.draw()
	go func() {
		// Not under life: closing the window right after the click must
		// not call the change off halfway.
		ctx, cancel := context.WithTimeout(context.Background(), coldTimeout)
		defer cancel()
		err := c.sys.SetCold(ctx, on)
		p, perr := c.sys.Plan(ctx)
		release, cmdline := c.sys.Running()
		adv, aerr := c.fetchAdvice(ctx)
		armed, version, armErr := c.sys.Armed(ctx)
		c.post(func() {
			if c.closed {
				return
			}
			c.st.Busy = false
			c.st.Boot = bootOf(p, perr, release, cmdline)
			c.planCame(p, perr)
			c.adviceCame(adv, aerr)
			if armErr == nil {
				c.st.Armed, c.st.ArmedVersion = armed, version
			}
			if err != nil {
				fmt.Fprintln(c.log, "rapidreboot: coldreboot:", err)
				c.st.Message = fmt.Sprintf(i18n.G("Cannot change how the next restart is done: %s"), actions.Plain(err))
			}
			c.trace("coldreboot on=%v err=%v cold=%v", on, err, c.st.Advice.ColdReboot)
			c.draw()
		})
	}()
}
