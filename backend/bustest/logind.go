package bustest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// StandInSession is one session the logind stand-in lists.
type StandInSession struct {
	ID    string
	UID   uint32
	User  string
	Seat  string
	Class string // "user", "greeter", …
}

// StandInInhibitor is one inhibitor the logind stand-in lists.
type StandInInhibitor struct {
	What, Who, Why, Mode string
	UID, PID             uint32
}

// The logind stand-in's own session, which GetSessionByPID returns for any
// process: the dialog's logout falls back to it.
const (
	StandInSessionPath = dbus.ObjectPath("/org/freedesktop/login1/session/standin")
	StandInSessionID   = "standin-1"
)

// LogindStandIn stands in for systemd-logind's Manager on a private bus,
// for the helper and the dialog alike: sessions, inhibitors (listed as
// set, and Inhibit calls recorded with their release, inhibit.go), the Can*
// answers, the power methods a desktop calls (recorded as "Reboot(true)"
// in Recorder), the helper's RebootWithFlags/Reboot (also recorded with
// flags and caller uid in Reboots, and refused as logind refuses a root
// caller that asked to honour inhibitors while one blocks),
// PrepareForShutdown and PreparingForShutdown. It never reboots, powers
// off, suspends or kexecs anything: it is a recorder on a private bus.
type LogindStandIn struct {
	Recorder
	mu         sync.Mutex
	can        map[string]string
	sessions   []StandInSession
	inhibitors []StandInInhibitor
	reboots    []string         // "RebootWithFlags(0x1) uid=0", "Reboot(false) uid=0"
	inhibits   []StandInInhibit // Inhibit calls (inhibit.go)
	refuse     *dbus.Error
	noFlags    bool // act as systemd < 248: no RebootWithFlags
	noSoft     bool // act as systemd < 254: SD_LOGIND_SOFT_REBOOT unknown
	// shutdownOnReboot makes an accepted Reboot, RebootWithFlags or
	// PowerOff emit PrepareForShutdown(true), as logind does when it
	// proceeds.
	shutdownOnReboot bool
	conn             *dbus.Conn
	props            *prop.Properties
	// The stand-in's own session (StandInSessionPath): its State, and
	// whether it was removed (RemoveStandInSession).
	ownProps   *prop.Properties
	ownRemoved bool
}

// NewLogindStandIn owns org.freedesktop.login1 on a new connection to b,
// for the helper's tests (b strict: only root may own the name). By
// default there are no sessions and no inhibitors, every Can* answers
// "yes", and an accepted reboot emits PrepareForShutdown(true).
func NewLogindStandIn(t testing.TB, b *Bus) *LogindStandIn {
	t.Helper()
	l, err := StartLogindStandIn(NewConn(t, b), nil)
	if err != nil {
		t.Fatal(err)
	}
	l.SetShutdownOnReboot(true)
	return l
}

// StartLogindStandIn owns org.freedesktop.login1 on conn, for the dialog's
// tests and stand-in programs. can maps "CanSuspend" etc. to answers;
// missing ones answer "yes". A reboot emits nothing until
// SetShutdownOnReboot(true).
func StartLogindStandIn(conn *dbus.Conn, can map[string]string) (*LogindStandIn, error) {
	l := &LogindStandIn{conn: conn, can: can}
	m := l.methods()
	for _, c := range []string{"CanPowerOff", "CanReboot", "CanSuspend", "CanHibernate"} {
		m[c] = l.answer(c)
	}
	if err := export(conn, "/org/freedesktop/login1", "org.freedesktop.login1.Manager", m); err != nil {
		return nil, err
	}
	props, err := prop.Export(conn, "/org/freedesktop/login1", prop.Map{
		"org.freedesktop.login1.Manager": {"PreparingForShutdown": {Value: false, Emit: prop.EmitFalse}},
	})
	if err != nil {
		return nil, err
	}
	l.props = props
	ownProps, err := prop.Export(conn, StandInSessionPath, prop.Map{
		"org.freedesktop.login1.Session": {
			"Id":    {Value: StandInSessionID, Emit: prop.EmitFalse},
			"State": {Value: "active", Emit: prop.EmitFalse}, // logind announces no change of State
		},
	})
	if err != nil {
		return nil, err
	}
	l.ownProps = ownProps
	return l, own(conn, "org.freedesktop.login1")
}

// standInSession is one row of ListSessions, a(susso).
type standInSession struct {
	ID   string
	UID  uint32
	User string
	Seat string
	Path dbus.ObjectPath
}

func (l *LogindStandIn) methods() map[string]any {
	return map[string]any{
		"ListSessions": func() ([]standInSession, *dbus.Error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			out := make([]standInSession, 0, len(l.sessions))
			for _, s := range l.sessions {
				out = append(out, standInSession{s.ID, s.UID, s.User, s.Seat, sessionPath(s.ID)})
			}
			return out, nil
		},
		"ListInhibitors": func() ([]StandInInhibitor, *dbus.Error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			return append([]StandInInhibitor{}, l.inhibitors...), nil
		},
		"GetSessionByPID": func(pid uint32) (dbus.ObjectPath, *dbus.Error) {
			return StandInSessionPath, nil
		},
		"GetSession": func(id string) (dbus.ObjectPath, *dbus.Error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			if id == StandInSessionID && !l.ownRemoved {
				return StandInSessionPath, nil
			}
			for _, s := range l.sessions {
				if s.ID == id {
					return sessionPath(id), nil
				}
			}
			return "", dbus.NewError("org.freedesktop.login1.NoSuchSession", []any{"No session '" + id + "' known"})
		},
		"TerminateSession": func(id string) *dbus.Error { l.Record("TerminateSession(%s)", id); return nil },
		"Inhibit":          l.inhibit,
		"RebootWithFlags": func(sender dbus.Sender, flags uint64) *dbus.Error {
			l.mu.Lock()
			if l.noFlags {
				l.mu.Unlock()
				return dbus.NewError("org.freedesktop.DBus.Error.UnknownMethod", []any{"Unknown method RebootWithFlags (logind stand-in acting as systemd < 248)"})
			}
			if l.noSoft && flags&0x04 != 0 {
				l.mu.Unlock()
				// logind-dbus.c (systemd 252): flags outside
				// SD_LOGIND_SHUTDOWN_AND_SLEEP_FLAGS_PUBLIC.
				return dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"Invalid flags parameter"})
			}
			l.mu.Unlock()
			l.Record("RebootWithFlags(%#x)", flags)
			return l.reboot(sender, fmt.Sprintf("RebootWithFlags(%#x)", flags), flags&0x01 != 0)
		},
		"Reboot": func(sender dbus.Sender, interactive bool) *dbus.Error {
			l.Record("Reboot(%v)", interactive)
			// Root without the flag passes block inhibitors (systemd < 257).
			return l.reboot(sender, fmt.Sprintf("Reboot(%v)", interactive), false)
		},
		"PowerOff":  l.power("PowerOff", true),
		"Suspend":   l.power("Suspend", false),
		"Hibernate": l.power("Hibernate", false),
	}
}

// answer is a Can* method.
func (l *LogindStandIn) answer(m string) func() (string, *dbus.Error) {
	return func() (string, *dbus.Error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if a, ok := l.can[m]; ok {
			return a, nil
		}
		return "yes", nil
	}
}

// power is a power method other than Reboot, taking (b interactive).
func (l *LogindStandIn) power(m string, shutdown bool) func(bool) *dbus.Error {
	return func(interactive bool) *dbus.Error {
		l.Record("%s(%v)", m, interactive)
		l.mu.Lock()
		refuse, emit := l.refuse, l.shutdownOnReboot && shutdown
		l.mu.Unlock()
		if refuse != nil {
			return refuse
		}
		if emit {
			_ = l.EmitPrepareForShutdown(true)
		}
		return nil
	}
}

func (l *LogindStandIn) reboot(sender dbus.Sender, call string, checkInhibitors bool) *dbus.Error {
	var uid uint32
	_ = l.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, string(sender)).Store(&uid)
	l.mu.Lock()
	l.reboots = append(l.reboots, fmt.Sprintf("%s uid=%d", call, uid))
	err := l.refuse
	if err == nil && checkInhibitors {
		for _, i := range l.inhibitors {
			if (i.Mode == "block" || i.Mode == "block-weak") && strings.Contains(":"+i.What+":", ":shutdown:") {
				// logind-dbus.c (systemd 252), verify_shutdown_creds.
				err = dbus.NewError("org.freedesktop.DBus.Error.AccessDenied", []any{"Access denied to root due to active block inhibitor"})
				break
			}
		}
	}
	emit := l.shutdownOnReboot && err == nil
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if emit {
		_ = l.EmitPrepareForShutdown(true)
	}
	return nil
}

func sessionPath(id string) dbus.ObjectPath {
	return dbus.ObjectPath("/org/freedesktop/login1/session/_3" + id)
}

// SetSessions replaces the session list and exports each session's Class.
func (l *LogindStandIn) SetSessions(ss ...StandInSession) {
	l.mu.Lock()
	l.sessions = append([]StandInSession(nil), ss...)
	l.mu.Unlock()
	for _, s := range ss {
		p := sessionPath(s.ID)
		if _, err := prop.Export(l.conn, p, prop.Map{
			"org.freedesktop.login1.Session": {
				"Class": {Value: s.Class}, "Id": {Value: s.ID}, "User": {Value: s.UID},
			},
		}); err != nil {
			panic(err)
		}
	}
}

// SetInhibitors replaces the inhibitor list.
func (l *LogindStandIn) SetInhibitors(ii ...StandInInhibitor) {
	l.mu.Lock()
	l.inhibitors = append([]StandInInhibitor(nil), ii...)
	l.mu.Unlock()
}

// Refuse makes every power and reboot request fail with err (nil: accept).
func (l *LogindStandIn) Refuse(err *dbus.Error) {
	l.mu.Lock()
	l.refuse = err
	l.mu.Unlock()
}

// SetShutdownOnReboot: see the field.
func (l *LogindStandIn) SetShutdownOnReboot(v bool) {
	l.mu.Lock()
	l.shutdownOnReboot = v
	l.mu.Unlock()
}

// WithoutFlags makes the stand-in answer RebootWithFlags with
// UnknownMethod, as systemd before 248.
func (l *LogindStandIn) WithoutFlags() {
	l.mu.Lock()
	l.noFlags = true
	l.mu.Unlock()
}

// WithoutSoftReboot makes the stand-in refuse SD_LOGIND_SOFT_REBOOT
// (0x04) as systemd 252's logind does, with InvalidArgs.
func (l *LogindStandIn) WithoutSoftReboot() {
	l.mu.Lock()
	l.noSoft = true
	l.mu.Unlock()
}

// Reboots returns the helper-side reboot requests received (Reboot and
// RebootWithFlags), with flags and caller uid.
func (l *LogindStandIn) Reboots() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reboots...)
}

// EmitPrepareForShutdown sends logind's signal and sets the property.
func (l *LogindStandIn) EmitPrepareForShutdown(v bool) error {
	l.props.SetMust("org.freedesktop.login1.Manager", "PreparingForShutdown", v)
	return l.conn.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForShutdown", v)
}

// SetStandInSessionState sets the State of the stand-in's own session
// ("active", "online", "closing"), silently, as logind does.
func (l *LogindStandIn) SetStandInSessionState(state string) {
	l.ownProps.SetMust("org.freedesktop.login1.Session", "State", state)
}

// RemoveStandInSession removes the stand-in's own session as logind does
// when its last process is gone: its object disappears and
// SessionRemoved(id, path) is sent.
func (l *LogindStandIn) RemoveStandInSession() error {
	l.mu.Lock()
	l.ownRemoved = true
	l.mu.Unlock()
	if err := l.conn.Export(nil, StandInSessionPath, "org.freedesktop.DBus.Properties"); err != nil {
		return err
	}
	return l.conn.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.SessionRemoved", StandInSessionID, StandInSessionPath)
}
