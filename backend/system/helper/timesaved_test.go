package helper_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
)

// A flood of GetTimeSaved (anyone may call it) costs one computation at a
// time, and answers at most two seconds old are given again.
func TestGetTimeSavedFloodComputesOnce(t *testing.T) {
	var computed atomic.Int32
	now := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	e := newEnv(t, func(c *helper.Config) {
		c.Now = func() time.Time { return *clock.Load() }
		c.TimeSaved = func(context.Context) boottime.Report {
			computed.Add(1)
			time.Sleep(10 * time.Millisecond)
			return boottime.Compute(boottime.Inputs{History: []boottime.Record{
				{Kind: boottime.KindFirmware, Value: 40 * time.Second}, {Kind: boottime.KindKexec, Value: 10 * time.Second}}})
		}
	})
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := e.h.GetTimeSaved(context.Background(), ":1.0")
			if r := boottime.FromWire(m); r.Seconds == nil || *r.Seconds != 30 {
				t.Errorf("got %+v", r)
			}
		}()
	}
	wg.Wait()
	if n := computed.Load(); n != 1 {
		t.Fatalf("%d computations for 64 concurrent calls", n)
	}
	later := now.Add(3 * time.Second)
	clock.Store(&later)
	e.h.GetTimeSaved(context.Background(), ":1.0")
	if n := computed.Load(); n != 2 {
		t.Fatalf("an answer 3 s old was given again (%d computations)", n)
	}
}

func TestGetTimeSavedWithoutASourceIsEmpty(t *testing.T) {
	e := newEnv(t, nil)
	if m := e.h.GetTimeSaved(context.Background(), ":1.0"); len(m) != 0 {
		t.Fatalf("figures from nowhere: %v", m)
	}
}
