package arming_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/arming"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// Issue 16: Load is Arm without the arm; Request.Loaded hands its image to
// Arm, which then only writes the arm.

func TestLoadWritesTheMarksAndLoadsButNeverArms(t *testing.T) {
	e := newEnv(t, nil)
	l, _, err := e.m.Load(context.Background(), nil, arming.Via{})
	if err != nil || l == nil {
		t.Fatalf("Load = %v, %v", l, err)
	}
	if got, want := e.state(t), (state{loaded: true, loadedMark: true, pending: true}); got != want {
		t.Errorf("after Load: %+v, want %+v (the hook unloads an image with the loaded mark and no arm)", got, want)
	}
	if err := e.m.Disarm(); err != nil {
		t.Fatal(err)
	}
	if got := e.state(t); got != (state{}) {
		t.Errorf("after Disarm: %+v", got)
	}
}

func TestArmWithTheLoadedImageDoesNotLoadAgain(t *testing.T) {
	e := newEnv(t, nil)
	l, _, err := e.m.Load(context.Background(), nil, arming.Via{})
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := e.m.Arm(context.Background(), nil, arming.Request{UID: 1000, Loaded: l})
	if err != nil || st == nil {
		t.Fatalf("Arm = %v, %v", st, err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if got, want := e.state(t), (state{true, true, true, true}); got != want {
		t.Errorf("after Arm: %+v, want %+v", got, want)
	}
	if st.Image.Kernel != l.Image.Kernel {
		t.Errorf("armed %+v, loaded %+v", st.Image.Kernel, l.Image.Kernel)
	}
}

// An image the kernel no longer holds (unloaded behind the helper's back)
// is never armed: Arm loads afresh.
func TestArmWithALoadedImageThatIsGoneLoadsAfresh(t *testing.T) {
	e := newEnv(t, nil)
	l, _, err := e.m.Load(context.Background(), nil, arming.Via{})
	if err != nil {
		t.Fatal(err)
	}
	e.fake.SetLoaded(false)
	if _, _, err := e.m.Arm(context.Background(), nil, arming.Request{UID: 1000, Loaded: l}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 2 || !e.fake.Loaded() {
		t.Errorf("%d loads, loaded %v: want a fresh load", n, e.fake.Loaded())
	}
}

func TestLoadAgainWithTheSamePlanReusesTheImage(t *testing.T) {
	e := newEnv(t, nil)
	l, _, err := e.m.Load(context.Background(), nil, arming.Via{})
	if err != nil {
		t.Fatal(err)
	}
	l2, _, err := e.m.Load(context.Background(), l, arming.Via{})
	if err != nil || l2 != l {
		t.Errorf("Load again = %p, %v; want %p", l2, err, l)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}

func TestAFailedLoadLeavesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.LoadErr = kexectest.Errno(12) // ENOMEM
	_, _, err := e.m.Load(context.Background(), nil, arming.Via{})
	if reason.CodeOf(err) != reason.NoMemory {
		t.Errorf("Load = %v (%s)", err, reason.CodeOf(err))
	}
	if got := e.state(t); got != (state{}) {
		t.Errorf("after a failed Load: %+v", got)
	}
}

func TestALoadRefusedByPreflightChangesNothing(t *testing.T) {
	e := newEnv(t, func(c *arming.Config) {
		c.Preflight = func() error { return reason.New(reason.Lockdown, "") }
	})
	_, _, err := e.m.Load(context.Background(), nil, arming.Via{})
	var ue *arming.UnavailableError
	if !errors.As(err, &ue) || reason.CodeOf(err) != reason.Lockdown {
		t.Errorf("Load = %v", err)
	}
	if got := e.state(t); got != (state{}) || e.fake.Count(kexectest.OpLoad) != 0 {
		t.Errorf("after a refused Load: %+v", got)
	}
}
