package polkit_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/polkit"
)

// The polkit client against the polkit stand-in on a private system bus.

func newAuthority(t *testing.T) (*polkit.Authority, *bustest.PolkitStandIn) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the stand-in owns org.freedesktop.PolicyKit1, which the bus policy gives to root")
	}
	bus := bustest.NewSystemBus(t, "")
	pk := bustest.NewPolkitStandIn(t, bus)
	return polkit.New(bustest.NewConn(t, bus)), pk
}

func TestEachAnswerBecomesItsRefusalOrNil(t *testing.T) {
	a, pk := newAuthority(t)
	cases := []struct {
		answer bustest.Answer
		code   reason.Code
		is     error
	}{
		{bustest.Allow, reason.OK, nil},
		{bustest.Deny, reason.NotAuthorized, polkit.ErrDenied},
		{bustest.Challenge, reason.AuthenticationRequired, polkit.ErrChallenge},
		{bustest.Fail, reason.Internal, nil},
	}
	for _, c := range cases {
		pk.Always(c.answer)
		err := a.Check(context.Background(), ":1.42", "io.github.rapidreboot.quick-restart", nil, false)
		if reason.CodeOf(err) != c.code || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("answer %d: %v (%s), want %s", c.answer, err, reason.CodeOf(err), c.code)
		}
	}
	for _, ch := range pk.Checks() {
		if ch.SubjectKind != "system-bus-name" || ch.SubjectName != ":1.42" || ch.Flags != 0 {
			t.Errorf("check = %+v", ch)
		}
	}
}

func TestInteractiveSetsPolkitsFlag(t *testing.T) {
	a, pk := newAuthority(t)
	pk.Always(bustest.Allow)
	if err := a.Check(context.Background(), ":1.7", "x.y", nil, true); err != nil {
		t.Fatal(err)
	}
	if c := pk.Checks(); len(c) != 1 || c[0].Flags != polkit.FlagAllowUserInteraction {
		t.Errorf("checks = %+v", c)
	}
}

func TestAHungCheckTimesOutAndIsCancelled(t *testing.T) {
	a, pk := newAuthority(t)
	a.Timeout = 200 * time.Millisecond
	pk.Always(bustest.Hang)
	start := time.Now()
	err := a.Check(context.Background(), ":1.7", "x.y", nil, false)
	if !errors.Is(err, polkit.ErrTimeout) || reason.CodeOf(err) != reason.Internal {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
	for deadline := time.Now().Add(3 * time.Second); len(pk.Cancels()) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if c := pk.Cancels(); len(c) != 1 || c[0] != pk.Checks()[0].CancelID {
		t.Errorf("cancels = %v", c)
	}
}

func TestNoPolkitIsARefusal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the bus rig")
	}
	bus := bustest.NewSystemBus(t, "")
	a := polkit.New(bustest.NewConn(t, bus))
	if err := a.Check(context.Background(), ":1.7", "x.y", nil, false); reason.CodeOf(err) != reason.Internal {
		t.Errorf("err = %v", err)
	}
}
