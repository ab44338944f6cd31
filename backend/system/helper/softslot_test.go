package helper

import (
	"strings"
	"testing"
	"time"
)

// The pending soft restart's state machine (softslot.go), one sequence of
// events per row. Steps: "put" (a new schedule, seq = the count of puts),
// "drop", "take N" (session of schedule N ended), "lapse N early|late",
// "finish N". Each step's result is written as the slot's state after it,
// with what the step returned: "+N" a schedule returned, "-" none,
// "refused"/"firing" the refusals.
func TestSoftSlotTransitions(t *testing.T) {
	tests := []struct {
		desc  string
		steps string
		want  string
	}{
		{"a schedule waits", "put", "pending -"},
		{"its session ends: carried out once", "put; take 1; take 1; finish 1", "pending -; firing +1; firing -; none -"},
		{"a cancel leaves nothing pending", "put; drop", "pending -; none +1"},
		{"a cancel with nothing pending changes nothing", "drop", "none -"},
		{"the session's end after a cancel does nothing", "put; drop; take 1", "pending -; none +1; none -"},
		{"the deadline drops it", "put; lapse 1 late", "pending -; none +1"},
		{"a timer that fires early drops nothing", "put; lapse 1 early", "pending -; pending -"},
		{"a new schedule replaces the old one", "put; put", "pending -; pending +1"},
		{"the old schedule's session end does nothing", "put; put; take 1; take 2", "pending -; pending +1; pending -; firing +2"},
		{"the old schedule's deadline does nothing", "put; put; lapse 1 late", "pending -; pending +1; pending -"},
		{"no new schedule while one is carried out", "put; take 1; put", "pending -; firing +1; firing refused"},
		{"no cancel while one is carried out", "put; take 1; drop", "pending -; firing +1; firing firing"},
		{"no deadline while one is carried out", "put; take 1; lapse 1 late", "pending -; firing +1; firing -"},
		{"after it was carried out, a new one can be asked", "put; take 1; finish 1; put", "pending -; firing +1; none -; pending -"},
		{"finish of another schedule changes nothing", "put; take 1; finish 2", "pending -; firing +1; firing -"},
	}
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var s softSlot
			var got []string
			for _, step := range strings.Split(tc.steps, "; ") {
				f := strings.Fields(step)
				var seq uint64
				if len(f) > 1 {
					seq = uint64(f[1][0] - '0')
				}
				ret := "-"
				show := func(sc *softSchedule) {
					if sc != nil {
						ret = "+" + string(rune('0'+sc.seq))
					}
				}
				switch f[0] {
				case "put":
					old, ok := s.put(&softSchedule{deadline: t0.Add(SoftDeadline)})
					show(old)
					if !ok {
						ret = "refused"
					}
				case "drop":
					old, firing := s.drop()
					show(old)
					if firing {
						ret = "firing"
					}
				case "take":
					show(s.take(seq))
				case "lapse":
					now := t0
					if f[2] == "late" {
						now = t0.Add(SoftDeadline)
					}
					show(s.lapse(seq, now))
				case "finish":
					s.finish(seq)
				default:
					t.Fatalf("bad step %q", step)
				}
				got = append(got, s.state.String()+" "+ret)
			}
			if g := strings.Join(got, "; "); g != tc.want {
				t.Errorf("%s:\n got  %s\n want %s", tc.steps, g, tc.want)
			}
			if s.pending() != (s.state != softNone) {
				t.Errorf("pending() = %v in state %v", s.pending(), s.state)
			}
		})
	}
}
