package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/planwarn"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/actions"
	"github.com/rapidreboot/rapidreboot/ui/control"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// hang bounds a wait that only a bug makes long; it is no speed target.
const hang = 10 * time.Second

// mainLoop stands in for GTK's main thread: posted functions run one at a
// time on one goroutine, and the test acts on it through do.
type mainLoop struct {
	fs   chan func()
	stop chan struct{}
}

func newLoop(t *testing.T) *mainLoop {
	l := &mainLoop{fs: make(chan func()), stop: make(chan struct{})}
	go func() {
		for {
			select {
			case f := <-l.fs:
				f()
			case <-l.stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(l.stop) })
	return l
}

func (l *mainLoop) post(f func()) {
	select {
	case l.fs <- f:
	case <-l.stop:
	}
}

// do runs f on the loop and waits for it.
func (l *mainLoop) do(f func()) {
	done := make(chan struct{})
	l.post(func() { f(); close(done) })
	<-done
}

// view records what the controller asked of the window.
type view struct {
	st      model.State
	draws   int
	focus   []model.ButtonID
	focused model.ButtonID
	quits   int
	present int
}

func (v *view) Draw(st model.State)             { v.st = st; v.draws++ }
func (v *view) Focus(id model.ButtonID)         { v.focus = append(v.focus, id); v.focused = id }
func (v *view) HasFocus(id model.ButtonID) bool { return v.focused == id }
func (v *view) Present()                        { v.present++ }
func (v *view) Quit()                           { v.quits++ }

// fakeSystem answers the controller's questions and counts them.
type fakeSystem struct {
	mu         sync.Mutex
	caps       session.Caps
	updates    rebootreq.Status
	earlyGate  chan struct{} // if set, Early waits for it
	plan       busapi.Plan
	planErr    error
	sessGate   chan struct{} // if set, Session waits for it
	entered    int           // Session calls begun
	sessions   int           // Session calls ended
	sessErr    error
	inh        []session.Inhibitor
	inhCalls   int
	calls      []string
	outcome    session.Outcome
	kexecState bool

	release, cmdline string // the running kernel's
	armed            bool
	armedVersion     string
	armedErr         error
	disarmErr        error // Disarm fails with it (and leaves the arm)
	armedAsked       int

	// advice.go's questions: without advice, GetAdvice is unknown (an
	// older helper).
	advice      *busapi.Advice
	saves       float64
	coldErr     error
	softPath    bool // the session manager lets the dialog end the session first
	adviceAsked int
}

func (f *fakeSystem) Running() (string, string) { return f.release, f.cmdline }

func (f *fakeSystem) Armed(ctx context.Context) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armedAsked++
	if f.armedErr != nil {
		return false, "", f.armedErr
	}
	if !f.armed {
		return false, "", nil
	}
	return true, f.armedVersion, nil
}

func (f *fakeSystem) Early(ctx context.Context) (session.Caps, rebootreq.Status) {
	if f.earlyGate != nil {
		<-f.earlyGate
	}
	return f.caps, f.updates
}

func (f *fakeSystem) Plan(ctx context.Context) (busapi.Plan, error) { return f.plan, f.planErr }

func (f *fakeSystem) Session(ctx context.Context) (session.Manager, error) {
	f.mu.Lock()
	f.entered++
	f.mu.Unlock()
	if f.sessGate != nil {
		<-f.sessGate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions++
	if f.sessErr != nil {
		return nil, f.sessErr
	}
	return manager{f}, nil
}

func (f *fakeSystem) sessionsEnded() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions
}

func (f *fakeSystem) sessionsBegun() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.entered
}

func (f *fakeSystem) Inhibitors(ctx context.Context, m session.Manager) []session.Inhibitor {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inhCalls++
	return append([]session.Inhibitor(nil), f.inh...)
}

func (f *fakeSystem) setInhibitors(inh []session.Inhibitor) {
	f.mu.Lock()
	f.inh = inh
	f.mu.Unlock()
}

func (f *fakeSystem) inhibitorCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inhCalls
}

func (f *fakeSystem) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeSystem) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeSystem) Helper() actions.Helper { return helper{f} }
func (f *fakeSystem) Watch(m session.Manager) (actions.Waiter, error) {
	return waiter{f}, nil
}
func (f *fakeSystem) KexecLoaded() (bool, error) { return f.kexecState, nil }

type manager struct{ f *fakeSystem }

func (m manager) Name() string { return "stand-in" }
func (m manager) SoftPath() (bool, bool) {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	return m.f.softPath, false
}
func (m manager) Do(ctx context.Context, a session.Action) error {
	m.f.record("SM." + a.String())
	return nil
}

type helper struct{ f *fakeSystem }

func (h helper) Arm(ctx context.Context, interactive bool) (busapi.Plan, error) {
	h.f.record("Arm")
	h.f.mu.Lock()
	h.f.armed, h.f.armedVersion = true, h.f.plan.Version
	h.f.mu.Unlock()
	return h.f.plan, nil
}
func (h helper) SoftRestart(ctx context.Context, interactive bool) error {
	h.f.record("SoftRestart")
	return nil
}
func (h helper) SoftRestartAfterLogout(ctx context.Context, interactive bool) error {
	h.f.record("SoftRestartAfterLogout")
	return nil
}
func (h helper) CancelSoftRestart(ctx context.Context) error {
	h.f.record("CancelSoftRestart")
	return nil
}
func (h helper) Disarm(ctx context.Context) error {
	h.f.record("Disarm")
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	if h.f.disarmErr != nil {
		return h.f.disarmErr
	}
	h.f.armed = false
	return nil
}

type waiter struct{ f *fakeSystem }

func (w waiter) Wait(ctx context.Context, grace time.Duration) session.Outcome {
	w.f.record("Wait")
	if w.f.outcome == session.Cancelled {
		return session.Cancelled
	}
	// A Quick Restart on its way waits here until the user calls it off.
	if w.f.outcome == session.TimedOut {
		<-ctx.Done()
		return session.Cancelled
	}
	return session.Proceeding
}
func (w waiter) Close() {}

// dialog is a controller with a fake system and view on a fake main loop.
type dialog struct {
	t    *testing.T
	loop *mainLoop
	sys  *fakeSystem
	v    *view
	c    *control.Controller
	mu   sync.Mutex
	tr   []string
}

func newDialog(t *testing.T, sys *fakeSystem, o control.Options, cfg model.Config) *dialog {
	d := &dialog{t: t, loop: newLoop(t), sys: sys, v: &view{}}
	trace := func(format string, args ...any) {
		d.mu.Lock()
		d.tr = append(d.tr, fmt.Sprintf(format, args...))
		d.mu.Unlock()
	}
	d.c = control.New(o, cfg, d.loop.post, trace, control.WithSystem(sys), control.WithPollEvery(time.Millisecond), control.WithLog(io.Discard))
	t.Cleanup(func() { d.loop.do(d.c.Close) })
	return d
}

// open is the window's start: Start, Open (waiting for Start), the map.
func (d *dialog) open() {
	d.c.Start()
	d.loop.do(func() { d.c.Open(d.v, hang) })
	d.loop.do(d.c.Mapped)
}

// waitTrace waits for a trace line that contains substr.
func (d *dialog) waitTrace(substr string) string {
	d.t.Helper()
	deadline := time.Now().Add(hang)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, l := range d.tr {
			if strings.Contains(l, substr) {
				d.mu.Unlock()
				return l
			}
		}
		d.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.t.Fatalf("no trace line with %q in %q", substr, d.tr)
	return ""
}

// state is what the view was last told to draw.
func (d *dialog) state() (st model.State) {
	d.loop.do(func() { st = d.v.st })
	return st
}

func available() busapi.Plan {
	return busapi.Plan{Kernel: "/boot/vmlinuz-6.1.0-27-amd64", Version: "6.1.0-27-amd64", Available: true, Warnings: []string{}}
}

var dialogConfig = model.Config{Shift: true, Ctrl: true, Grace: time.Second}

func TestThePlanDecidesWhatQuickRestartSays(t *testing.T) {
	encrypted := available()
	encrypted.Warnings = []string{"grubenv's next_entry chooses this entry", planwarn.Passphrase([]string{"cryptroot"})}
	// The command line names an encrypted volume but the helper did not
	// warn (a plan withheld from this caller): the dialog guesses nothing.
	luksLine := available()
	luksLine.Cmdline = "rd.luks.name=0b1c=cryptroot root=/dev/mapper/cryptroot"
	refused := available()
	refused.Available, refused.Reason = false, reason.KexecDisabled
	for name, tc := range map[string]struct {
		plan       busapi.Plan
		err        error
		quick      model.Availability
		version    string
		passphrase []string
		reason     string
	}{
		"An available plan makes Quick Restart possible": {plan: available(), quick: model.Available, version: "6.1.0-27-amd64"},
		"The passphrase line names the volumes of the helper's warning": {plan: encrypted, quick: model.Available, version: "6.1.0-27-amd64",
			passphrase: []string{"cryptroot"}},
		"Without the helper's warning no volume is named": {plan: luksLine, quick: model.Available, version: "6.1.0-27-amd64"},
		"An unavailable plan says why": {plan: refused, quick: model.Unavailable,
			reason: "Starting another kernel directly has been switched off on this machine until the next restart."},
		"A missing helper is named plainly": {err: &busapi.CallError{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, quick: model.Unavailable,
			reason: "The Quick Restart service is not installed."},
		"Without a system bus the dialog says so": {err: fmt.Errorf("cannot reach the system bus: %w", control.ErrNoSystemBus), quick: model.Unavailable,
			reason: "The system message bus is not running."},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := newDialog(t, &fakeSystem{plan: tc.plan, planErr: tc.err}, control.Options{}, dialogConfig)
			d.open()
			d.waitTrace("plan available=")
			st := d.state()
			if st.Quick != tc.quick || st.Version != tc.version || !reflect.DeepEqual(st.Passphrase, tc.passphrase) || st.Reason != tc.reason {
				t.Errorf("quick=%v version=%q passphrase=%q reason=%q, want %v %q %q %q", st.Quick, st.Version, st.Passphrase, st.Reason,
					tc.quick, tc.version, tc.passphrase, tc.reason)
			}
		})
	}
}

// The session manager is found once: a click while the first detection
// is under way waits for it instead of starting a second one.
func TestTheSessionIsDetectedOnce(t *testing.T) {
	gate := make(chan struct{})
	sys := &fakeSystem{plan: available(), sessGate: gate}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("plan available=true")
	for sys.sessionsBegun() == 0 { // the detection after the map is under way
		time.Sleep(time.Millisecond)
	}
	d.loop.do(func() { d.c.Click(model.BLogout, 0, true) })
	// A second detection would begin at once; give it the chance to
	// show before the first one ends. (Not a speed target: the right code
	// passes whatever this wait is.)
	for i := 0; i < 200 && sys.sessionsBegun() < 2; i++ {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	d.waitTrace("result logout done=true")
	d.waitTrace("session manager=")
	if n := sys.sessionsEnded(); n != 1 {
		t.Errorf("the session was detected %d times", n)
	}
	if got := sys.recorded(); !reflect.DeepEqual(got, []string{"SM.logout"}) {
		t.Errorf("calls %q", got)
	}
	if quits := d.quits(); quits != 1 {
		t.Errorf("the dialog quit %d times after a logout on its way", quits)
	}
}

func (d *dialog) quits() (n int) {
	d.loop.do(func() { n = d.v.quits })
	return n
}

// A failed detection is not kept: the click asks again.
func TestAFailedDetectionIsTriedAgainByAClick(t *testing.T) {
	sys := &fakeSystem{plan: available(), sessErr: errors.New("no session bus")}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace(`session manager=""`)
	d.loop.do(func() { d.c.Click(model.BLogout, 0, true) })
	l := d.waitTrace("result logout")
	if !strings.Contains(l, "Cannot reach the session manager or logind: no session bus") {
		t.Errorf("result %s", l)
	}
	if n := sys.sessionsEnded(); n != 2 {
		t.Errorf("detections %d, want 2 (after the map, then for the click)", n)
	}
}

// The inhibitor list is read again while the window is open and the
// poller ends with the window: before, it ran until the process ended.
func TestTheInhibitorPollerStopsWhenTheWindowCloses(t *testing.T) {
	sys := &fakeSystem{plan: available()}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("session manager=")
	sys.setInhibitors([]session.Inhibitor{{Who: "apt", Why: "installing", Mode: "block", From: "logind"}})
	d.waitTrace("inhibitors=1")
	if st := d.state(); len(st.Inhibitors) != 1 || st.Inhibitors[0].Who != "apt" {
		t.Errorf("drawn inhibitors %+v", st.Inhibitors)
	}
	d.loop.do(d.c.Close)
	select {
	case <-d.c.PollerDone():
	case <-time.After(hang):
		t.Fatal("the inhibitor poller still runs after the window closed")
	}
	n := sys.inhibitorCalls()
	time.Sleep(20 * time.Millisecond) // twenty polls' worth
	if m := sys.inhibitorCalls(); m != n {
		t.Errorf("the inhibitors were read %d more times after the poller ended", m-n)
	}
}

// Closed before the map, no poller starts and nothing waits.
func TestAWindowClosedBeforeItsMapStartsNoPoller(t *testing.T) {
	sys := &fakeSystem{plan: available()}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.c.Start()
	d.loop.do(func() { d.c.Open(d.v, hang) })
	d.loop.do(d.c.Close)
	d.loop.do(d.c.Mapped)
	select {
	case <-d.c.PollerDone():
	case <-time.After(hang):
		t.Fatal("the poller did not end")
	}
}

func TestClicks(t *testing.T) {
	for name, tc := range map[string]struct {
		id        model.ButtonID
		state     uint
		fromEvent bool
		held      bool
		calls     []string
	}{
		"Restart disarms first":                             {id: model.BRestart, fromEvent: true, calls: []string{"Disarm", "SM.reboot"}},
		"Shift on the click is a Quick Restart":             {id: model.BRestart, state: model.ShiftMask, fromEvent: true, calls: []string{"Arm", "SM.reboot", "Wait"}},
		"Without an event what is drawn decides":            {id: model.BRestart, held: true, calls: []string{"Arm", "SM.reboot", "Wait"}},
		"Without an event and nothing held it is a Restart": {id: model.BRestart, calls: []string{"Disarm", "SM.reboot"}},
		"The event's state wins over what was drawn":        {id: model.BRestart, held: true, fromEvent: true, calls: []string{"Disarm", "SM.reboot"}},
		"Shut Down goes to the session manager alone":       {id: model.BPowerOff, fromEvent: true, calls: []string{"SM.poweroff"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sys := &fakeSystem{plan: available(), caps: session.Caps{Reboot: "yes", PowerOff: "yes"}}
			d := newDialog(t, sys, control.Options{}, dialogConfig)
			d.open()
			d.waitTrace("plan available=true")
			d.loop.do(func() {
				d.c.SetHeld(tc.held, "test")
				d.c.Click(tc.id, tc.state, tc.fromEvent)
			})
			d.waitTrace("result ")
			if got := sys.recorded(); !reflect.DeepEqual(got, tc.calls) {
				t.Errorf("calls %q, want %q", got, tc.calls)
			}
		})
	}
}

// Escape while a Quick Restart waits to begin calls it off (the runner
// disarms) and keeps the window; a second one closes it.
func TestQuitDuringAQuickRestartCallsItOffFirst(t *testing.T) {
	sys := &fakeSystem{plan: available(), outcome: session.TimedOut}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("plan available=true")
	d.loop.do(func() { d.c.Click(model.BRestart, model.ShiftMask, true) })
	for !reflect.DeepEqual(sys.recorded(), []string{"Arm", "SM.reboot", "Wait"}) {
		time.Sleep(time.Millisecond)
	}
	if st := d.state(); !st.Busy {
		t.Error("not busy while the Quick Restart is on its way")
	}
	d.loop.do(d.c.Quit)
	d.waitTrace("result quick-restart done=false")
	st := d.state()
	if st.Busy || st.Message != "Quick Restart was cancelled. The next restart will be a normal one." {
		t.Errorf("busy=%v message=%q", st.Busy, st.Message)
	}
	if got := sys.recorded(); !reflect.DeepEqual(got, []string{"Arm", "SM.reboot", "Wait", "Disarm"}) {
		t.Errorf("calls %q", got)
	}
	if d.quits() != 0 {
		t.Error("the first Escape closed the window")
	}
	d.loop.do(d.c.Quit)
	if d.quits() != 1 {
		t.Error("the second Escape did not close the window")
	}
}

// Logind's answers that come after the window opened are drawn then.
func TestLateCapsAreDrawnWhenTheyCome(t *testing.T) {
	gate := make(chan struct{})
	sys := &fakeSystem{plan: available(), earlyGate: gate, caps: session.Caps{Suspend: "yes"}}
	d := newDialog(t, sys, control.Options{}, model.Config{Shift: true, Suspend: model.ShowAuto})
	d.c.Start()
	d.loop.do(func() { d.c.Open(d.v, time.Millisecond) })
	if st := d.state(); st.Caps.Suspend != "" {
		t.Fatalf("caps before they came: %+v", st.Caps)
	}
	close(gate)
	deadline := time.Now().Add(hang)
	for d.state().Caps.Suspend != "yes" {
		if time.Now().After(deadline) {
			t.Fatal("logind's late answers were never drawn")
		}
		time.Sleep(time.Millisecond)
	}
}

// With --quick the focus moves to Quick Restart once the plan allows it,
// unless the user moved it.
func TestQuickOptionFocusesQuickRestartOnceThePlanCame(t *testing.T) {
	sys := &fakeSystem{plan: available()}
	d := newDialog(t, sys, control.Options{Quick: true}, dialogConfig)
	d.open()
	d.waitTrace("plan available=true")
	var focus []model.ButtonID
	d.loop.do(func() { focus = append(focus, d.v.focus...) })
	if want := []model.ButtonID{model.BCancel, model.BRestart}; !reflect.DeepEqual(focus, want) {
		t.Errorf("focus went %v, want %v", focus, want)
	}
}

// A second launch adopts its options and raises the window.
func TestReopenAdoptsTheOptions(t *testing.T) {
	d := newDialog(t, &fakeSystem{plan: available()}, control.Options{}, dialogConfig)
	d.open()
	d.loop.do(func() { d.c.Reopen(control.Options{Quick: true, ForUpdates: true}) })
	st := d.state()
	if !st.StartQuick || !st.ForUpdates || !st.QuickShown() {
		t.Errorf("state after reopen %+v", st)
	}
	d.loop.do(func() {
		if d.v.present != 1 {
			t.Errorf("presented %d times", d.v.present)
		}
	})
}
