package lograte_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/lograte"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newLimiter(burst, maxKeys int) (*lograte.Limiter, *clock) {
	c := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	return &lograte.Limiter{Burst: burst, Window: time.Minute, MaxKeys: maxKeys, Now: c.now}, c
}

func TestBurstPerKeyThenCountedAndReportedWhenTheWindowIsOver(t *testing.T) {
	l, c := newLimiter(3, 10)
	allowed := 0
	for range 100 {
		if ok, r := l.Allow("uid=1000"); ok {
			allowed++
		} else if len(r) != 0 {
			t.Fatalf("report inside the window: %v", r)
		}
	}
	if allowed != 3 {
		t.Fatalf("%d lines allowed, want 3", allowed)
	}
	if ok, _ := l.Allow("uid=1001"); !ok {
		t.Fatal("another caller is limited by the first one's flood")
	}
	c.t = c.t.Add(time.Minute)
	ok, r := l.Allow("uid=1000")
	if !ok || len(r) != 1 || r[0].Key != "uid=1000" || r[0].Suppressed != 97 {
		t.Fatalf("after the window: %v %+v", ok, r)
	}
	if ok, r := l.Allow("uid=1000"); !ok || len(r) != 0 {
		t.Fatalf("the count was reported twice: %+v", r)
	}
}

func TestTheKeysAreBoundedAndAFullTableSharesOneKey(t *testing.T) {
	l, c := newLimiter(1, 4)
	for i := range 4 {
		l.Allow(fmt.Sprint("uid=", i))
		l.Allow(fmt.Sprint("uid=", i)) // suppressed
	}
	// A fifth caller while the four windows run: the shared key.
	for i := 4; i < 1000; i++ {
		l.Allow(fmt.Sprint("uid=", i))
	}
	if f := l.Flush(); len(f) != 5 {
		t.Fatalf("flush = %+v, want 4 callers and %s", f, lograte.Overflow)
	}
	// Windows over: the table is swept and the counts reported then.
	for i := range 4 {
		l.Allow(fmt.Sprint("uid=", i))
		l.Allow(fmt.Sprint("uid=", i))
	}
	c.t = c.t.Add(2 * time.Minute)
	ok, r := l.Allow("uid=new")
	if !ok || len(r) != 4 {
		t.Fatalf("sweep: %v %+v", ok, r)
	}
}
