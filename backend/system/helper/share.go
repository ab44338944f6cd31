package helper

import (
	"slices"
	"sync"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// planShare lets concurrent GetPlans share one computation (issue 12,
// item 6). GetPlan needs no authorisation, so any local user can call it
// as often as they like; unshared, 128 concurrent calls ran 128
// computations at once. With planShare at most one runs at a time, however
// many callers wait.
//
// A caller never gets an answer computed before it called: one that comes
// while a computation runs waits for the next one, which starts when the
// running one ends and is shared by everyone who came meanwhile. So a
// dpkg lock released just before a GetPlan is never reported as held, and
// the cost of a flood is at most one computation at a time.
//
// The zero value is ready to use.
type planShare struct{ share[busapi.Plan] }

// do returns compute's answer from a computation that started after the
// call, shared with every concurrent caller. Each caller gets its own copy
// (callers may change theirs, e.g. to leave out what theirs may not see).
func (s *planShare) do(compute func() busapi.Plan) busapi.Plan {
	return clonePlan(s.share.do(compute))
}

// share is that rule for any answer (GetPlan's, GetAdvice's): a caller
// gets an answer computed after it called, shared with everyone who came
// meanwhile, and at most one computation runs at a time. The zero value
// is ready.
type share[T any] struct {
	mu      sync.Mutex
	running *shareFlight[T]
	next    *shareFlight[T]
}

type shareFlight[T any] struct {
	done    chan struct{}
	v       T
	waiters int // callers sharing it (tests look)
}

func (s *share[T]) do(compute func() T) T {
	s.mu.Lock()
	if f := s.next; f != nil {
		f.waiters++
		s.mu.Unlock()
		<-f.done
		return f.v
	}
	f := &shareFlight[T]{done: make(chan struct{}), waiters: 1}
	s.next = f
	prev := s.running
	s.mu.Unlock()
	if prev != nil {
		<-prev.done
	}
	s.mu.Lock()
	s.next, s.running = nil, f
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.running == f {
			s.running = nil
		}
		s.mu.Unlock()
		close(f.done)
	}()
	f.v = compute()
	return f.v
}

func clonePlan(p busapi.Plan) busapi.Plan {
	p.Initrds = slices.Clone(p.Initrds)
	p.Why = slices.Clone(p.Why)
	p.Warnings = slices.Clone(p.Warnings)
	return p
}
