//go:build integration

package helper_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// BenchmarkArm measures Arm over the bus against the real helper binary:
// from the D-Bus call to the (faked) kexec_file_load ("ms-to-load"), and
// the whole round trip (ns/op). Each Arm follows a Disarm, so each loads.
// The stand-ins and the fake kexec answer at once: the figure is the
// helper's own cost (polkit round trip, plan, preflight, opening and
// checking the files, the arm written with fsync) plus the bus.
func BenchmarkArm(b *testing.B) {
	r := newRig(b, rigOptions{})
	r.allowAll()
	ctx := context.Background()
	if _, err := r.client.GetPlan(ctx); err != nil { // activation, outside the timing
		b.Fatal(err)
	}
	var toLoad time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if err := r.client.Disarm(ctx); err != nil {
			b.Fatal(err)
		}
		n := len(r.calls())
		b.StartTimer()
		start := time.Now()
		if _, err := r.client.Arm(ctx, false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		calls := r.calls()
		for _, c := range calls[n:] {
			if c.Op == kexectest.OpLoad {
				toLoad += time.Duration(c.TimeNs - start.UnixNano())
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(toLoad.Microseconds())/1000/float64(b.N), "ms-to-load")
}

// BenchmarkActivation measures the first call to a helper that is not
// running: D-Bus activation (fork and exec by dbus-daemon), the helper's
// start (bus connection, restore, export, name), and one GetPlan.
func BenchmarkActivation(b *testing.B) {
	r := newRig(b, rigOptions{})
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		r.killHelper(syscall.SIGTERM)
		b.StartTimer()
		if _, err := r.client.GetPlan(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetPlan measures GetPlan on a running helper: what the dialog
// waits for when it opens.
func BenchmarkGetPlan(b *testing.B) {
	r := newRig(b, rigOptions{})
	ctx := context.Background()
	if _, err := r.client.GetPlan(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.client.GetPlan(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
