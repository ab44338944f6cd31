package logind_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/system/bussignal"
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
	m, li, _ := newManagerOnBus(t)
	return m, li
}

func newManagerOnBus(t *testing.T) (*logind.Manager, *bustest.LogindStandIn, *bustest.Bus) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the stand-in owns org.freedesktop.login1, which the bus policy gives to root")
	}
	bus := bustest.NewSystemBus(t, "")
	li := bustest.NewLogindStandIn(t, bus)
	return logind.New(bustest.NewConn(t, bus)), li, bus
}

// watcher is a Manager on a connection of its own with the helper's
// bounded signal handler, as cmd/rapidreboot-helper connects. out, when
// not nil, sees every message the connection sends.
func watcher(t *testing.T, bus *bustest.Bus, out func(*dbus.Message)) (*logind.Manager, *bussignal.Handler, *dbus.Conn) {
	t.Helper()
	sigs := bussignal.New()
	opts := []dbus.ConnOption{dbus.WithSignalHandler(sigs)}
	if out != nil {
		opts = append(opts, dbus.WithOutgoingInterceptor(out))
	}
	conn, err := dbus.Connect(bus.Addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return logind.New(conn), sigs, conn
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
	li.Refuse(dbus.NewError("org.freedesktop.login1.OperationInProgress", []any{"busy"}))
	err := m.RebootWithFlags(context.Background(), logind.FlagRootCheckInhibitors)
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.login1.OperationInProgress" {
		t.Errorf("err = %v", err)
	}
	li.Refuse(nil)
	li.WithoutFlags()
	if err := m.RebootWithFlags(context.Background(), 1); !errors.Is(err, logind.ErrNoFlags) {
		t.Errorf("err = %v, want ErrNoFlags", err)
	}
	if rb := li.Reboots(); len(rb) != 2 || rb[0] != "RebootWithFlags(0x1) uid=0" { // an unknown method records nothing
		t.Errorf("reboots = %v", rb)
	}
}

// TestTheDesktopsCallsReachLogind covers what the dialog asks through
// backend/session: the Can* answers, the power methods with
// interactive=true, the caller's session and its logout.
func TestTheDesktopsCallsReachLogind(t *testing.T) {
	m, li := newManager(t)
	ctx := context.Background()
	for _, method := range []string{logind.MethodReboot, logind.MethodPowerOff, logind.MethodSuspend, logind.MethodHibernate} {
		if err := m.Power(ctx, method); err != nil {
			t.Errorf("%s: %v", method, err)
		}
	}
	if got, want := li.Calls(), []string{"Reboot(true)", "PowerOff(true)", "Suspend(true)", "Hibernate(true)"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	li.Refuse(dbus.NewError("org.freedesktop.DBus.Error.AccessDenied", []any{"Access denied"}))
	err := m.Power(ctx, logind.MethodPowerOff)
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.AccessDenied" || err.Error() != "cannot ask logind to poweroff: Access denied" {
		t.Errorf("refused PowerOff: %v", err)
	}
	li.Refuse(nil)

	if a, err := m.Can(ctx, "Reboot"); err != nil || a != "yes" {
		t.Errorf("CanReboot = %q, %v", a, err)
	}
	if _, err := m.Can(ctx, "Fly"); err == nil {
		t.Error("CanFly answered")
	}

	p, err := m.SessionByPID(ctx, uint32(os.Getpid()))
	if err != nil || p != bustest.StandInSessionPath {
		t.Fatalf("SessionByPID = %q, %v", p, err)
	}
	if id, err := m.SessionID(ctx, p); err != nil || id != bustest.StandInSessionID {
		t.Errorf("SessionID = %q, %v", id, err)
	}
	if _, err := m.SessionID(ctx, "/org/freedesktop/login1/session/none"); err == nil {
		t.Error("the id of a missing session was read")
	}
	li.Reset()
	if err := m.TerminateSession(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	if got := li.Calls(); !slices.Equal(got, []string{"TerminateSession(7)"}) {
		t.Errorf("calls %q", got)
	}
}

func TestAnInhibitorCoversItsWords(t *testing.T) {
	i := logind.Inhibitor{What: "sleep:shutdown:idle"}
	for what, want := range map[string]bool{"shutdown": true, "sleep": true, "idle": true, "shut": false, "": false, "sleep:shutdown": false} {
		if got := i.Covers(what); got != want {
			t.Errorf("Covers(%q) = %v, want %v", what, got, want)
		}
	}
}

func TestShutdownBlockerAndPreparingForShutdown(t *testing.T) {
	m, li, bus := newManagerOnBus(t)
	w, sigs, _ := watcher(t, bus, nil)
	li.SetInhibitors(bustest.StandInInhibitor{What: "sleep", Who: "a", Mode: "block"}, bustest.StandInInhibitor{What: "shutdown", Who: "b", Why: "c", Mode: "block"})
	b, err := m.ShutdownBlocker(context.Background())
	if err != nil || b == nil || b.Name() != "b (c)" {
		t.Errorf("blocker = %+v, %v", b, err)
	}
	if v, err := m.PreparingForShutdown(context.Background()); err != nil || v {
		t.Errorf("PreparingForShutdown = %v, %v", v, err)
	}
	got := make(chan bool, 1)
	if err := w.WatchShutdown(context.Background(), sigs, func(v bool) { got <- v }); err != nil {
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

// Issue 12, item 5: only the connection that owns org.freedesktop.login1
// is heard, followed across a restart of logind (here two stand-in
// connections, one after the other); everyone else's PrepareForShutdown,
// and a NameOwnerChanged that does not come from the bus daemon, are
// dropped without the watcher sending anything on the bus.
func TestIssue12Item5OnlyTheCurrentOwnerOfLogindsNameIsHeardWithoutABusCallPerSignal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the stand-ins own org.freedesktop.login1, which the bus policy gives to root")
	}
	bus := bustest.NewSystemBus(t, "")
	first := bustest.NewConn(t, bus)
	bustest.Own(t, first, logind.BusName)

	var calls atomic.Int64
	w, sigs, wconn := watcher(t, bus, func(m *dbus.Message) {
		if m.Type == dbus.TypeMethodCall {
			calls.Add(1)
		}
	})
	got := make(chan bool, 100)
	if err := w.WatchShutdown(context.Background(), sigs, func(v bool) { got <- v }); err != nil {
		t.Fatal(err)
	}
	callsBefore := calls.Load()
	me := wconn.Names()[0]
	done := make(chan *dbus.Signal, 1)
	sigs.Subscribe(done, func(s *dbus.Signal) bool { return s.Name == "test.Flood.Done" })

	spoofer := bustest.NewConn(t, bus)
	for i := range 3000 {
		msg := bustest.SignalTo(me, logind.Path, logind.ManagerInterface, "PrepareForShutdown", true)
		if i%3 == 2 {
			msg = bustest.SignalTo(me, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", logind.BusName, "", spoofer.Names()[0])
		}
		if c := spoofer.Send(msg, nil); c.Err != nil {
			t.Fatal(c.Err)
		}
	}
	if c := spoofer.Send(bustest.SignalTo(me, logind.Path, logind.ManagerInterface, "PrepareForShutdown", true), nil); c.Err != nil {
		t.Fatal(c.Err)
	}
	// A message from one sender arrives after the ones it sent before:
	// when the marker arrives, the watcher has read every signal.
	if c := spoofer.Send(bustest.SignalTo(me, "/", "test.Flood", "Done"), nil); c.Err != nil {
		t.Fatal(c.Err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the end of the flood did not arrive")
	}
	select {
	case v := <-got:
		t.Fatalf("a spoofed PrepareForShutdown(%v) was taken for logind's", v)
	case <-time.After(100 * time.Millisecond):
	}
	if n := calls.Load() - callsBefore; n != 0 {
		t.Errorf("the watcher made %d bus calls for 3001 spoofed signals, want none", n)
	}

	// logind's own signal is heard.
	if err := first.Emit(logind.Path, logind.ManagerInterface+".PrepareForShutdown", true); err != nil {
		t.Fatal(err)
	}
	if v := wait(t, got); !v {
		t.Fatal("PrepareForShutdown(false), want true")
	}

	// logind restarts: the new connection is heard, the old one is not.
	if _, err := first.ReleaseName(logind.BusName); err != nil {
		t.Fatal(err)
	}
	second := bustest.NewConn(t, bus)
	bustest.Own(t, second, logind.BusName)
	// The watcher learns of the change from the bus daemon, which sent
	// NameOwnerChanged before it answered second's RequestName: a ping
	// from the daemon's side is not possible, so wait for the watcher to
	// hear second (it cannot hear it before the change).
	if err := first.Emit(logind.Path, logind.ManagerInterface+".PrepareForShutdown", true); err != nil {
		t.Fatal(err)
	}
	if err := second.Emit(logind.Path, logind.ManagerInterface+".PrepareForShutdown", false); err != nil {
		t.Fatal(err)
	}
	if v := wait(t, got); v {
		t.Fatal("the former owner's PrepareForShutdown(true) was heard")
	}
	select {
	case v := <-got:
		t.Fatalf("an extra PrepareForShutdown(%v)", v)
	case <-time.After(200 * time.Millisecond):
	}
	if n := calls.Load() - callsBefore; n != 0 {
		t.Errorf("the watcher made %d bus calls, want none after its start", n)
	}
}

func wait(t *testing.T, ch <-chan bool) bool {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no PrepareForShutdown heard")
		return false
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

// gnome-session's own block on shutdown (gsm-systemd.c: who is the user's
// name, why "user session inhibited"; "block", or "block-weak" in newer
// releases) is told from any other by its why; a delay is no block at all.
func TestSessionManagersAndFirstBlockerExcept(t *testing.T) {
	own := logind.Inhibitor{What: "sleep:shutdown", Who: "alice", Why: "user session inhibited", Mode: "block", UID: 1000}
	weak := logind.Inhibitor{What: "shutdown", Who: "alice", Why: " user session inhibited ", Mode: "block-weak", UID: 1000}
	sleepOnly := logind.Inhibitor{What: "sleep", Who: "alice", Why: "user session inhibited", Mode: "block", UID: 1000}
	delay := logind.Inhibitor{What: "shutdown", Who: "alice", Why: "user session inhibited", Mode: "delay", UID: 1000}
	backup := logind.Inhibitor{What: "shutdown", Who: "Backup", Why: "copying", Mode: "block", UID: 1000}
	for _, c := range []struct {
		i    logind.Inhibitor
		want bool
	}{{own, true}, {weak, true}, {sleepOnly, false}, {delay, false}, {backup, false}} {
		if got := c.i.SessionManagers(); got != c.want {
			t.Errorf("%+v.SessionManagers() = %v", c.i, got)
		}
	}
	passSM := func(i logind.Inhibitor) bool { return i.SessionManagers() }
	if b := logind.FirstBlockerExcept([]logind.Inhibitor{delay, own, backup}, passSM); b == nil || b.Who != "Backup" {
		t.Errorf("FirstBlockerExcept = %+v, want Backup", b)
	}
	if b := logind.FirstBlockerExcept([]logind.Inhibitor{delay, own, weak}, passSM); b != nil {
		t.Errorf("FirstBlockerExcept = %+v, want none", b)
	}
	if b := logind.FirstBlocker([]logind.Inhibitor{delay, own, backup}); b == nil || b.Who != "alice" {
		t.Errorf("FirstBlocker = %+v, want alice's", b)
	}
}
