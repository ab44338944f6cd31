package bustest

import (
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Answer is what the polkit stand-in replies to one check.
type Answer int

const (
	Deny      Answer = iota // (false, false): not authorized
	Allow                   // (true, false)
	Challenge               // (false, true): a password would be needed
	Hang                    // no reply until CancelCheckAuthorization or Close
	Fail                    // a D-Bus error, as a broken polkitd
)

// PolkitCheck is one CheckAuthorization the stand-in received.
type PolkitCheck struct {
	Sender      string // the caller of CheckAuthorization (the helper)
	SubjectKind string
	SubjectName string // details["name"] of a system-bus-name subject
	Action      string
	Flags       uint32 // polkit's flags argument
	MsgFlags    dbus.Flags
	CancelID    string

	// SubjectUID is the bus daemon's uid for SubjectName when the check
	// arrived, -1 when it has none (per-user answers in Decide).
	SubjectUID int64
}

// PolkitStandIn stands in for polkitd's Authority. It denies by default.
// Decide, when set, chooses the answer; Delay is waited before answering.
type PolkitStandIn struct {
	mu       sync.Mutex
	decide   func(PolkitCheck) Answer
	delay    time.Duration
	checks   []PolkitCheck
	cancels  []string
	hung     map[string]chan struct{}
	closed   chan struct{}
	conn     *dbus.Conn
	closeOne sync.Once
}

// NewPolkitStandIn owns org.freedesktop.PolicyKit1 on a new connection to b.
func NewPolkitStandIn(t testing.TB, b *Bus) *PolkitStandIn {
	t.Helper()
	conn := NewConn(t, b)
	p := &PolkitStandIn{conn: conn, hung: map[string]chan struct{}{}, closed: make(chan struct{})}
	methods := map[string]any{
		"CheckAuthorization": p.check,
		"CancelCheckAuthorization": func(id string) *dbus.Error {
			p.mu.Lock()
			p.cancels = append(p.cancels, id)
			if ch, ok := p.hung[id]; ok {
				close(ch)
				delete(p.hung, id)
			}
			p.mu.Unlock()
			return nil
		},
	}
	if err := conn.ExportMethodTable(methods, "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority"); err != nil {
		t.Fatal(err)
	}
	Own(t, conn, "org.freedesktop.PolicyKit1")
	t.Cleanup(p.Close)
	return p
}

type subject struct {
	Kind    string
	Details map[string]dbus.Variant
}

type result struct {
	Authorized bool
	Challenge  bool
	Details    map[string]string
}

func (p *PolkitStandIn) check(sender dbus.Sender, msg dbus.Message, subj subject, action string, details map[string]string, flags uint32, cancelID string) (result, *dbus.Error) {
	c := PolkitCheck{Sender: string(sender), SubjectKind: subj.Kind, Action: action, Flags: flags, MsgFlags: msg.Flags, CancelID: cancelID}
	if v, ok := subj.Details["name"]; ok {
		c.SubjectName, _ = v.Value().(string)
	}
	c.SubjectUID = -1
	if c.SubjectName != "" {
		var uid uint32
		if p.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, c.SubjectName).Store(&uid) == nil {
			c.SubjectUID = int64(uid)
		}
	}
	p.mu.Lock()
	p.checks = append(p.checks, c)
	decide, delay := p.decide, p.delay
	p.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	a := Deny
	if decide != nil {
		a = decide(c)
	}
	switch a {
	case Allow:
		return result{Authorized: true, Details: map[string]string{}}, nil
	case Challenge:
		return result{Challenge: true, Details: map[string]string{}}, nil
	case Hang:
		ch := make(chan struct{})
		p.mu.Lock()
		p.hung[cancelID] = ch
		p.mu.Unlock()
		select {
		case <-ch:
			return result{}, dbus.NewError("org.freedesktop.PolicyKit1.Error.Cancelled", []any{"cancelled"})
		case <-p.closed:
			return result{}, dbus.NewError("org.freedesktop.PolicyKit1.Error.Failed", []any{"stand-in closed"})
		}
	case Fail:
		return result{}, dbus.NewError("org.freedesktop.PolicyKit1.Error.Failed", []any{"polkit stand-in told to fail"})
	}
	return result{Details: map[string]string{}}, nil
}

// Decide sets the decision function (nil: deny everything).
func (p *PolkitStandIn) Decide(f func(PolkitCheck) Answer) {
	p.mu.Lock()
	p.decide = f
	p.mu.Unlock()
}

// ByAction answers each action from answers, and def to any other.
func (p *PolkitStandIn) ByAction(answers map[string]Answer, def Answer) {
	p.Decide(func(c PolkitCheck) Answer {
		if a, ok := answers[c.Action]; ok {
			return a
		}
		return def
	})
}

// Always answers a to every check.
func (p *PolkitStandIn) Always(a Answer) { p.Decide(func(PolkitCheck) Answer { return a }) }

// SetDelay makes every answer wait d.
func (p *PolkitStandIn) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// Checks returns the checks received so far.
func (p *PolkitStandIn) Checks() []PolkitCheck {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PolkitCheck(nil), p.checks...)
}

// Cancels returns the cancellation ids received so far.
func (p *PolkitStandIn) Cancels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cancels...)
}

// Close releases every hung check and gives up the name.
func (p *PolkitStandIn) Close() {
	p.closeOne.Do(func() {
		close(p.closed)
		p.conn.ReleaseName("org.freedesktop.PolicyKit1")
	})
}
