package control_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/control"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// Issue 16: the dialog prepares the Quick Restart while it offers it
// (prepare.go), and gives the prepared kernel up when it goes without one.

// prepSystem is fakeSystem with the helper's Prepare and Unprepare.
type prepSystem struct {
	*fakeSystem
	pmu        sync.Mutex
	prepareErr error
}

func (p *prepSystem) Prepare(ctx context.Context) error {
	p.record("Prepare")
	p.pmu.Lock()
	defer p.pmu.Unlock()
	return p.prepareErr
}

func (p *prepSystem) Unprepare(ctx context.Context) error {
	p.record("Unprepare")
	return nil
}

func newPrepDialog(t *testing.T, f *fakeSystem, o control.Options, cfg model.Config) (*dialog, *prepSystem) {
	ps := &prepSystem{fakeSystem: f}
	d := &dialog{t: t, loop: newLoop(t), sys: f, v: &view{}}
	trace := func(format string, args ...any) {
		d.mu.Lock()
		d.tr = append(d.tr, fmt.Sprintf(format, args...))
		d.mu.Unlock()
	}
	d.c = control.New(o, cfg, d.loop.post, trace, control.WithSystem(ps), control.WithPollEvery(time.Millisecond), control.WithLog(io.Discard))
	t.Cleanup(func() { d.loop.do(d.c.Close) })
	return d, ps
}

func count(calls []string, s string) int {
	n := 0
	for _, c := range calls {
		if c == s {
			n++
		}
	}
	return n
}

func TestTheDialogPreparesOnlyOnceQuickRestartIsOnOffer(t *testing.T) {
	d, _ := newPrepDialog(t, &fakeSystem{plan: available()}, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("plan available=true")
	d.loop.do(func() {})
	if n := count(d.sys.recorded(), "Prepare"); n != 0 {
		t.Fatalf("%d Prepares with Restart on offer, want none", n)
	}
	// The modifier turns Restart into Quick Restart: now it is on offer.
	d.loop.do(func() { d.c.SetHeld(true, "test") })
	d.waitTrace("prepare done")
	d.loop.do(func() { d.c.SetHeld(false, "test") })
	d.loop.do(func() { d.c.SetHeld(true, "test") })
	if n := count(d.sys.recorded(), "Prepare"); n != 1 {
		t.Errorf("%d Prepares, want 1", n)
	}
}

func TestQuickOptionOrButtonPreparesAsSoonAsThePlanIsAvailable(t *testing.T) {
	for name, tc := range map[string]struct {
		o   control.Options
		cfg model.Config
	}{
		"--quick":                  {o: control.Options{Quick: true}, cfg: dialogConfig},
		"the Quick Restart button": {cfg: model.Config{Shift: true, QuickButton: true}},
	} {
		t.Run(name, func(t *testing.T) {
			d, _ := newPrepDialog(t, &fakeSystem{plan: available()}, tc.o, tc.cfg)
			d.open()
			d.waitTrace("prepare done err=<nil>")
		})
	}
}

func TestNothingIsPreparedWhenQuickRestartIsUnavailableOrArmed(t *testing.T) {
	refused := available()
	refused.Available, refused.Reason = false, reason.Lockdown
	for name, f := range map[string]*fakeSystem{
		"unavailable": {plan: refused},
		"armed":       {plan: available(), armed: true, armedVersion: "6.1.0-27-amd64"},
	} {
		t.Run(name, func(t *testing.T) {
			d, _ := newPrepDialog(t, f, control.Options{Quick: true}, dialogConfig)
			d.open()
			d.waitTrace("plan available=")
			d.waitTrace("armed=")
			d.loop.do(func() {})
			if n := count(d.sys.recorded(), "Prepare"); n != 0 {
				t.Errorf("%d Prepares", n)
			}
		})
	}
}

func TestClosingTheDialogUnpreparesOnce(t *testing.T) {
	d, _ := newPrepDialog(t, &fakeSystem{plan: available()}, control.Options{Quick: true}, dialogConfig)
	d.open()
	d.waitTrace("prepare done")
	d.loop.do(d.c.Close)
	d.waitTrace("unprepare the dialog closed")
	d.loop.do(d.c.Close)
	waitFor(t, func() bool { return count(d.sys.recorded(), "Unprepare") == 1 })
}

func TestAQuickRestartClickArmsWithoutUnpreparing(t *testing.T) {
	d, _ := newPrepDialog(t, &fakeSystem{plan: available(), outcome: session.Proceeding}, control.Options{Quick: true}, dialogConfig)
	d.open()
	d.waitTrace("prepare done")
	d.loop.do(func() { d.c.Click(model.BRestart, 0, true) })
	d.waitTrace("result quick-restart")
	d.loop.do(d.c.Close)
	calls := d.sys.recorded()
	if !slices.Contains(calls, "Arm") || slices.Contains(calls, "Unprepare") {
		t.Errorf("calls %q: want Arm and no Unprepare", calls)
	}
}

func TestAnotherActionGivesThePreparedKernelUp(t *testing.T) {
	d, _ := newPrepDialog(t, &fakeSystem{plan: available(), outcome: session.Proceeding}, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("plan available=true")
	d.loop.do(func() { d.c.SetHeld(true, "test") })
	d.waitTrace("prepare done")
	d.loop.do(func() { d.c.SetHeld(false, "test") })
	d.loop.do(func() { d.c.Click(model.BPowerOff, 0, true) })
	d.waitTrace("unprepare for")
	waitFor(t, func() bool { return count(d.sys.recorded(), "Unprepare") == 1 })
}

// polkit would ask for a password: nothing was loaded, nothing is said,
// and the click arms (interactively) as before.
func TestAChallengedPrepareIsQuietAndTheClickStillArms(t *testing.T) {
	f := &fakeSystem{plan: available(), outcome: session.Proceeding}
	d, ps := newPrepDialog(t, f, control.Options{Quick: true}, dialogConfig)
	ps.prepareErr = &busapi.CallError{Name: busapi.ErrAuthenticationRequired, Code: reason.AuthenticationRequired}
	d.open()
	l := d.waitTrace("prepare done")
	if !strings.Contains(l, "authentication-required") {
		t.Errorf("trace %q", l)
	}
	d.loop.do(func() { d.c.Click(model.BRestart, 0, true) })
	d.waitTrace("result quick-restart")
	if !slices.Contains(d.sys.recorded(), "Arm") {
		t.Errorf("calls %q", d.sys.recorded())
	}
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(hang); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatal("timed out")
}

// Quick Restart recommended by the helper's advice is drawn as its own
// button without a key held: on offer, so prepared.
func TestARecommendedQuickRestartIsPreparedWithoutAKeyHeld(t *testing.T) {
	d, _ := newPrepDialog(t, &fakeSystem{plan: available(), advice: kernelUpdate()}, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("prepare done err=<nil>")
	if n := count(d.sys.recorded(), "Prepare"); n != 1 {
		t.Errorf("%d Prepares, want 1", n)
	}
}
