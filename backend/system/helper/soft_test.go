package helper

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/coldreboot"
)

// While one computation runs, every caller that comes waits for the next
// one and shares it: 50 callers, at most 2 computations.
func TestShareRunsOneComputationForConcurrentCallers(t *testing.T) {
	var s share[int]
	var runs atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	go s.do(func() int { close(started); <-release; return int(runs.Add(1)) })
	<-started
	var wg sync.WaitGroup
	results := make([]int, 50)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = s.do(func() int { return int(runs.Add(1)) }) }()
	}
	waitFor(t, "the callers to queue", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.next != nil && s.next.waiters == len(results)
	})
	close(release)
	wg.Wait()
	if n := runs.Load(); n != 2 {
		t.Errorf("%d computations for 51 callers", n)
	}
	for _, r := range results {
		if r < 2 {
			t.Errorf("a caller got the answer computed before it called (%d)", r)
		}
	}
}

func TestColdPreflightComesFirstAndCountsDebiansFile(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	debian := filepath.Join(dir, coldreboot.DebianFile)
	nextCalled := false
	pf := coldPreflight(run, debian, func() error { nextCalled = true; return nil })
	if err := pf(); err != nil || !nextCalled {
		t.Fatalf("no flag: %v, next called %v", err, nextCalled)
	}
	if err := coldreboot.Set(run, 1000, time.Now()); err != nil {
		t.Fatal(err)
	}
	nextCalled = false
	if err := pf(); reason.CodeOf(err) != reason.ColdReboot || nextCalled {
		t.Errorf("flag set: %v, next called %v", err, nextCalled)
	}
	if err := coldreboot.Clear(run); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(debian, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := pf(); reason.CodeOf(err) != reason.ColdReboot {
		t.Errorf("Debian's /no-kexec-reboot: %v", err)
	}
}
