package logind_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/logind"
)

func TestWhichInhibitorsBlockAReboot(t *testing.T) {
	cases := []struct {
		i    logind.Inhibitor
		want bool
	}{
		{logind.Inhibitor{What: "shutdown", Mode: "block"}, true},
		{logind.Inhibitor{What: "sleep:shutdown:idle", Mode: "block"}, true},
		{logind.Inhibitor{What: "shutdown", Mode: "block-weak"}, true},
		{logind.Inhibitor{What: "shutdown", Mode: "delay"}, false},
		{logind.Inhibitor{What: "sleep", Mode: "block"}, false},
		{logind.Inhibitor{What: "handle-power-key", Mode: "block"}, false},
		{logind.Inhibitor{What: "shutdownx", Mode: "block"}, false},
	}
	for _, c := range cases {
		if got := c.i.Inhibits(); got != c.want {
			t.Errorf("%+v: %v, want %v", c.i, got, c.want)
		}
	}
}

func TestAnInhibitorIsNamedWhoAndWhy(t *testing.T) {
	for _, c := range []struct {
		i    logind.Inhibitor
		want string
	}{
		{logind.Inhibitor{Who: "Backup", Why: "copying"}, "Backup (copying)"},
		{logind.Inhibitor{Who: " apt ", Why: ""}, "apt"},
		{logind.Inhibitor{Who: "", Why: "x", PID: 42}, "process 42 (x)"},
	} {
		if got := c.i.Name(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.i, got, c.want)
		}
	}
}

func newManager(t *testing.T) (*logind.Manager, *bustest.LogindStandIn) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the stand-in owns org.freedesktop.login1, which the bus policy gives to root")
	}
	bus := bustest.NewSystemBus(t, "")
	li := bustest.NewLogindStandIn(t, bus)
	return logind.New(bustest.NewConn(t, bus)), li
}

// logind's rule for reboot-multiple-sessions (logind-dbus.c,
// have_multiple_sessions): a session of class "user" of another uid.
func TestOtherUsersSessionsFollowLogindsRule(t *testing.T) {
	m, li := newManager(t)
	cases := []struct {
		desc     string
		sessions []bustest.StandInSession
		want     bool
	}{
		{"none", nil, false},
		{"own sessions only", []bustest.StandInSession{{ID: "1", UID: 1000, Class: "user"}, {ID: "2", UID: 1000, Class: "user", Seat: "seat0"}}, false},
		{"a greeter", []bustest.StandInSession{{ID: "c1", UID: 113, Class: "greeter", Seat: "seat0"}}, false},
		{"a lock screen", []bustest.StandInSession{{ID: "c2", UID: 113, Class: "lock-screen"}}, false},
		{"another user", []bustest.StandInSession{{ID: "3", UID: 1001, Class: "user"}}, true},
		{"root in a session", []bustest.StandInSession{{ID: "4", UID: 0, Class: "user"}}, true},
	}
	for _, c := range cases {
		li.SetSessions(c.sessions...)
		got, err := m.OtherUsersSessions(context.Background(), 1000)
		if err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", c.desc, got, err, c.want)
		}
	}
}

func TestRebootErrorsAreReturnedWithTheirName(t *testing.T) {
	m, li := newManager(t)
	if err := m.RebootWithFlags(context.Background(), logind.FlagRootCheckInhibitors); err != nil {
		t.Fatal(err)
	}
	li.RefuseReboot(dbus.NewError("org.freedesktop.login1.OperationInProgress", []any{"busy"}))
	err := m.RebootWithFlags(context.Background(), logind.FlagRootCheckInhibitors)
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.login1.OperationInProgress" {
		t.Errorf("err = %v", err)
	}
	li.RefuseReboot(nil)
	li.WithoutFlags()
	if err := m.RebootWithFlags(context.Background(), 1); !errors.Is(err, logind.ErrNoFlags) {
		t.Errorf("err = %v, want ErrNoFlags", err)
	}
	if rb := li.Reboots(); len(rb) != 2 || rb[0] != "RebootWithFlags(0x1) uid=0" { // an unknown method records nothing
		t.Errorf("reboots = %v", rb)
	}
}

func TestShutdownBlockerAndPreparingForShutdown(t *testing.T) {
	m, li := newManager(t)
	li.SetInhibitors(bustest.StandInInhibitor{What: "sleep", Who: "a", Mode: "block"}, bustest.StandInInhibitor{What: "shutdown", Who: "b", Why: "c", Mode: "block"})
	b, err := m.ShutdownBlocker(context.Background())
	if err != nil || b == nil || b.Name() != "b (c)" {
		t.Errorf("blocker = %+v, %v", b, err)
	}
	if v, err := m.PreparingForShutdown(context.Background()); err != nil || v {
		t.Errorf("PreparingForShutdown = %v, %v", v, err)
	}
	got := make(chan bool, 1)
	if err := m.WatchShutdown(context.Background(), func(v bool) { got <- v }); err != nil {
		t.Fatal(err)
	}
	li.EmitPrepareForShutdown(true)
	if v := <-got; !v {
		t.Error("PrepareForShutdown(false)")
	}
	if v, err := m.PreparingForShutdown(context.Background()); err != nil || !v {
		t.Errorf("PreparingForShutdown = %v, %v", v, err)
	}
}

// logind's choice of polkit actions (verify_shutdown_creds).
func TestRebootActionsAreTheOnesLogindChecks(t *testing.T) {
	cases := []struct {
		multiple, blocked bool
		want              []string
	}{
		{false, false, []string{logind.ActionReboot}},
		{true, false, []string{logind.ActionRebootMultipleSessions}},
		{false, true, []string{logind.ActionRebootIgnoreInhibit}},
		{true, true, []string{logind.ActionRebootMultipleSessions, logind.ActionRebootIgnoreInhibit}},
	}
	for _, c := range cases {
		got := logind.RebootActions(c.multiple, c.blocked)
		if !slices.Equal(got, c.want) {
			t.Errorf("RebootActions(%v, %v) = %v, want %v", c.multiple, c.blocked, got, c.want)
		}
	}
}

func TestWhichInhibitorsMakeLogindAskToIgnoreThem(t *testing.T) {
	const caller = 1000
	cases := []struct {
		desc string
		ii   []logind.Inhibitor
		want bool
	}{
		{"none", nil, false},
		{"another user's block", []logind.Inhibitor{{What: "shutdown", Mode: "block", UID: 1001}}, true},
		{"root's block", []logind.Inhibitor{{What: "shutdown:sleep", Mode: "block", UID: 0}}, true},
		// 252 ignores it, 257 refuses outright: the stricter answer.
		{"the caller's own block", []logind.Inhibitor{{What: "shutdown", Mode: "block", UID: caller}}, true},
		{"another user's block-weak", []logind.Inhibitor{{What: "shutdown", Mode: "block-weak", UID: 0}}, true},
		{"the caller's own block-weak", []logind.Inhibitor{{What: "shutdown", Mode: "block-weak", UID: caller}}, false},
		{"a delay", []logind.Inhibitor{{What: "shutdown", Mode: "delay", UID: 0}}, false},
		{"a block on sleep", []logind.Inhibitor{{What: "sleep", Mode: "block", UID: 0}}, false},
	}
	for _, c := range cases {
		if got := logind.BlocksRebootFor(c.ii, caller); got != c.want {
			t.Errorf("%s: %v, want %v", c.desc, got, c.want)
		}
	}
}
