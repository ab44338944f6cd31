package helper_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
	"github.com/rapidreboot/rapidreboot/backend/system/polkit"
)

// Issue 16: Prepare loads at the dialog's offer, the click's Arm only
// writes the arm (prepare.go), with fakes.

// fakeWatch is Config.WatchCaller: leave(sender) is the bus daemon's
// NameOwnerChanged for it.
type fakeWatch struct {
	mu      sync.Mutex
	watches map[string][]func()
	stopped int
}

func (w *fakeWatch) watch(ctx context.Context, sender string, gone func()) (func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watches == nil {
		w.watches = map[string][]func(){}
	}
	w.watches[sender] = append(w.watches[sender], gone)
	return func() {
		w.mu.Lock()
		w.stopped++
		w.mu.Unlock()
	}, nil
}

func (w *fakeWatch) leave(e *env, sender string) {
	e.users.gone.Store(sender, true)
	w.mu.Lock()
	fs := w.watches[sender]
	w.mu.Unlock()
	for _, f := range fs {
		go f()
	}
}

func newPrepEnv(t *testing.T) (*env, *fakeWatch) {
	w := &fakeWatch{}
	e := newEnv(t, func(c *helper.Config) { c.WatchCaller = w.watch })
	return e, w
}

// preparedState: the image loaded, the pending and loaded marks there, no
// arm — what the shutdown hook unloads on both verbs.
func (e *env) assertPrepared(t *testing.T) {
	t.Helper()
	if !e.fake.Loaded() || !e.runFile(armstate.LoadedFile) || e.runFile(armstate.ArmFile) || e.h.Armed() || !e.h.Prepared() {
		t.Errorf("prepared: loaded %v, loaded mark %v, arm %v, Armed %v, Prepared %v",
			e.fake.Loaded(), e.runFile(armstate.LoadedFile), e.runFile(armstate.ArmFile), e.h.Armed(), e.h.Prepared())
	}
	if _, err := os.Stat(filepath.Join(e.root, armstate.StateDir, armstate.PendingFile)); err != nil {
		t.Errorf("no pending mark: %v", err)
	}
}

// assertUnloaded: nothing loaded, no marks, nothing prepared or armed.
func (e *env) assertUnloaded(t *testing.T) {
	t.Helper()
	e.assertDisarmed(t)
	if e.h.Prepared() || e.runFile(armstate.LoadedFile) {
		t.Errorf("Prepared %v, loaded mark %v", e.h.Prepared(), e.runFile(armstate.LoadedFile))
	}
	if _, err := os.Stat(filepath.Join(e.root, armstate.StateDir, armstate.PendingFile)); err == nil {
		t.Error("the pending mark stayed")
	}
}

func waitUntil(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestPrepareThenArmByTheSameCallerLoadsOnceAndOnlyWritesTheArm(t *testing.T) {
	e, _ := newPrepEnv(t)
	p, err := e.h.Prepare(context.Background(), ":1.9")
	if err != nil || p.Kernel == "" || !p.Available {
		t.Fatalf("Prepare = %+v, %v", p, err)
	}
	e.assertPrepared(t)
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if !e.h.Armed() || !e.runFile(armstate.ArmFile) || e.h.Prepared() {
		t.Errorf("Armed %v, arm file %v, Prepared %v", e.h.Armed(), e.runFile(armstate.ArmFile), e.h.Prepared())
	}
	// The arm names the image the Prepare loaded.
	st, err := armstate.Read(filepath.Join(e.root, armstate.RunDir))
	if err != nil || st.Plan.Kernel != p.Kernel {
		t.Errorf("arm %+v, %v", st.Plan, err)
	}
}

func TestAnArmJoinsAPrepareStillLoading(t *testing.T) {
	e, _ := newPrepEnv(t)
	started, release := make(chan struct{}), make(chan struct{})
	e.fake.OnLoad = func() { close(started); <-release }
	prepErr := make(chan error, 1)
	go func() { _, err := e.h.Prepare(context.Background(), ":1.9"); prepErr <- err }()
	<-started
	armErr := make(chan error, 1)
	go func() { _, err := e.h.Arm(context.Background(), ":1.9", false); armErr <- err }()
	time.Sleep(20 * time.Millisecond)
	e.fake.OnLoad = nil
	close(release)
	if err := <-prepErr; err != nil {
		t.Fatal(err)
	}
	if err := <-armErr; err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 || !e.h.Armed() {
		t.Errorf("%d loads, Armed %v: want one load, armed", n, e.h.Armed())
	}
}

func TestAPreparedImageIsUnloadedWhenItsCallerLeavesTheBus(t *testing.T) {
	e, w := newPrepEnv(t)
	if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	w.leave(e, ":1.9")
	waitUntil(t, "the unload", func() bool { return !e.h.Prepared() })
	e.assertUnloaded(t)
	if !e.stderr.waitFor("its caller left the bus") {
		t.Errorf("log: %s", e.stderr)
	}
}

func TestUnprepareAndDisarmUnloadAPreparedImage(t *testing.T) {
	for _, how := range []string{"Unprepare", "Disarm"} {
		t.Run(how, func(t *testing.T) {
			e, _ := newPrepEnv(t)
			if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
				t.Fatal(err)
			}
			var err error
			if how == "Unprepare" {
				err = e.h.Unprepare(context.Background(), ":1.9")
			} else {
				err = e.h.Disarm(context.Background(), ":1.9")
			}
			if err != nil {
				t.Fatal(err)
			}
			e.assertUnloaded(t)
		})
	}
}

// Unprepare touches only the caller's own unarmed image: never an arm,
// never another caller's image.
func TestUnprepareLeavesAnArmAndAnotherCallersImageAlone(t *testing.T) {
	e, _ := newPrepEnv(t)
	if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Unprepare(context.Background(), ":1.10"); err != nil {
		t.Fatal(err)
	}
	e.assertPrepared(t)
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Unprepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	if !e.h.Armed() || !e.fake.Loaded() {
		t.Error("Unprepare undid an arm")
	}
}

func TestPrepareByOneCallerArmByAnotherLoadsTheSecondsOwn(t *testing.T) {
	e, _ := newPrepEnv(t)
	if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.Arm(context.Background(), ":1.10", false); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 2 {
		t.Errorf("%d loads, want 2 (B's own)", n)
	}
	if !e.h.Armed() || e.h.Prepared() {
		t.Errorf("Armed %v, Prepared %v", e.h.Armed(), e.h.Prepared())
	}
	// A's Unprepare (its dialog closing) leaves B's arm.
	if err := e.h.Unprepare(context.Background(), ":1.9"); err != nil || !e.h.Armed() {
		t.Errorf("Unprepare = %v, Armed %v", err, e.h.Armed())
	}
}

func TestAnotherCallersPrepareReplacesTheImage(t *testing.T) {
	e, w := newPrepEnv(t)
	for _, s := range []string{":1.9", ":1.10"} {
		if _, err := e.h.Prepare(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
	// The first caller leaving no longer matters; the second's goes with it.
	w.leave(e, ":1.9")
	time.Sleep(50 * time.Millisecond)
	e.assertPrepared(t)
	w.leave(e, ":1.10")
	waitUntil(t, "the unload", func() bool { return !e.h.Prepared() })
	e.assertUnloaded(t)
}

func TestPreparingAgainWithTheSamePlanDoesNotLoadAgain(t *testing.T) {
	e, _ := newPrepEnv(t)
	for range 3 {
		if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}

func TestAnUnauthorisedPrepareLoadsNothing(t *testing.T) {
	e, _ := newPrepEnv(t)
	e.auth.err = reason.Wrap(reason.NotAuthorized, "", polkit.ErrDenied)
	_, err := e.h.Prepare(context.Background(), ":1.9")
	if errName(err) != busapi.ErrNotAuthorized {
		t.Errorf("Prepare = %v", err)
	}
	if e.fake.Count(kexectest.OpLoad) != 0 {
		t.Error("loaded")
	}
	e.assertUnloaded(t)
}

// polkit would ask for a password: Prepare never lets it (a dialog that
// merely opened raises no prompt), answers AuthenticationRequired, loads
// nothing; the click's Arm then asks interactively as before.
func TestAPrepareThatPolkitWouldChallengeIsNeverInteractiveAndLoadsNothing(t *testing.T) {
	e, _ := newPrepEnv(t)
	e.auth.err = reason.Wrap(reason.AuthenticationRequired, "", polkit.ErrChallenge)
	_, err := e.h.Prepare(context.Background(), ":1.9")
	if errName(err) != busapi.ErrAuthenticationRequired || reason.CodeOf(err) != reason.AuthenticationRequired {
		t.Errorf("Prepare = %v (%s)", err, reason.CodeOf(err))
	}
	for i, in := range e.auth.inter {
		if in {
			t.Errorf("polkit question %d (%s) was interactive", i, e.auth.actions[i])
		}
	}
	if len(e.auth.inter) == 0 {
		t.Error("polkit was not asked")
	}
	e.assertUnloaded(t)
}

func TestAPrepareRefusedByPreflightLoadsNothingAndDropsAnEarlierOne(t *testing.T) {
	e, _ := newPrepEnv(t)
	if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	// Quick Restart became unavailable (kexec_load_disabled).
	if err := os.WriteFile(filepath.Join(e.root, "proc/sys/kernel/kexec_load_disabled"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := e.h.Prepare(context.Background(), ":1.9")
	if errName(err) != busapi.ErrUnavailable {
		t.Errorf("Prepare = %v", err)
	}
	e.assertUnloaded(t)
}

func TestAKernelReplacedBetweenPrepareAndArmIsLoadedAfresh(t *testing.T) {
	e, _ := newPrepEnv(t)
	p, err := e.h.Prepare(context.Background(), ":1.9")
	if err != nil {
		t.Fatal(err)
	}
	// Replaced in place, same size, mtime set back: the ctime tells.
	k := filepath.Join(e.root, p.Kernel)
	fi, err := os.Stat(k)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(k)
	data[0] ^= 0xff
	time.Sleep(20 * time.Millisecond)
	if err := os.WriteFile(k, data, fi.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(k, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 2 {
		t.Errorf("%d loads, want a fresh load", n)
	}
	if !e.h.Armed() {
		t.Error("not armed")
	}
}

func TestAPreparedImageIsUnloadedAfterItsBound(t *testing.T) {
	e, _ := newPrepEnv(t)
	e.h.SetPrepareTTL(50 * time.Millisecond)
	if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the unload", func() bool { return !e.h.Prepared() })
	e.assertUnloaded(t)
	if !e.stderr.waitFor("it was not armed within") {
		t.Errorf("log: %s", e.stderr)
	}
}

// Issue 15: an unload that fails keeps the loaded mark, so the shutdown
// hook still sees the image as the product's and unloads it on either verb.
func TestAPreparedImageWhoseUnloadFailsKeepsTheMarkForTheHook(t *testing.T) {
	e, _ := newPrepEnv(t)
	if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	e.fake.UnloadErr = kexectest.Errno(16) // EBUSY
	if err := e.h.Unprepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	if !e.fake.Loaded() || !e.runFile(armstate.LoadedFile) || !armstate.Ours(filepath.Join(e.root, armstate.RunDir)) {
		t.Errorf("loaded %v, loaded mark %v", e.fake.Loaded(), e.runFile(armstate.LoadedFile))
	}
	if e.runFile(armstate.ArmFile) || e.h.Armed() {
		t.Error("armed")
	}
	if !e.stderr.waitFor("cannot unload the prepared") {
		t.Errorf("log: %s", e.stderr)
	}
}

func TestAPrepareWhileArmedChangesNothing(t *testing.T) {
	e, _ := newPrepEnv(t)
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.Prepare(context.Background(), ":1.10"); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 || !e.h.Armed() || e.h.Prepared() {
		t.Errorf("%d loads, Armed %v, Prepared %v", n, e.h.Armed(), e.h.Prepared())
	}
}

func TestTheHelperIsNotIdleWhileAnImageIsPrepared(t *testing.T) {
	e, _ := newPrepEnv(t)
	if _, err := e.h.Prepare(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	if e.h.Idle(0) {
		t.Error("idle with a prepared image: its unload would never come")
	}
	e.h.Stop(context.Background())
	e.assertUnloaded(t)
}

// BenchmarkArmAfterPrepare compares the click's Arm after a Prepare with an Arm alone,
// with the fake loader (its load costs the files' opening, checks and, for
// several initrds, the memfd copy; the kernel's own hashing is not in it).
func BenchmarkArmAfterPrepare(b *testing.B) {
	for _, prepared := range []bool{false, true} {
		name := "alone"
		if prepared {
			name = "afterPrepare"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, nil)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if err := e.h.Disarm(ctx, ":1.9"); err != nil {
					b.Fatal(err)
				}
				if prepared {
					if _, err := e.h.Prepare(ctx, ":1.9"); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if _, err := e.h.Arm(ctx, ":1.9", false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
