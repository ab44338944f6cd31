//go:build integration

package helper_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// Issue 16: Prepare on the real helper and a private bus (prepare.go).

func (r *rig) loadedMark() bool {
	_, err := os.Stat(filepath.Join(r.root, armstate.RunDir, armstate.LoadedFile))
	return err == nil
}

// waitUnloaded waits until the product's image and marks are gone.
func (r *rig) waitUnloaded(why string) {
	r.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); r.loaded() || r.loadedMark() || r.pendingFile(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: still loaded %v, loaded mark %v, pending %v; log %q", why, r.loaded(), r.loadedMark(), r.pendingFile(), r.log.Lines())
		}
	}
	r.assertDisarmed()
}

func TestPrepareLoadsWithoutArmingAndTheSameCallersArmOnlyWritesTheArm(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	// Every load takes 300 ms: the Arm after a Prepare must not.
	if err := kexectest.WriteControl(r.root, kexectest.Control{DelayMs: 300}); err != nil {
		t.Fatal(err)
	}
	p, err := r.client.Prepare(r.ctx())
	if err != nil || p.Kernel != bustest.RootKernel {
		t.Fatalf("Prepare = %+v, %v", p, err)
	}
	if !r.loaded() || !r.loadedMark() || !r.pendingFile() || r.armFile() || r.armed() {
		t.Fatalf("after Prepare: loaded %v, loaded mark %v, pending %v, arm %v", r.loaded(), r.loadedMark(), r.pendingFile(), r.armFile())
	}
	for _, c := range r.polkit.Checks() {
		if c.Flags != 0 {
			t.Errorf("Prepare asked polkit interactively: %+v", c)
		}
	}
	start := time.Now()
	if _, err := r.client.Arm(r.ctx(), true); err != nil {
		t.Fatal(err)
	}
	armTook := time.Since(start)
	if n := r.loads(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if !r.armFile() || !r.armed() {
		t.Error("not armed")
	}
	// Reported, not asserted (speed is a figure, never a pass/fail).
	t.Logf("Arm after Prepare: %v (a load alone takes 300 ms here)", armTook)
}

func TestAPreparedImageGoesWithItsCaller(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	conn := bustest.NewConn(t, r.bus)
	if _, err := busapi.NewClient(conn).Prepare(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if !r.loaded() {
		t.Fatal("nothing loaded")
	}
	conn.Close()
	r.waitUnloaded("after the caller left the bus")
	if l := r.log.WaitFor(5*time.Second, "its caller left the bus"); l == "" {
		t.Errorf("log %q", r.log.Lines())
	}
}

func TestUnprepareAndDisarmOnTheBusUnloadAPreparedImage(t *testing.T) {
	for _, how := range []string{"Unprepare", "Disarm"} {
		t.Run(how, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			r.allowAll()
			if _, err := r.client.Prepare(r.ctx()); err != nil {
				t.Fatal(err)
			}
			var err error
			if how == "Unprepare" {
				err = r.client.Unprepare(r.ctx())
			} else {
				err = r.client.Disarm(r.ctx())
			}
			if err != nil {
				t.Fatal(err)
			}
			r.waitUnloaded("after " + how)
		})
	}
}

func TestPreparedByOneCallerArmedByAnotherIsTheSecondsOwnLoad(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	a := bustest.NewConn(t, r.bus)
	if _, err := busapi.NewClient(a).Prepare(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	if n := r.loads(); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
	// A leaving (its dialog closed) leaves B's arm in place.
	if err := busapi.NewClient(a).Unprepare(r.ctx()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	time.Sleep(200 * time.Millisecond)
	if !r.armed() || !r.loaded() || !r.armFile() {
		t.Error("B's arm was undone")
	}
}

func TestAnUnauthorisedOrChallengedPrepareLoadsNothing(t *testing.T) {
	for name, tc := range map[string]struct {
		answer        bustest.Answer
		errName, code string
	}{
		"denied":     {bustest.Deny, busapi.ErrNotAuthorized, string(reason.NotAuthorized)},
		"challenged": {bustest.Challenge, busapi.ErrAuthenticationRequired, string(reason.AuthenticationRequired)},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			r.polkit.Always(tc.answer)
			_, err := r.client.Prepare(r.ctx())
			callErr(t, err, tc.errName, tc.code)
			for _, c := range r.polkit.Checks() {
				if c.Flags != 0 {
					t.Errorf("Prepare asked polkit interactively: %+v", c)
				}
			}
			r.assertNothingLoaded()
		})
	}
}

// A helper started while a prepared image is loaded (the last one was
// killed) unloads it: nothing armed it.
func TestAHelperKilledWithAPreparedImageUnloadsItWhenStartedAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if _, err := r.client.Prepare(r.ctx()); err != nil {
		t.Fatal(err)
	}
	r.killHelper(syscall.SIGKILL)
	if !r.loaded() || !r.loadedMark() {
		t.Fatal("the image went with the helper")
	}
	if _, err := r.client.GetPlan(r.ctx()); err != nil { // activates a new helper
		t.Fatal(err)
	}
	r.waitUnloaded("after the restart")
}
