package helper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/kexecstate"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
	"github.com/rapidreboot/rapidreboot/backend/system/polkit"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// In-process tests of the mechanism: the same Helper the binary runs, with
// the kexec syscalls faked (kexectest), a fake root, and small fakes for
// polkit, the bus's uid lookup and logind. The bus itself is tested by the
// integration tests (integration_test.go, make test-integration).

type fakeAuth struct {
	mu      sync.Mutex
	err     error
	deny    map[string]error // by action, before err
	actions []string
	inter   []bool
	after   func() // run after each check (a caller leaving meanwhile)
}

func (a *fakeAuth) Check(ctx context.Context, sender, action string, details map[string]string, interactive bool) error {
	a.mu.Lock()
	a.actions = append(a.actions, action)
	a.inter = append(a.inter, interactive)
	err := a.err
	if e, ok := a.deny[action]; ok {
		err = e
	}
	after := a.after
	a.mu.Unlock()
	if after != nil {
		after()
	}
	return err
}

func (a *fakeAuth) asked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.actions...)
}

// fakeUsers is the bus daemon's uid lookup: 1000 for every sender but
// those in uids; a sender in gone has left the bus.
type fakeUsers struct {
	err  error
	uids map[string]uint32
	gone *sync.Map
}

func (u fakeUsers) UnixUser(ctx context.Context, sender string) (uint32, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.gone != nil {
		if _, ok := u.gone.Load(sender); ok {
			return 0, errors.New("org.freedesktop.DBus.Error.NameHasNoOwner: " + sender)
		}
	}
	if uid, ok := u.uids[sender]; ok {
		return uid, nil
	}
	return 1000, nil
}

type fakeLogind struct {
	mu        sync.Mutex
	others    bool
	othersErr error
	blocker   *logind.Inhibitor
	// inhibitors are listed after blocker (ListInhibitors only).
	inhibitors []logind.Inhibitor
	// blockedErr: logind cannot list the inhibitors (for the polkit
	// actions; ShutdownBlocker still answers blocker).
	blockedErr error
	rebootErr  error
	reboots    []uint64
}

func (l *fakeLogind) OtherUsersSessions(ctx context.Context, uid uint32) (bool, error) {
	return l.others, l.othersErr
}
func (l *fakeLogind) RebootBlockedFor(ctx context.Context, uid uint32) (bool, error) {
	return l.blocker != nil, l.blockedErr
}
func (l *fakeLogind) ShutdownBlocker(ctx context.Context) (*logind.Inhibitor, error) {
	return l.blocker, nil
}
func (l *fakeLogind) ListInhibitors(ctx context.Context) ([]logind.Inhibitor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logind.Inhibitor
	if l.blocker != nil {
		out = append(out, *l.blocker)
	}
	return append(out, l.inhibitors...), nil
}
func (l *fakeLogind) RebootWithFlags(ctx context.Context, flags uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reboots = append(l.reboots, flags)
	return l.rebootErr
}
func (l *fakeLogind) Reboot(ctx context.Context, interactive bool) error { return l.rebootErr }

// syncBuffer is a bytes.Buffer the helper's timers may write while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits up to 5 s for sub in the buffer.
func (s *syncBuffer) waitFor(sub string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(s.String(), sub) {
			return true
		}
	}
	return false
}

type env struct {
	root   string
	fake   *kexectest.Fake
	auth   *fakeAuth
	users  fakeUsers
	logind *fakeLogind
	stderr *syncBuffer
	cfg    helper.Config
	h      *helper.Helper
}

func newEnv(t testing.TB, mod func(*helper.Config)) *env {
	t.Helper()
	root := bustest.NewHelperRoot(t)
	e := &env{
		root:   root,
		fake:   kexectest.New(filepath.Join(root, "sys")),
		auth:   &fakeAuth{},
		users:  fakeUsers{uids: map[string]uint32{":1.0": 0}, gone: &sync.Map{}},
		logind: &fakeLogind{},
		stderr: &syncBuffer{},
	}
	target := hosttest.Target(root)
	pe := preflight.Env{Proc: filepath.Join(root, "proc"), Sys: filepath.Join(root, "sys"), Run: filepath.Join(root, "run"), Root: root}
	cfg := helper.Config{
		Auth:   e.auth,
		Users:  e.users,
		Logind: e.logind,
		Loader: kexec.Loader{Sys: e.fake, Target: target, SysDir: pe.Sys, ProcDir: pe.Proc},
		Plan: func() (*bootplan.Plan, error) {
			live := "BOOT_IMAGE=" + bustest.RootKernel + " " + bustest.RootCmdline
			return bootplan.Compute(target, bootplan.Options{LiveCmdline: &live})
		},
		Preflight: func() error { return preflight.Check(pe) },
		Loaded:    func() (bool, error) { return kexecstate.Loaded(pe.Sys) },
		ArmDir:    filepath.Join(root, armstate.RunDir),
		StateDir:  filepath.Join(root, armstate.StateDir),
		BootID:    bustest.RootBootID,
		Log:       helper.NewLogger(e.stderr),
	}
	if mod != nil {
		mod(&cfg)
	}
	e.cfg = cfg
	e.h = helper.New(cfg)
	if err := e.h.Restore(); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) assertDisarmed(t *testing.T) {
	t.Helper()
	if e.fake.Loaded() {
		t.Error("kexec_loaded is 1")
	}
	if e.h.Armed() {
		t.Error("Armed")
	}
	if _, err := armstate.Read(filepath.Join(e.root, armstate.RunDir)); !errors.Is(err, armstate.ErrNotArmed) {
		t.Errorf("arm state: %v", err)
	}
}

func errName(err error) string {
	var ce *helper.CallError
	if errors.As(err, &ce) {
		return ce.Name
	}
	return ""
}

func TestConcurrentArmsShareOneLoadAndOnePlan(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.Delay = 100 * time.Millisecond
	var wg sync.WaitGroup
	plans := make([]busapi.Plan, 20)
	errs := make([]error, 20)
	for i := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plans[i], errs[i] = e.h.Arm(context.Background(), ":1.9", false)
		}()
	}
	wg.Wait()
	for i := range plans {
		if errs[i] != nil || plans[i].Kernel != plans[0].Kernel || plans[i].Cmdline != plans[0].Cmdline {
			t.Errorf("Arm %d: %+v, %v", i, plans[i], errs[i])
		}
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if !e.h.Armed() || !e.fake.Loaded() {
		t.Error("not armed")
	}
}

// armHeld starts an Arm by sender whose kernel load waits until release
// is closed, and returns once the load has begun.
func (e *env) armHeld(sender string) (armErr <-chan error, release chan struct{}) {
	started := make(chan struct{})
	release = make(chan struct{})
	e.fake.OnLoad = func() {
		close(started)
		<-release
	}
	errc := make(chan error, 1)
	go func() {
		_, err := e.h.Arm(context.Background(), sender, false)
		errc <- err
	}()
	<-started
	return errc, release
}

func TestDisarmDuringALoadCancelsItAndWins(t *testing.T) {
	e := newEnv(t, nil)
	armErr, release := e.armHeld(":1.9")
	disarmErr := make(chan error, 1)
	go func() { disarmErr <- e.h.Disarm(context.Background(), ":1.10") }()
	if !e.stderr.waitFor("a Disarm cancels the Arm in flight") {
		t.Fatal("the Disarm was not seen during the load")
	}
	close(release)
	if err := <-disarmErr; err != nil {
		t.Fatal(err)
	}
	if err := <-armErr; errName(err) != busapi.ErrFailed {
		t.Errorf("Arm = %v, want a Failed refusal", err)
	}
	e.assertDisarmed(t)
}

func TestAnArmExpiresUnloaded(t *testing.T) {
	e := newEnv(t, func(c *helper.Config) { c.TTL = 50 * time.Millisecond })
	changes := make(chan bool, 4)
	e.h.OnArmed(func(v bool) { changes <- v })
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []bool{true, false} {
		select {
		case v := <-changes:
			if v != want {
				t.Fatalf("Armed went %v, want %v", v, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no Armed=%v", want)
		}
	}
	if !e.stderr.waitFor("expired unused") {
		t.Errorf("log: %s", e.stderr)
	}
	e.assertDisarmed(t)
}

func TestAnExpiryDuringShutdownLeavesTheArmToTheHook(t *testing.T) {
	e := newEnv(t, func(c *helper.Config) { c.TTL = 50 * time.Millisecond })
	// The shutdown is announced before the arm, so that an expiry can
	// never come first on a loaded machine (it did once under make check:
	// more than 50 ms between Arm's return and SetShutdown).
	e.h.SetShutdown(true)
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if !e.h.Armed() || !e.fake.Loaded() {
		t.Error("disarmed while shutting down")
	}
	e.h.Stop(context.Background())
	if !e.fake.Loaded() {
		t.Error("Stop during shutdown unloaded")
	}
}

func TestAFailedLoadLeavesNothingArmedAndSaysWhy(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.LoadErr = kexectest.Errno(7) // E2BIG: an unnamed errno
	_, err := e.h.Arm(context.Background(), ":1.9", false)
	if errName(err) != busapi.ErrFailed || reason.CodeOf(err) != reason.LoadFailed {
		t.Errorf("Arm = %v (%s)", err, reason.CodeOf(err))
	}
	e.assertDisarmed(t)
	if _, err := os.Stat(filepath.Join(e.root, armstate.StateDir, armstate.PendingFile)); err == nil {
		t.Error("the pending mark stayed after a failed load")
	}
}

// CVE-2021-3560: polkitd once took a failed uid lookup for root. Here a
// caller that cannot be identified gets nothing, and polkit is not asked.
func TestACallerThatCannotBeIdentifiedIsRefused(t *testing.T) {
	e2 := newEnv(t, func(c *helper.Config) { c.Users = fakeUsers{err: errors.New("the name has no owner")} })
	_, err := e2.h.Arm(context.Background(), ":1.9", false)
	if errName(err) != busapi.ErrFailed || reason.CodeOf(err) != reason.Internal {
		t.Errorf("Arm = %v", err)
	}
	if len(e2.auth.actions) != 0 {
		t.Error("polkit was asked about an unidentified caller")
	}
	e2.assertDisarmed(t)
	if n := e2.fake.Count(kexectest.OpLoad); n != 0 {
		t.Errorf("%d loads", n)
	}
}

func TestPolkitsAnswersBecomeTheirRefusals(t *testing.T) {
	cases := []struct {
		desc string
		err  error
		name string
		code reason.Code
	}{
		{"no", reason.Wrap(reason.NotAuthorized, "", polkit.ErrDenied), busapi.ErrNotAuthorized, reason.NotAuthorized},
		{"challenge", reason.Wrap(reason.AuthenticationRequired, "", polkit.ErrChallenge), busapi.ErrAuthenticationRequired, reason.AuthenticationRequired},
		{"no answer", reason.Wrap(reason.Internal, "cannot check authorization: polkit did not answer in time", polkit.ErrTimeout), busapi.ErrFailed, reason.Internal},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			e := newEnv(t, nil)
			e.auth.err = c.err
			_, err := e.h.Arm(context.Background(), ":1.9", true)
			if errName(err) != c.name || reason.CodeOf(err) != c.code {
				t.Errorf("Arm = %v (%s, %s)", err, errName(err), reason.CodeOf(err))
			}
			if !e.auth.inter[0] {
				t.Error("interactive was not passed on")
			}
			e.assertDisarmed(t)
		})
	}
}

func TestNotKnowingWhoElseIsLoggedInAsksTheStricterAction(t *testing.T) {
	for _, c := range []struct {
		desc   string
		others bool
		err    error
		want   string
	}{
		{"alone", false, nil, busapi.ActionQuickRestart},
		{"others", true, nil, busapi.ActionQuickRestartMultipleSessions},
		{"logind fails", false, errors.New("no logind"), busapi.ActionQuickRestartMultipleSessions},
	} {
		t.Run(c.desc, func(t *testing.T) {
			e := newEnv(t, nil)
			e.logind.others, e.logind.othersErr = c.others, c.err
			e.auth.err = reason.New(reason.NotAuthorized, "")
			e.h.Arm(context.Background(), ":1.9", false)
			if len(e.auth.actions) != 1 || e.auth.actions[0] != c.want {
				t.Errorf("actions = %v, want %s", e.auth.actions, c.want)
			}
		})
	}
}

func TestQuickRestartRebootsThroughLogindHonouringInhibitorsAndDisarmsIfRefused(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.h.QuickRestart(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	if len(e.logind.reboots) != 1 || e.logind.reboots[0] != logind.FlagRootCheckInhibitors {
		t.Errorf("reboots = %v", e.logind.reboots)
	}
	if !e.h.Armed() {
		t.Error("not armed after a reboot was asked for")
	}

	e2 := newEnv(t, nil)
	e2.logind.rebootErr = errors.New("Access denied to root due to active block inhibitor")
	err := e2.h.QuickRestart(context.Background(), ":1.9", false)
	if errName(err) != busapi.ErrFailed {
		t.Errorf("QuickRestart = %v", err)
	}
	e2.assertDisarmed(t)
}

func TestRow49LoggingThatCannotReachTheJournalIsSaidOnStderrAndChangesNoDecision(t *testing.T) {
	var stderr bytes.Buffer
	log := helper.NewLogger(&stderr, filepath.Join(t.TempDir(), "no-journal-here"), filepath.Join(t.TempDir(), "nor-here"))
	e := newEnv(t, func(c *helper.Config) { c.Log = log })
	e.auth.err = reason.New(reason.NotAuthorized, "")
	_, err := e.h.Arm(context.Background(), ":1.9", false)
	if errName(err) != busapi.ErrNotAuthorized {
		t.Errorf("Arm = %v, want the refusal", err)
	}
	e.assertDisarmed(t)
	out := stderr.String()
	if !strings.Contains(out, "no-journal-here") || !strings.Contains(out, "nor-here") || strings.Count(out, "cannot log to") != 1 {
		t.Errorf("stderr does not say once that the journal is unreachable:\n%s", out)
	}
	if !strings.Contains(out, "<4>Arm: sender=:1.9 uid=1000 action="+busapi.ActionQuickRestart+" result=refused") {
		t.Errorf("the decision is not on stderr with its priority:\n%s", out)
	}
}

func TestRow49ALogSocketThatGoesAwayFallsBackToStderr(t *testing.T) {
	dir := t.TempDir()
	sink := bustest.NewLogSink(t, dir)
	var stderr bytes.Buffer
	log := helper.NewLogger(&stderr, sink.Path)
	log.Notice("first")
	if sink.WaitFor(2*time.Second, "first") == "" {
		t.Fatal("nothing reached the socket")
	}
	sink.Close()
	log.Notice("second")
	log.Notice("third")
	out := stderr.String()
	if !strings.Contains(out, "<5>second") || !strings.Contains(out, "<5>third") || strings.Count(out, "cannot log") != 1 {
		t.Errorf("stderr:\n%s", out)
	}
}

func TestGetPlanNamesTheBlockingInhibitorToAnyone(t *testing.T) {
	e := newEnv(t, nil)
	e.auth.err = reason.New(reason.NotAuthorized, "")
	e.logind.blocker = &logind.Inhibitor{What: "shutdown", Who: "Backup", Why: "copying", Mode: "block", UID: 1000, PID: 5}
	p := e.h.GetPlan(context.Background(), ":1.9")
	if p.Available || p.Reason != reason.Inhibited || p.Detail != "Backup (copying)" || p.Kernel != bustest.RootKernel {
		t.Errorf("plan = %+v", p)
	}
}

// gnome-session's own block (an unsaved document) in the caller's name:
// the dialog's and the extension's Arm pass it, since that session
// manager asks its user before it drops the block and restarts; the
// helper's own QuickRestart, where nobody would be asked, does not. Another
// user's session manager always blocks: that user is not asked.
func TestTheCallersOwnSessionManagerBlockIsPassedOnlyOnItsWay(t *testing.T) {
	alices := logind.Inhibitor{What: "shutdown", Who: "alice", Why: "user session inhibited", Mode: "block", UID: 1000, PID: 7}
	bobs := logind.Inhibitor{What: "sleep:shutdown", Who: "bob", Why: "user session inhibited", Mode: "block-weak", UID: 1001, PID: 8}
	backup := logind.Inhibitor{What: "shutdown", Who: "Backup", Why: "user session inhibited", Mode: "delay", UID: 1000, PID: 9}

	t.Run("own", func(t *testing.T) {
		e := newEnv(t, nil)
		e.logind.inhibitors = []logind.Inhibitor{alices, backup}
		if p := e.h.GetPlan(context.Background(), ":1.9"); !p.Available {
			t.Errorf("GetPlan = %+v", p)
		}
		if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
			t.Fatalf("Arm: %v", err)
		}
		if !e.h.Armed() || !e.fake.Loaded() {
			t.Error("not armed")
		}
	})
	t.Run("own, QuickRestart", func(t *testing.T) {
		e := newEnv(t, nil)
		e.logind.inhibitors = []logind.Inhibitor{alices}
		err := e.h.QuickRestart(context.Background(), ":1.9", false)
		if reason.CodeOf(err) != reason.Inhibited || reason.DetailOf(err) != "alice (user session inhibited)" {
			t.Errorf("QuickRestart = %v", err)
		}
		if len(e.logind.reboots) != 0 {
			t.Errorf("logind was asked: %v", e.logind.reboots)
		}
		e.assertDisarmed(t)
	})
	t.Run("own, Prepare", func(t *testing.T) {
		e := newEnv(t, nil)
		e.logind.inhibitors = []logind.Inhibitor{alices}
		if p, err := e.h.Prepare(context.Background(), ":1.9"); err != nil || !p.Available {
			t.Fatalf("Prepare = %+v, %v", p, err)
		}
		if !e.fake.Loaded() {
			t.Error("not loaded")
		}
	})
	t.Run("another user's", func(t *testing.T) {
		e := newEnv(t, nil)
		e.logind.inhibitors = []logind.Inhibitor{bobs}
		// The shared answer cannot know who asks; Arm does.
		if p := e.h.GetPlan(context.Background(), ":1.9"); !p.Available {
			t.Errorf("GetPlan = %+v", p)
		}
		_, err := e.h.Arm(context.Background(), ":1.9", false)
		if reason.CodeOf(err) != reason.Inhibited || reason.DetailOf(err) != "bob (user session inhibited)" {
			t.Errorf("Arm = %v", err)
		}
		e.assertDisarmed(t)
	})
}

func TestRestoreDropsAnArmOfAnotherBootAndClearsAStalePendingMark(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	// The same state seen by a helper of another boot (boot ids differ).
	h2 := helper.New(helper.Config{
		Auth: e.auth, Users: e.users, Logind: e.logind,
		Loader:    kexec.Loader{Sys: e.fake, Target: hosttest.Target(e.root)},
		Plan:      func() (*bootplan.Plan, error) { return nil, errors.New("unused") },
		Preflight: func() error { return nil },
		Loaded:    func() (bool, error) { return e.fake.Loaded(), nil },
		ArmDir:    filepath.Join(e.root, armstate.RunDir),
		StateDir:  filepath.Join(e.root, armstate.StateDir),
		BootID:    "00000000-0000-0000-0000-000000000000",
		Log:       helper.DiscardLogger(),
	})
	if err := h2.Restore(); err != nil {
		t.Fatal(err)
	}
	if h2.Armed() || e.fake.Loaded() {
		t.Error("an arm of another boot was kept")
	}
	if _, err := os.Stat(filepath.Join(e.root, armstate.StateDir, armstate.PendingFile)); err == nil {
		t.Error("the pending mark stayed")
	}
}

func (e *env) runFile(name string) bool {
	_, err := os.Lstat(filepath.Join(e.root, armstate.RunDir, name))
	return err == nil
}

// Issue 12 item 3, issue 15: the product unloads only an image it loaded.
// Root's own kexec -s -l image (no arm, no loaded mark) survives a Disarm
// and the start-up clean-up; the product's unarmed image does not.
func TestDisarmAndRestoreLeaveRootsOwnImageLoadedAndUnloadTheProducts(t *testing.T) {
	for _, c := range []struct {
		desc       string
		loadedMark bool
		wantLoaded bool
	}{
		{"root's own image", false, true},
		{"the product's image, not armed", true, false},
	} {
		t.Run(c.desc, func(t *testing.T) {
			e := newEnv(t, nil)
			e.fake.SetLoaded(true)
			if c.loadedMark {
				if err := armstate.MarkLoaded(filepath.Join(e.root, armstate.RunDir), armstate.Marker{BootID: bustest.RootBootID}); err != nil {
					t.Fatal(err)
				}
			}
			h2 := helper.New(e.cfg)
			if err := h2.Restore(); err != nil {
				t.Fatal(err)
			}
			if e.fake.Loaded() != c.wantLoaded || h2.Armed() {
				t.Errorf("after Restore: loaded %v (want %v), armed %v", e.fake.Loaded(), c.wantLoaded, h2.Armed())
			}
			e.fake.SetLoaded(true)
			if c.loadedMark {
				armstate.MarkLoaded(filepath.Join(e.root, armstate.RunDir), armstate.Marker{BootID: bustest.RootBootID})
			}
			if err := h2.Disarm(context.Background(), ":1.9"); err != nil {
				t.Fatal(err)
			}
			if e.fake.Loaded() != c.wantLoaded {
				t.Errorf("after Disarm: loaded %v, want %v", e.fake.Loaded(), c.wantLoaded)
			}
			if e.runFile(armstate.LoadedFile) {
				t.Error("the loaded mark stayed after an unload that worked")
			}
		})
	}
}

// Issue 15 Required 1: a Disarm whose unload fails says so, and keeps the
// state the shutdown hook needs (the loaded mark), while no Quick Restart
// follows (no arm, Armed false).
func TestAFailedUnloadFailsTheDisarmAndKeepsTheLoadedMarkForTheHook(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	e.fake.UnloadErr = kexectest.Errno(16) // EBUSY
	err := e.h.Disarm(context.Background(), ":1.9")
	if errName(err) != busapi.ErrFailed {
		t.Errorf("Disarm = %v, want a failure", err)
	}
	if !e.fake.Loaded() || !e.runFile(armstate.LoadedFile) || !armstate.Ours(filepath.Join(e.root, armstate.RunDir)) {
		t.Errorf("loaded %v, loaded mark %v: the hook cannot tell the image is the product's", e.fake.Loaded(), e.runFile(armstate.LoadedFile))
	}
	if e.h.Armed() || e.runFile(armstate.ArmFile) {
		t.Error("still armed after a Disarm")
	}
}

// ArmedVersion names the kernel the next restart starts while armed, and
// OnArmed is told before it changes back: a dialog opened later says
// "A Quick Restart into Linux … is prepared" from it (issue 16).
func TestArmedVersionNamesTheArmedKernelUntilTheDisarm(t *testing.T) {
	e := newEnv(t, nil)
	var seen []string
	e.h.OnArmed(func(v bool) { seen = append(seen, fmt.Sprintf("%v %s", v, e.h.ArmedVersion())) })
	if v := e.h.ArmedVersion(); v != "" {
		t.Fatalf("ArmedVersion %q before any arm", v)
	}
	if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil {
		t.Fatal(err)
	}
	if v := e.h.ArmedVersion(); v != bustest.RootVersion {
		t.Errorf("ArmedVersion %q after the arm, want %q", v, bustest.RootVersion)
	}
	if err := e.h.Disarm(context.Background(), ":1.9"); err != nil {
		t.Fatal(err)
	}
	if v := e.h.ArmedVersion(); v != "" {
		t.Errorf("ArmedVersion %q after the disarm", v)
	}
	if want := []string{"true " + bustest.RootVersion, "false "}; !slices.Equal(seen, want) {
		t.Errorf("OnArmed saw %q, want %q", seen, want)
	}
}
