package arming_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/kexecstate"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/arming"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// The mechanism on a fake root (bustest.NewHelperRoot) with the kexec
// syscalls faked (kexectest.Fake, its state mirrored into the root's
// /sys). Root's own image is the fake's SetLoaded(true) with no mark.

type env struct {
	root string
	fake *kexectest.Fake
	m    *arming.Mechanism
	cfg  arming.Config
}

func newEnv(t *testing.T, mod func(*arming.Config)) *env {
	t.Helper()
	root := bustest.NewHelperRoot(t)
	e := &env{root: root, fake: kexectest.New(filepath.Join(root, "sys"))}
	target := hosttest.Target(root)
	pe := preflight.Env{Proc: filepath.Join(root, "proc"), Sys: filepath.Join(root, "sys"), Run: filepath.Join(root, "run"), Root: root}
	e.cfg = arming.Config{
		Loader: kexec.Loader{Sys: e.fake, Target: target, SysDir: pe.Sys, ProcDir: pe.Proc},
		Loaded: func() (bool, error) { return kexecstate.Loaded(pe.Sys) },
		Plan: func() (*bootplan.Plan, error) {
			opt, err := bootplan.LiveOptions(pe.Proc, pe.Sys)
			if err != nil {
				return nil, err
			}
			return bootplan.Compute(target, opt)
		},
		Preflight: func() error { return preflight.Check(pe) },
		RunDir:    filepath.Join(root, armstate.RunDir),
		StateRoot: root,
		StateDir:  armstate.StateDir,
		BootID:    bustest.RootBootID,
	}
	if mod != nil {
		mod(&e.cfg)
	}
	e.m = arming.New(e.cfg)
	return e
}

func (e *env) exists(t *testing.T, p string) bool {
	t.Helper()
	_, err := os.Lstat(filepath.Join(e.root, p))
	return err == nil
}

func (e *env) arm(t *testing.T) *armstate.State {
	t.Helper()
	st, _, err := e.m.Arm(context.Background(), nil, arming.Request{UID: 1000})
	if err != nil || st == nil {
		t.Fatalf("Arm = %v, %v", st, err)
	}
	return st
}

var (
	armPath     = filepath.Join(armstate.RunDir, armstate.ArmFile)
	loadedPath  = filepath.Join(armstate.RunDir, armstate.LoadedFile)
	pendingPath = filepath.Join(armstate.StateDir, armstate.PendingFile)
)

// state is what the hook and the next boot would see.
type state struct{ loaded, arm, loadedMark, pending bool }

func (e *env) state(t *testing.T) state {
	return state{e.fake.Loaded(), e.exists(t, armPath), e.exists(t, loadedPath), e.exists(t, pendingPath)}
}

func TestArmWritesThePendingMarkTheLoadedMarkTheLoadAndTheArmAndDisarmUndoesThem(t *testing.T) {
	e := newEnv(t, nil)
	st := e.arm(t)
	if got, want := e.state(t), (state{true, true, true, true}); got != want {
		t.Errorf("after Arm: %+v, want %+v", got, want)
	}
	if st.Plan.Kernel != bustest.RootKernel || st.UID != 1000 || st.BootID != bustest.RootBootID {
		t.Errorf("arm = %+v", st)
	}
	if cur, err := e.m.Current(); err != nil || cur.Plan.Kernel != bustest.RootKernel {
		t.Errorf("Current = %v, %v", cur, err)
	}
	if err := e.m.Disarm(); err != nil {
		t.Fatal(err)
	}
	if got := e.state(t); got != (state{}) {
		t.Errorf("after Disarm: %+v", got)
	}
}

func TestArmingAgainWithTheSamePlanOnlyRenews(t *testing.T) {
	now := time.Now()
	e := newEnv(t, func(c *arming.Config) { c.Now = func() time.Time { return now } })
	st := e.arm(t)
	now = now.Add(time.Minute)
	st2, _, err := e.m.Arm(context.Background(), st, arming.Request{UID: 1001})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if !st2.ExpiresAt.Equal(now.Add(armstate.DefaultTTL)) || st2.UID != 1001 {
		t.Errorf("renewed arm = %+v", st2)
	}
}

// Issue 15 Required 1, issue 12 item 3: a failed unload keeps the state
// the shutdown hook needs to know the image is the product's.
func TestAFailedUnloadKeepsTheLoadedMarkForTheHookAndSaysSo(t *testing.T) {
	e := newEnv(t, nil)
	e.arm(t)
	e.fake.UnloadErr = kexectest.Errno(16) // EBUSY
	err := e.m.Disarm()
	if err == nil {
		t.Fatal("Disarm with a failed unload returned nil")
	}
	// The arm goes (no Quick Restart may follow a Disarm), the loaded mark
	// stays: the hook then unloads the image instead of kexecing it.
	if got, want := e.state(t), (state{loaded: true, loadedMark: true}); got != want {
		t.Errorf("after the failed unload: %+v, want %+v", got, want)
	}
	if !armstate.Ours(e.cfg.RunDir) {
		t.Error("the image is no longer known to be the product's")
	}
	// The next start-up unloads it, and only then forgets it.
	e.fake.UnloadErr = nil
	_, cleanup := e.m.Restore()
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	if got := e.state(t); got != (state{}) {
		t.Errorf("after Restore: %+v", got)
	}
}

func TestRootsOwnImageIsLeftAloneByDisarmAndRestore(t *testing.T) {
	for _, c := range []struct {
		desc       string
		loadedMark bool
		unloadErr  error
		want       state
		wantErr    bool
	}{
		{desc: "root's image, no mark", want: state{loaded: true}},
		{desc: "the product's image, marked", loadedMark: true, want: state{}},
		{desc: "the product's image, the unload fails", loadedMark: true, unloadErr: kexectest.Errno(16), want: state{loaded: true, loadedMark: true}, wantErr: true},
	} {
		for _, op := range []string{"Disarm", "Restore"} {
			t.Run(c.desc+"/"+op, func(t *testing.T) {
				e := newEnv(t, nil)
				e.fake.SetLoaded(true)
				if c.loadedMark {
					if err := armstate.MarkLoaded(e.cfg.RunDir, armstate.Marker{BootID: bustest.RootBootID}); err != nil {
						t.Fatal(err)
					}
				}
				e.fake.UnloadErr = c.unloadErr
				var err error
				if op == "Disarm" {
					err = e.m.Disarm()
				} else {
					st, cleanup := e.m.Restore()
					if st != nil {
						t.Errorf("Restore kept %+v", st)
					}
					err = cleanup()
				}
				if (err != nil) != c.wantErr {
					t.Errorf("%s = %v", op, err)
				}
				if got := e.state(t); got != c.want {
					t.Errorf("after %s: %+v, want %+v", op, got, c.want)
				}
				if !c.loadedMark && len(e.fake.Calls()) != 0 {
					t.Errorf("root's image was touched: %+v", e.fake.Calls())
				}
			})
		}
	}
}

func TestBeforeArmRunsAfterTheLoadAndItsErrorUndoesTheLoad(t *testing.T) {
	e := newEnv(t, nil)
	gone := errors.New("the caller left the bus")
	var seen state
	_, _, err := e.m.Arm(context.Background(), nil, arming.Request{UID: 1000, BeforeArm: func() error {
		seen = e.state(t)
		return gone
	}})
	if !errors.Is(err, gone) {
		t.Fatalf("Arm = %v, want BeforeArm's error", err)
	}
	if want := (state{loaded: true, loadedMark: true, pending: true}); seen != want {
		t.Errorf("BeforeArm saw %+v, want %+v (loaded, not yet armed)", seen, want)
	}
	if got := e.state(t); got != (state{}) {
		t.Errorf("after the refusal: %+v", got)
	}
	if n := e.fake.Count(kexectest.OpUnload); n != 1 {
		t.Errorf("%d unloads, want 1", n)
	}
}

func TestBeforeArmErrorOnARenewalLeavesTheArmAsItWas(t *testing.T) {
	e := newEnv(t, nil)
	st := e.arm(t)
	gone := errors.New("the caller left the bus")
	got, _, err := e.m.Arm(context.Background(), st, arming.Request{UID: 1001, BeforeArm: func() error { return gone }})
	if !errors.Is(err, gone) || got != st {
		t.Errorf("Arm = %v, %v; want the same arm and BeforeArm's error", got, err)
	}
	if s := e.state(t); s != (state{true, true, true, true}) {
		t.Errorf("state %+v", s)
	}
	if cur, _ := e.m.Current(); cur == nil || cur.UID != 1000 {
		t.Errorf("the arm changed: %+v", cur)
	}
}

func TestAFailedLoadLeavesRootsImageAndDropsTheProducts(t *testing.T) {
	t.Run("root's image", func(t *testing.T) {
		e := newEnv(t, nil)
		e.fake.SetLoaded(true)
		e.fake.LoadErr = kexectest.Errno(12) // ENOMEM
		st, _, err := e.m.Arm(context.Background(), nil, arming.Request{})
		if st != nil || reason.CodeOf(err) != reason.NoMemory {
			t.Errorf("Arm = %v, %v", st, err)
		}
		if got, want := e.state(t), (state{loaded: true}); got != want {
			t.Errorf("%+v, want %+v", got, want)
		}
		if n := e.fake.Count(kexectest.OpUnload); n != 0 {
			t.Errorf("root's image was unloaded (%d)", n)
		}
	})
	t.Run("an earlier image of the product's", func(t *testing.T) {
		e := newEnv(t, nil)
		e.arm(t)
		e.fake.LoadErr = kexectest.Errno(12)
		// nil: the caller does not know the arm (another process made it).
		st, _, err := e.m.Arm(context.Background(), nil, arming.Request{})
		if st != nil || err == nil {
			t.Errorf("Arm = %v, %v", st, err)
		}
		if got := e.state(t); got != (state{}) {
			t.Errorf("%+v: nothing may stay armed", got)
		}
	})
}

func TestUnavailableChangesNothing(t *testing.T) {
	e := newEnv(t, func(c *arming.Config) {
		c.ShutdownBlocker = func(context.Context, arming.Via) (string, error) { return "Installer (writing the boot loader)", nil }
	})
	st, prep, err := e.m.Arm(context.Background(), nil, arming.Request{})
	var ue *arming.UnavailableError
	if st != nil || !errors.As(err, &ue) || reason.CodeOf(err) != reason.Inhibited || reason.DetailOf(err) != "Installer (writing the boot loader)" {
		t.Errorf("Arm = %v, %v", st, err)
	}
	if prep.Plan == nil || prep.Plan.Kernel != bustest.RootKernel {
		t.Errorf("the plan is still shown: %+v", prep.Plan)
	}
	if got := e.state(t); got != (state{}) || len(e.fake.Calls()) != 0 {
		t.Errorf("%+v, calls %+v", got, e.fake.Calls())
	}
}

// Arm asks the inhibitor question for its caller and its way: the
// session manager's own block is passed only for a restart through the
// caller's own session manager.
func TestArmAsksTheInhibitorQuestionForItsCallerAndWay(t *testing.T) {
	for _, viaSM := range []bool{false, true} {
		var got []arming.Via
		e := newEnv(t, func(c *arming.Config) {
			c.ShutdownBlocker = func(_ context.Context, via arming.Via) (string, error) {
				got = append(got, via)
				if via.Passes(1000) {
					return "", nil
				}
				return "alice (user session inhibited)", nil
			}
		})
		_, _, err := e.m.Arm(context.Background(), nil, arming.Request{UID: 1000, ViaSessionManager: viaSM})
		want := []arming.Via{{SessionManager: viaSM, UID: 1000}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("via session manager %v: asked %+v, want %+v", viaSM, got, want)
		}
		if viaSM != (err == nil) {
			t.Errorf("via session manager %v: Arm = %v", viaSM, err)
		}
		if viaSM {
			if err := e.m.Disarm(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestViaPasses(t *testing.T) {
	for _, c := range []struct {
		via  arming.Via
		uid  uint32
		want bool
	}{
		{arming.Via{}, 1000, false},
		{arming.Via{UID: 1000}, 1000, false},
		{arming.Via{SessionManager: true, UID: 1000}, 1000, true},
		{arming.Via{SessionManager: true, UID: 1000}, 1001, false},
		{arming.Via{SessionManager: true, UID: 1000}, 0, false},
		{arming.Via{SessionManager: true, AnyUser: true}, 1001, true},
		{arming.Via{AnyUser: true}, 1001, false},
	} {
		if got := c.via.Passes(c.uid); got != c.want {
			t.Errorf("%+v.Passes(%d) = %v", c.via, c.uid, got)
		}
	}
}

func TestAnInhibitorQuestionThatFailsIsAWarning(t *testing.T) {
	e := newEnv(t, func(c *arming.Config) {
		c.ShutdownBlocker = func(context.Context, arming.Via) (string, error) { return "", errors.New("no logind") }
	})
	prep := e.m.Prepare(context.Background(), arming.Via{})
	if prep.Unavailable != nil || len(prep.Warnings) != 1 || prep.Warnings[0] != "cannot list the programs that block restarting: no logind" {
		t.Errorf("%+v", prep)
	}
}

// Row 44 at the mechanism: the pending mark of a root with absolute
// symlinks on its state path is written and removed inside the root.
func TestThePendingMarkStaysInsideTheStateRoot(t *testing.T) {
	outside := t.TempDir()
	e := newEnv(t, nil)
	if err := os.RemoveAll(filepath.Join(e.root, "var/lib/rapidreboot")); err != nil {
		t.Fatal(err)
	}
	// An absolute link that, followed on the host, leaves the root.
	if err := os.MkdirAll(filepath.Join(outside, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "etc", armstate.PendingFile), []byte("not ours\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "etc"), filepath.Join(e.root, "var/lib/rapidreboot")); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Disarm(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "etc", armstate.PendingFile)); err != nil {
		t.Errorf("Disarm removed a file outside the root: %v", err)
	}
}

// An arm without a loaded mark (written by a helper from before loaded
// marks) whose unload fails: the mark is written before the arm goes, or
// nothing would tell the hook that the image is the product's.
func TestAFailedUnloadOfAnArmWithoutALoadedMarkStillLeavesOne(t *testing.T) {
	e := newEnv(t, nil)
	e.arm(t)
	if err := os.Remove(filepath.Join(e.root, loadedPath)); err != nil {
		t.Fatal(err)
	}
	e.fake.UnloadErr = kexectest.Errno(16)
	if err := e.m.Disarm(); err == nil {
		t.Error("no error")
	}
	if got, want := e.state(t), (state{loaded: true, loadedMark: true}); got != want {
		t.Errorf("%+v, want %+v", got, want)
	}
}
