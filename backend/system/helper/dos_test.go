package helper_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/polkit"
)

// heapPeak samples the heap every 200 µs until stop is called, which
// returns the peak in bytes. A sampler can miss a peak, never invent one:
// a bound it checks is a lower bound of the real peak.
func heapPeak() (stop func() uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// writeBigProcLocks fills root/proc/locks with n bytes of locks on other
// files, as any user can by taking byte-range locks on a file of their own.
func writeBigProcLocks(t *testing.T, root string, n int) {
	t.Helper()
	var b strings.Builder
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d: POSIX  ADVISORY  WRITE 31337 00:2d:%d %d %d\n", i, 4000000+i%7, 2*i, 2*i)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/locks"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Issue 12, item 6: 128 concurrent GetPlans with a 5 MiB /proc/locks
// share their computations and each streams /proc/locks: the heap stays
// small (the unshared whole-file reads peaked at hundreds of MiB).
func TestIssue12Item6ConcurrentGetPlansOverAHugeProcLocksKeepTheHeapBounded(t *testing.T) {
	const callers = 128
	var computations atomic.Int64
	e := newEnv(t, func(c *helper.Config) {
		pf := c.Preflight
		c.Preflight = func() error { computations.Add(1); return pf() }
	})
	writeBigProcLocks(t, e.root, 5<<20)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if p := e.h.GetPlan(context.Background(), ":1.5"); !p.Available {
				t.Errorf("plan = %+v", p)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	peak := stop()
	runtime.ReadMemStats(&after)
	t.Logf("%d concurrent GetPlans, 5 MiB /proc/locks: %d computations in %v; heap %.1f MiB before, peak %.1f MiB; %.1f MiB allocated in all",
		callers, computations.Load(), elapsed.Round(time.Millisecond), float64(before.HeapAlloc)/(1<<20), float64(peak)/(1<<20),
		float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
	if growth := int64(peak) - int64(before.HeapAlloc); growth > 32<<20 {
		t.Errorf("the heap peaked %.1f MiB above where it started, want under 32 MiB", float64(growth)/(1<<20))
	}
	if n := computations.Load(); n >= callers/2 {
		t.Errorf("%d computations for %d concurrent calls: they are not shared", n, callers)
	}
}

// clock is a settable time for the log's rate limit.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func countLines(out, sub string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// Issue 12, item 7: a flood of GetPlans from one caller logs at most the
// burst per window and then one line with the count of the rest; the
// audit lines (Arm authorised and armed, Disarm, refusals) of the same
// caller in the middle of the flood are all there.
func TestIssue12Item7AGetPlanFloodIsRateLimitedPerCallerButNoAuditLineIsLost(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	e := newEnv(t, func(c *helper.Config) {
		c.Log.SetCallRate(10, time.Minute, clk.now)
	})
	const rounds, perRound = 10, 100
	for round := range rounds {
		for range perRound {
			e.h.GetPlan(context.Background(), ":1.5")
		}
		e.auth.err = nil
		if _, err := e.h.Arm(context.Background(), ":1.5", false); err != nil {
			t.Fatal(err)
		}
		if err := e.h.Disarm(context.Background(), ":1.5"); err != nil {
			t.Fatal(err)
		}
		e.auth.err = reason.Wrap(reason.NotAuthorized, "", polkit.ErrDenied)
		if _, err := e.h.Arm(context.Background(), ":1.5", false); err == nil {
			t.Fatalf("round %d: a denied Arm succeeded", round)
		}
	}
	out := e.stderr.String()
	if n := countLines(out, "GetPlan: sender=:1.5 uid=1000 result=available"); n != 10 {
		t.Errorf("%d GetPlan lines for %d calls in one window, want 10", n, rounds*perRound)
	}
	for _, audit := range []string{"Arm: sender=:1.5 uid=1000 action=" + busapi.ActionQuickRestart + " result=authorized", "result=armed: Linux", "Disarm: sender=:1.5 uid=1000 result=disarmed", "result=refused:"} {
		if n := countLines(out, audit); n != rounds {
			t.Errorf("%d lines with %q, want %d (one per round)", n, audit, rounds)
		}
	}
	if strings.Contains(out, "suppressed") {
		t.Errorf("a count inside the window:\n%s", out)
	}
	// The window is over: the next call's line comes after the count.
	clk.add(time.Minute)
	e.h.GetPlan(context.Background(), ":1.6")
	if !e.stderr.waitFor("suppressed 990 log lines of uid=1000") {
		t.Errorf("no count of the suppressed lines:\n%s", e.stderr.String())
	}
	if n := countLines(e.stderr.String(), "GetPlan: "); n != 11 {
		t.Errorf("%d GetPlan lines after the window, want 11", n)
	}
}
