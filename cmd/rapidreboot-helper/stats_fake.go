//go:build rapidreboot_fakekexec

package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"time"
)

// The flood tests (issue 12, items 5 and 6) need the goroutine count and
// the heap of the real helper binary, which /proc does not show. A test
// build given --test-stats writes them to that file, with their peaks,
// every 20 ms. Never in an installed build.
var testStats = flag.String("test-stats", "", "write goroutine and heap figures to this file (test builds only)")

// statsSample is how often the counts are read: often enough to see a
// burst of goroutines that lives for a few milliseconds.
const statsSample = time.Millisecond

func startStats() {
	if *testStats == "" {
		return
	}
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var maxG, maxHeap uint64
		last := time.Now()
		for {
			g := uint64(runtime.NumGoroutine())
			metrics.Read(s)
			heap := s[0].Value.Uint64()
			maxG, maxHeap = max(maxG, g), max(maxHeap, heap)
			if time.Since(last) >= 20*time.Millisecond {
				last = time.Now()
				line := fmt.Sprintf("goroutines %d maxgoroutines %d heap %d maxheap %d\n", g, maxG, heap, maxHeap)
				tmp := *testStats + ".tmp"
				if os.WriteFile(tmp, []byte(line), 0o644) == nil {
					_ = os.Rename(tmp, *testStats)
				}
			}
			time.Sleep(statsSample)
		}
	}()
}
