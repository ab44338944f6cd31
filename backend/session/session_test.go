package session_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/session"
)

type recorder interface{ Calls() []string }

// env returns a getenv with only the given variables.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDetectAndActThroughEachSessionManager(t *testing.T) {
	type setup func(t *testing.T, sess *dbus.Conn) recorder
	gnome := func(mate bool) setup {
		return func(t *testing.T, sess *dbus.Conn) recorder {
			s, err := bustest.NewGnomeSMStandIn(sess, mate, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	tests := []struct {
		desc    string
		setup   setup
		desktop string
		name    string
		want    map[session.Action]string
		logind  bool // the calls go to the logind stand-in
	}{
		{"GNOME logs out without a second confirmation and reboots through the shell's dialog", gnome(false), "GNOME", "GNOME",
			map[session.Action]string{session.Logout: "Logout(1)", session.Reboot: "Reboot()", session.PowerOff: "Shutdown()"}, false},
		{"MATE reboots with RequestReboot, skipping its own chooser", gnome(true), "MATE", "MATE",
			map[session.Action]string{session.Logout: "Logout(1)", session.Reboot: "RequestReboot()", session.PowerOff: "RequestShutdown()"}, false},
		{"Cinnamon is recognised by XDG_CURRENT_DESKTOP", gnome(true), "X-Cinnamon", "Cinnamon",
			map[session.Action]string{session.Reboot: "RequestReboot()"}, false},
		{"Xfce saves the session and shows no dialog of its own", func(t *testing.T, sess *dbus.Conn) recorder {
			s, err := bustest.NewXfceSMStandIn(sess)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "XFCE", "Xfce", map[session.Action]string{session.Logout: "Logout(false,true)", session.Reboot: "Restart(true)", session.PowerOff: "Shutdown(true)"}, false},
		{"KDE Plasma 6 goes through org.kde.Shutdown", func(t *testing.T, sess *dbus.Conn) recorder {
			s, err := bustest.NewKDEStandIn(sess)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "KDE", "KDE Plasma", map[session.Action]string{session.Logout: "logout()", session.Reboot: "logoutAndReboot()", session.PowerOff: "logoutAndShutdown()"}, false},
		{"LXQt gets calls that expect no reply", func(t *testing.T, sess *dbus.Conn) recorder {
			s, err := bustest.NewLXQtStandIn(sess)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "LXQt", "LXQt", map[session.Action]string{session.Logout: "logout()", session.Reboot: "reboot()", session.PowerOff: "powerOff()"}, false},
		{"without a session manager logind terminates the session and reboots interactively", nil, "", "logind",
			map[session.Action]string{session.Logout: "TerminateSession(7)", session.Reboot: "Reboot(true)", session.PowerOff: "PowerOff(true)"}, true},
	}
	for _, tc := range tests {
		for a, want := range tc.want {
			t.Run(tc.desc+"/"+a.String(), func(t *testing.T) {
				sessBus := bustest.NewBus(t, "session")
				sess := bustest.NewConn(t, sessBus)
				sys := bustest.NewConn(t, bustest.NewBus(t, "system"))
				login, err := bustest.StartLogindStandIn(sys, nil)
				if err != nil {
					t.Fatal(err)
				}
				var rec recorder = login
				if tc.setup != nil {
					rec = tc.setup(t, bustest.NewConn(t, sessBus))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				m, err := session.Detect(ctx, sess, sys, env("XDG_CURRENT_DESKTOP", tc.desktop, "XDG_SESSION_ID", "7"))
				if err != nil {
					t.Fatal(err)
				}
				if m.Name() != tc.name {
					t.Errorf("detected %q, want %q", m.Name(), tc.name)
				}
				if err := m.Do(ctx, a); err != nil {
					t.Fatal(err)
				}
				if !waitCalls(rec, want) {
					t.Errorf("calls %q, want %q", rec.Calls(), want)
				}
			})
		}
	}
}

func waitCalls(r recorder, want string) bool {
	type waiter interface {
		WaitFor(string, time.Duration) bool
	}
	return r.(waiter).WaitFor(want, 3*time.Second) && len(r.Calls()) == 1
}

func TestSuspendAndHibernateGoToLogindWhateverTheSessionManager(t *testing.T) {
	sessBus := bustest.NewBus(t, "session")
	sess := bustest.NewConn(t, sessBus)
	sys := bustest.NewConn(t, bustest.NewBus(t, "system"))
	login, err := bustest.StartLogindStandIn(sys, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := bustest.NewXfceSMStandIn(bustest.NewConn(t, sessBus))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := session.Detect(ctx, sess, sys, env())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []session.Action{session.Suspend, session.Hibernate} {
		if err := m.Do(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := login.Calls(), []string{"Suspend(true)", "Hibernate(true)"}; !reflect.DeepEqual(got, want) {
		t.Errorf("logind got %q, want %q", got, want)
	}
	if len(x.Calls()) != 0 {
		t.Errorf("the session manager got %q", x.Calls())
	}
}

func TestDetectWithoutASessionBusUsesLogind(t *testing.T) {
	sys := bustest.NewConn(t, bustest.NewBus(t, "system"))
	if _, err := bustest.StartLogindStandIn(sys, nil); err != nil {
		t.Fatal(err)
	}
	m, err := session.Detect(context.Background(), nil, sys, env())
	if err != nil || m.Name() != "logind" {
		t.Fatalf("Detect = %v, %v", m, err)
	}
}

func TestALogindRefusalIsReturnedWithItsName(t *testing.T) {
	sys := bustest.NewConn(t, bustest.NewBus(t, "system"))
	login, err := bustest.StartLogindStandIn(sys, nil)
	if err != nil {
		t.Fatal(err)
	}
	login.Refuse(dbus.NewError("org.freedesktop.DBus.Error.AccessDenied", []any{"Access denied"}))
	err = session.NewLogind(sys, env("XDG_SESSION_ID", "1")).Do(context.Background(), session.Reboot)
	if err == nil || !strings.Contains(err.Error(), "cannot ask logind to reboot") || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("error = %v", err)
	}
}

func TestLogoutFindsTheSessionFromLogindWhenXDGSessionIDIsUnset(t *testing.T) {
	sys := bustest.NewConn(t, bustest.NewBus(t, "system"))
	login, err := bustest.StartLogindStandIn(sys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewLogind(sys, env()).Do(context.Background(), session.Logout); err != nil {
		t.Fatal(err)
	}
	if got := login.Calls(); !reflect.DeepEqual(got, []string{"TerminateSession(standin-1)"}) {
		t.Errorf("calls %q", got)
	}
}

func TestCapsAndInhibitors(t *testing.T) {
	sessBus := bustest.NewBus(t, "session")
	sess := bustest.NewConn(t, sessBus)
	sys := bustest.NewConn(t, bustest.NewBus(t, "system"))
	login, err := bustest.StartLogindStandIn(sys, map[string]string{"CanSuspend": "yes", "CanHibernate": "na", "CanReboot": "challenge"})
	if err != nil {
		t.Fatal(err)
	}
	login.SetInhibitors([]bustest.StandInInhibitor{
		{What: "shutdown:sleep", Who: "Backup", Why: "Copying files", Mode: "block", UID: 1000, PID: 42},
		{What: "sleep", Who: "NetworkManager", Why: "sleep only", Mode: "delay", PID: 43},
		{What: "shutdown", Who: "self", Why: "ours", Mode: "delay", PID: uint32(os.Getpid())},
	}...)
	if _, err := bustest.NewGnomeSMStandIn(bustest.NewConn(t, sessBus), false, []bustest.GnomeInhibitor{
		{AppID: "org.gnome.TextEditor", Reason: "Unsaved document", Flags: 1},
		{AppID: "org.gnome.Totem", Reason: "Playing a film", Flags: 8},
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l := session.NewLogind(sys, env())
	caps := l.Caps(ctx)
	if caps != (session.Caps{PowerOff: "yes", Reboot: "challenge", Suspend: "yes", Hibernate: "na"}) {
		t.Errorf("caps %+v", caps)
	}
	if !session.Yes(caps.Reboot) || session.Yes(caps.Hibernate) {
		t.Error("challenge must count as yes, na as no")
	}
	inh, err := l.ShutdownInhibitors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(inh) != 1 || inh[0].Who != "Backup" || inh[0].Why != "Copying files" || inh[0].Mode != "block" {
		t.Errorf("logind inhibitors %+v: want only the shutdown one that is not ours", inh)
	}
	m, err := session.Detect(ctx, sess, sys, env("XDG_CURRENT_DESKTOP", "GNOME"))
	if err != nil {
		t.Fatal(err)
	}
	sinh, err := session.SessionInhibitors(ctx, m, sess)
	if err != nil {
		t.Fatal(err)
	}
	if len(sinh) != 1 || sinh[0].AppID != "org.gnome.TextEditor" || sinh[0].Why != "Unsaved document" {
		t.Errorf("session inhibitors %+v: want only the one inhibiting logout", sinh)
	}
}
