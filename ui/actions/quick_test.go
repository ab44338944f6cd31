package actions

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// The overlapped Quick Restart (quick.go): fakes whose load takes as long
// as the test says, and that notice whether the restart was asked while it
// ran.

// loadingHelper is a helper whose Arm is a load under way: it waits (a
// bounded while) for the session manager to be asked, then for loadDone
// (nil: at once); a Disarm during the load cancels it, as the helper's
// row 6 does, unless armAfterDisarm (a polkit prompt answered after it).
type loadingHelper struct {
	*log
	smAsked        chan struct{}
	loadDone       chan struct{}
	armErr         error
	armAfterDisarm bool

	mu         sync.Mutex
	overlapped bool
	disarmed   chan struct{}
	once       sync.Once
}

func (h *loadingHelper) Arm(ctx context.Context, interactive bool) (busapi.Plan, error) {
	h.add("Arm")
	if !interactive {
		h.add("(not interactive!)")
	}
	select {
	case <-h.smAsked:
		h.mu.Lock()
		h.overlapped = true
		h.mu.Unlock()
	case <-time.After(5 * time.Second):
		// The request never came while loading: the test fails on
		// overlapped, not on a hang.
	}
	if h.loadDone != nil {
		select {
		case <-h.loadDone:
		case <-h.disarmed:
			if !h.armAfterDisarm {
				h.add("Arm cancelled")
				return busapi.Plan{}, &busapi.CallError{Name: busapi.ErrFailed, Code: reason.LoadFailed, Detail: "cancelled"}
			}
		}
	}
	h.add("Arm done")
	return busapi.Plan{Available: h.armErr == nil}, h.armErr
}

func (h *loadingHelper) Disarm(ctx context.Context) error {
	h.add("Disarm")
	h.once.Do(func() { close(h.disarmed) })
	return nil
}

// askedManager closes smAsked when asked.
type askedManager struct {
	*log
	smAsked chan struct{}
	err     error
	once    sync.Once
}

func (m *askedManager) Name() string { return "GNOME" }
func (m *askedManager) Do(ctx context.Context, a session.Action) error {
	m.add("SM." + a.String())
	m.once.Do(func() { close(m.smAsked) })
	return m.err
}

// toldWaiter returns the outcome the test sends, or TimedOut when ctx ends
// (the dialog's Cancel).
type toldWaiter struct {
	*log
	outcome chan session.Outcome
}

func (w *toldWaiter) Wait(ctx context.Context, grace time.Duration) session.Outcome {
	select {
	case o := <-w.outcome:
		w.add("Wait " + o.String())
		return o
	case <-ctx.Done():
		w.add("Wait " + session.TimedOut.String())
		return session.TimedOut
	}
}
func (w *toldWaiter) Close() {}

type quickRig struct {
	l        *log
	h        *loadingHelper
	m        *askedManager
	w        *toldWaiter
	r        *Runner
	progress []string
	pmu      sync.Mutex
}

func newQuickRig() *quickRig {
	l := &log{}
	asked := make(chan struct{})
	q := &quickRig{l: l}
	q.h = &loadingHelper{log: l, smAsked: asked, disarmed: make(chan struct{})}
	q.m = &askedManager{log: l, smAsked: asked}
	q.w = &toldWaiter{log: l, outcome: make(chan session.Outcome, 1)}
	q.r = &Runner{
		Helper:      q.h,
		Manager:     q.m,
		Watch:       func() (Waiter, error) { return q.w, nil },
		Grace:       time.Minute,
		KexecLoaded: func() (bool, error) { return false, nil },
		Progress: func(s string) {
			q.pmu.Lock()
			q.progress = append(q.progress, s)
			q.pmu.Unlock()
		},
	}
	return q
}

// run starts the Quick Restart; its result comes on the channel.
func (q *quickRig) run(ctx context.Context) <-chan Result {
	ch := make(chan Result, 1)
	go func() { ch <- q.r.Run(ctx, model.QuickRestart) }()
	return ch
}

func (q *quickRig) count(call string) int {
	n := 0
	for _, c := range q.l.all() {
		if c == call {
			n++
		}
	}
	return n
}

func wait(t *testing.T, ch <-chan Result) Result {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(20 * time.Second):
		t.Fatal("the Quick Restart never ended")
		return Result{}
	}
}

// until waits for cond, bounded: a flow that never gets there fails.
func until(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never happened")
		}
	}
}

const cancelledMsg = "Quick Restart was cancelled. The next restart will be a normal one."

func TestQuickRestartLoadsWhileTheSessionManagerEndsTheSession(t *testing.T) {
	q := newQuickRig()
	q.w.outcome <- session.Proceeding
	res := wait(t, q.run(context.Background()))
	if !res.Done || res.Message != "" {
		t.Errorf("result %+v, want done", res)
	}
	if !q.h.overlapped {
		t.Errorf("the session manager was asked only after the load: %q", q.l.all())
	}
	if n := q.count("Disarm"); n != 0 {
		t.Errorf("%d Disarms after a Quick Restart that went on", n)
	}
	if slices.Contains(q.l.all(), "(not interactive!)") {
		t.Error("Arm did not allow a polkit prompt")
	}
}

func TestQuickRestartWaitsForTheLoadAfterTheShutdownWasAnnounced(t *testing.T) {
	q := newQuickRig()
	q.h.loadDone = make(chan struct{})
	q.w.outcome <- session.Proceeding
	ch := q.run(context.Background())
	// logind announced the shutdown; the arm is not written yet, and the
	// helper writes it only while its caller is still on the bus.
	until(t, func() bool { return slices.Contains(q.l.all(), "Wait proceeding") })
	select {
	case res := <-ch:
		t.Fatalf("the dialog ended before the load: %+v", res)
	case <-time.After(50 * time.Millisecond):
	}
	close(q.h.loadDone)
	if res := wait(t, ch); !res.Done {
		t.Errorf("result %+v, want done", res)
	}
}

func TestQuickRestartWithAFailedLoadSaysTheRestartIsANormalOne(t *testing.T) {
	q := newQuickRig()
	q.h.armErr = &busapi.CallError{Name: busapi.ErrFailed, Code: reason.NoMemory}
	q.w.outcome <- session.Proceeding
	res := wait(t, q.run(context.Background()))
	want := "Quick Restart is not possible: There is not enough free memory to load the new kernel. The restart will be a normal one."
	if res.Done || res.Message != want {
		t.Errorf("result %+v, want the message %q", res, want)
	}
	if !slices.Contains(q.progress, want) {
		t.Errorf("progress %q does not say it while waiting", q.progress)
	}
	if n := q.count("SM.reboot"); n != 1 {
		t.Errorf("the restart was asked %d times", n)
	}
}

func TestQuickRestartCancelledInTheSessionManager(t *testing.T) {
	cases := []struct {
		desc           string
		loading        bool // the load is still under way at the cancel
		armAfterDisarm bool
		outcome        session.Outcome
		calls          map[string]int
	}{
		{"after the load: disarmed", false, false, session.Cancelled,
			map[string]int{"Disarm": 1, "Arm done": 1}},
		{"during the load: the Disarm cancels it", true, false, session.Cancelled,
			map[string]int{"Disarm": 1, "Arm cancelled": 1, "Arm done": 0}},
		{"never begun within the grace period: as cancelled", true, false, session.TimedOut,
			map[string]int{"Disarm": 1, "Arm cancelled": 1}},
		{"an Arm that still arms after the Disarm is disarmed again", true, true, session.Cancelled,
			map[string]int{"Disarm": 2, "Arm done": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			q := newQuickRig()
			if tc.loading {
				q.h.loadDone = make(chan struct{}) // never closed
			}
			q.h.armAfterDisarm = tc.armAfterDisarm
			ch := q.run(context.Background())
			if !tc.loading {
				until(t, func() bool { return q.count("Arm done") > 0 })
			}
			q.w.outcome <- tc.outcome
			res := wait(t, ch)
			if res.Done || res.Message != cancelledMsg {
				t.Errorf("result %+v, want %q", res, cancelledMsg)
			}
			for call, n := range tc.calls {
				if got := q.count(call); got != n {
					t.Errorf("%d × %s, want %d (calls %q)", got, call, n, q.l.all())
				}
			}
		})
	}
}

func TestQuickRestartCancelledInTheDialogDisarms(t *testing.T) {
	q := newQuickRig()
	q.h.loadDone = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := q.run(ctx)
	until(t, func() bool { return q.count("SM.reboot") > 0 })
	cancel() // Escape or Cancel while waiting
	res := wait(t, ch)
	if res.Done || res.Message != cancelledMsg {
		t.Errorf("result %+v", res)
	}
	if q.count("Disarm") != 1 || q.count("Arm cancelled") != 1 {
		t.Errorf("calls %q", q.l.all())
	}
}

func TestQuickRestartRequestRefusedCancelsTheLoad(t *testing.T) {
	q := newQuickRig()
	q.h.loadDone = make(chan struct{})
	q.m.err = errors.New("cannot ask GNOME to reboot: no")
	res := wait(t, q.run(context.Background()))
	if res.Done || res.Message != "Cannot restart: no" {
		t.Errorf("result %+v", res)
	}
	if q.count("Disarm") != 1 || q.count("Arm cancelled") != 1 || q.count("Wait proceeding") != 0 {
		t.Errorf("calls %q", q.l.all())
	}
}
