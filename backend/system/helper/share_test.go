package helper

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// waitFor polls cond; the bound only ends a test that would hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Issue 12, item 6: callers that come while a computation runs share the
// next one; none gets an answer computed before it called, and only one
// computation runs at a time.
func TestIssue12Item6ConcurrentCallersShareTheNextComputation(t *testing.T) {
	var s planShare
	var n, running, overlap atomic.Int32
	release := make(chan struct{})
	compute := func() busapi.Plan {
		if running.Add(1) > 1 {
			overlap.Add(1)
		}
		defer running.Add(-1)
		i := n.Add(1)
		if i == 1 {
			<-release
		}
		return busapi.Plan{Version: strconv.Itoa(int(i)), Why: []string{"x"}}
	}
	first := make(chan busapi.Plan, 1)
	go func() { first <- s.do(compute) }()
	waitFor(t, "the first computation", func() bool { return n.Load() == 1 })

	const late = 50
	got := make(chan busapi.Plan, late)
	var wg sync.WaitGroup
	for range late {
		wg.Add(1)
		go func() { defer wg.Done(); got <- s.do(compute) }()
	}
	waitFor(t, "the late callers to queue", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.next != nil && s.next.waiters == late
	})
	if n.Load() != 1 {
		t.Fatalf("%d computations while the first runs, want 1", n.Load())
	}
	close(release)
	wg.Wait()
	close(got)
	if p := <-first; p.Version != "1" {
		t.Errorf("first caller got computation %s", p.Version)
	}
	for p := range got {
		if p.Version != "2" {
			t.Errorf("a late caller got computation %s, want the one after it called (2)", p.Version)
		}
	}
	if n.Load() != 2 || overlap.Load() != 0 {
		t.Errorf("%d computations, %d overlapping; want 2 and none", n.Load(), overlap.Load())
	}

	// Alone, a caller computes afresh; each caller has its own copy.
	a := s.do(compute)
	a.Why[0] = "changed"
	if b := s.do(compute); b.Version != "4" || b.Why[0] != "x" || a.Version != "3" {
		t.Errorf("later calls: %+v, %+v", a, b)
	}
}
