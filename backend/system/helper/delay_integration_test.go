//go:build integration

package helper_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// issue 16, "Faster than a bare kexec": the real helper binary holds
// logind's shutdown delay inhibitor (the stand-in records it) from before
// the load until the arm is written, or the load is abandoned, so a
// restart asked at the same time waits for the arm.

// waitLoadStart waits for the gated load to begin.
func (r *rig) waitLoadStart() {
	r.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); kexectest.CountOp(r.calls(), kexectest.OpLoadStart) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatal("the load never started")
		}
	}
}

// recordTime is when the first call of op was recorded.
func (r *rig) recordTime(op string) time.Time {
	r.t.Helper()
	for _, c := range r.calls() {
		if c.Op == op {
			return time.Unix(0, c.TimeNs)
		}
	}
	r.t.Fatalf("no %s in %+v", op, r.calls())
	return time.Time{}
}

func (r *rig) oneDelayInhibit() {
	r.t.Helper()
	ii := r.logind.Inhibits()
	if len(ii) != 1 {
		r.t.Fatalf("Inhibit calls = %v, want one", ii)
	}
	i := ii[0]
	if i.What != "shutdown" || i.Mode != "delay" || i.Who != helper.DelayWho || i.Why != helper.DelayWhy || i.UID != 0 {
		r.t.Errorf("inhibitor = %v, want a delay on shutdown by root named %q", i, helper.DelayWho)
	}
}

func TestArmHoldsAShutdownDelayInhibitorDuringTheLoadAndReleasesItOnceArmed(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	gate := filepath.Join(r.root, "gate")
	if err := kexectest.WriteControl(r.root, kexectest.Control{Gate: gate}); err != nil {
		t.Fatal(err)
	}
	armErr := make(chan error, 1)
	go func() {
		_, err := r.client.Arm(r.ctx(), false)
		armErr <- err
	}()
	r.waitLoadStart()
	// Longer than the stand-in keeps its own copy of the descriptor, so
	// "held" below is the helper's copy.
	time.Sleep(2 * time.Second)
	r.oneDelayInhibit()
	if i := r.logind.Inhibits()[0]; !i.Released.IsZero() {
		t.Fatalf("the delay inhibitor was released during the load: %v", i)
	}
	if r.logind.Inhibits()[0].Taken.After(r.recordTime(kexectest.OpLoadStart)) {
		t.Error("the inhibitor was taken after the load began")
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-armErr; err != nil {
		t.Fatalf("Arm: %v", err)
	}
	if !r.logind.WaitFor("Inhibit released", 10*time.Second) {
		t.Fatalf("the delay inhibitor was not released after the arm: %v", r.logind.Inhibits())
	}
	st, err := os.Stat(filepath.Join(r.root, armstate.RunDir, armstate.ArmFile))
	if err != nil {
		t.Fatalf("no arm: %v", err)
	}
	if rel := r.logind.Inhibits()[0].Released; rel.Before(st.ModTime()) {
		t.Errorf("released at %v, before the arm was written at %v", rel, st.ModTime())
	}
	if !r.armed() || !r.loaded() {
		t.Error("not armed")
	}
}

func TestAFailedLoadReleasesTheShutdownDelayInhibitorAndLeavesNothingLoaded(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if err := kexectest.WriteControl(r.root, kexectest.Control{LoadErrno: 12}); err != nil { // ENOMEM
		t.Fatal(err)
	}
	_, err := r.client.Arm(r.ctx(), false)
	callErr(t, err, busapi.ErrFailed, "no-memory")
	if !r.logind.WaitFor("Inhibit released", 10*time.Second) {
		t.Fatalf("the delay inhibitor was not released after the failed load: %v", r.logind.Inhibits())
	}
	r.oneDelayInhibit()
	r.assertDisarmed()
}

func TestARefusedArmTakesNoShutdownDelayInhibitor(t *testing.T) {
	r := newRig(t, rigOptions{})
	// polkit says no to everything (the stand-in's default).
	if _, err := r.client.Arm(r.ctx(), false); err == nil {
		t.Fatal("Arm passed without polkit's yes")
	}
	if ii := r.logind.Inhibits(); len(ii) != 0 {
		t.Errorf("an unauthorised caller made the helper delay shutdowns: %v", ii)
	}
	r.assertNothingLoaded()
}
