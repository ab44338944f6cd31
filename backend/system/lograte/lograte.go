// Package lograte limits how many log lines each caller of a shared
// service can cause: at most Burst lines per Window per key, the rest
// counted and reported as one line once the window is over.
//
// The helper is root and shared by every user; each call it logs is a
// line in the journal, and journald drops lines of a service that logs too
// much (RateLimitBurst=). Unlimited, one user's flood of calls could push
// out the lines that record who armed (issue 12, item 7). Only lines about
// calls that change nothing go through a Limiter; the audit lines (arm,
// disarm, refusals) never do.
package lograte

import (
	"sync"
	"time"
)

// Overflow is the key every new caller shares once MaxKeys callers are
// being tracked, so that the map stays bounded whatever the callers are.
const Overflow = "(others)"

// Limiter is safe for concurrent use. Set the fields before the first
// Allow.
type Limiter struct {
	Burst   int              // lines per key per window
	Window  time.Duration    // how long a window lasts
	MaxKeys int              // keys tracked at once (Overflow beyond)
	Now     func() time.Time // time.Now when nil

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	start      time.Time // the window's start
	n          int       // lines allowed in it
	suppressed uint64    // lines refused in it
}

// Defaults: ten lines a minute per caller (a dialog opened ten times a
// minute is logged in full), 1024 callers.
const (
	DefaultBurst   = 10
	DefaultWindow  = time.Minute
	DefaultMaxKeys = 1024
)

// New returns a Limiter with the defaults.
func New() *Limiter {
	return &Limiter{Burst: DefaultBurst, Window: DefaultWindow, MaxKeys: DefaultMaxKeys}
}

// Report is a count of lines suppressed for Key in a window that is over.
type Report struct {
	Key        string
	Suppressed uint64
	Window     time.Duration
}

// Allow reports whether a line for key may be written now, and returns
// what must be said first: the suppressed count of key's last window when
// it is over, and those of other keys forgotten to make room.
func (l *Limiter) Allow(key string) (ok bool, reports []Report) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.keys == nil {
		l.keys = make(map[string]*bucket)
	}
	b := l.keys[key]
	if b == nil {
		if len(l.keys) >= max(l.MaxKeys, 1) {
			reports = l.sweepLocked(now)
		}
		if len(l.keys) >= max(l.MaxKeys, 1) {
			key = Overflow
			b = l.keys[key]
		}
		if b == nil {
			b = &bucket{start: now}
			l.keys[key] = b
		}
	}
	if now.Sub(b.start) >= l.Window {
		if b.suppressed > 0 {
			reports = append(reports, Report{Key: key, Suppressed: b.suppressed, Window: l.Window})
		}
		*b = bucket{start: now}
	}
	if b.n < l.Burst {
		b.n++
		return true, reports
	}
	b.suppressed++
	return false, reports
}

// Flush forgets every key and returns the suppressed counts not yet
// reported (at exit).
func (l *Limiter) Flush() []Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Report
	for k, b := range l.keys {
		if b.suppressed > 0 {
			out = append(out, Report{Key: k, Suppressed: b.suppressed, Window: l.Window})
		}
	}
	l.keys = nil
	return out
}

// sweepLocked forgets the keys whose window is over.
func (l *Limiter) sweepLocked(now time.Time) []Report {
	var out []Report
	for k, b := range l.keys {
		if now.Sub(b.start) < l.Window {
			continue
		}
		if b.suppressed > 0 {
			out = append(out, Report{Key: k, Suppressed: b.suppressed, Window: l.Window})
		}
		delete(l.keys, k)
	}
	return out
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
