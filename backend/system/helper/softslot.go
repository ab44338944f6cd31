package helper

import "time"

// softSlot is the one pending "soft restart after this session ends"
// (softafter.go) as a state machine, kept apart from the bus and the
// timers so that its transitions are a table (softslot_test.go):
//
//	none    --put-->            pending
//	pending --put-->            pending   (the old schedule is returned, to be stopped: replaced)
//	pending --drop-->           none      (cancel, Disarm)
//	pending --take(seq)-->      firing    (the session ended: the caller re-checks and asks logind)
//	pending --lapse(seq, now)-> none      (the deadline passed unused)
//	firing  --finish(seq)-->    none
//
// Events carry the sequence number of the schedule they were started for:
// a session watch or a timer of a replaced or dropped schedule finds
// another number (or none) and changes nothing. While firing, put and drop
// change nothing either: logind is being asked, which cannot be undone
// from here; the caller is told so.
type softSlot struct {
	state softState
	cur   *softSchedule
	seq   uint64
}

type softState int

const (
	softNone softState = iota
	softPending
	softFiring
)

func (s softState) String() string {
	return [...]string{"none", "pending", "firing"}[s]
}

// softSchedule is what was authorised at the request.
type softSchedule struct {
	seq      uint64
	sender   string    // the caller's unique name, for the log
	uid      uint32    // the caller's uid
	session  string    // the logind session followed
	others   bool      // other users had sessions: reboot-multiple-sessions was asked and granted
	deadline time.Time // lapses unused after this
	stop     func()    // stops the session watch and the timer; nil in tests
}

// put makes sc the pending schedule and returns the one it replaces (nil:
// none). It refuses (ok false) while a schedule is firing.
func (s *softSlot) put(sc *softSchedule) (old *softSchedule, ok bool) {
	if s.state == softFiring {
		return nil, false
	}
	s.seq++
	sc.seq = s.seq
	old = s.cur
	s.cur, s.state = sc, softPending
	return old, true
}

// drop takes the pending schedule away (cancel, Disarm) and returns it;
// firing reports that one is being carried out and cannot be dropped.
func (s *softSlot) drop() (old *softSchedule, firing bool) {
	switch s.state {
	case softPending:
		old = s.cur
		s.cur, s.state = nil, softNone
		return old, false
	case softFiring:
		return nil, true
	}
	return nil, false
}

// take moves the schedule seq from pending to firing when its session
// ended, and returns it; nil when seq is not the pending one.
func (s *softSlot) take(seq uint64) *softSchedule {
	if s.state != softPending || s.cur == nil || s.cur.seq != seq {
		return nil
	}
	s.state = softFiring
	return s.cur
}

// lapse drops the schedule seq when its deadline has passed at now, and
// returns it; nil when seq is not pending or its time has not come.
func (s *softSlot) lapse(seq uint64, now time.Time) *softSchedule {
	if s.state != softPending || s.cur == nil || s.cur.seq != seq || now.Before(s.cur.deadline) {
		return nil
	}
	old := s.cur
	s.cur, s.state = nil, softNone
	return old
}

// finish ends the firing of seq.
func (s *softSlot) finish(seq uint64) {
	if s.state == softFiring && s.cur != nil && s.cur.seq == seq {
		s.cur, s.state = nil, softNone
	}
}

// pending reports whether a schedule waits for its session's end or is
// being carried out (the helper must not idle out then).
func (s *softSlot) pending() bool { return s.state != softNone }
