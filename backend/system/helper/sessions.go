package helper

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/logind"
)

// LogindSessions is the SessionTracker of the running system: the bus
// daemon names the process of a connection, logind its session, and
// logind's signals and properties say when the session ends.
type LogindSessions struct {
	Conn *dbus.Conn
	// Sigs must be the connection's signal handler (bussignal.Handler).
	Sigs logind.Signals
	// Poll is how often the session's state is read besides the signals
	// (SessionPoll when 0).
	Poll time.Duration
}

// SessionPoll: logind signals SessionRemoved, but it does not announce
// every change of a session's State (the step to "closing" comes with no
// PropertiesChanged in the versions read), so the state is also read
// every few seconds while a schedule waits: one property read per 2 s,
// for at most SoftDeadline — a few hundred small calls, not a tight poll —
// and the restart follows the session's end within 2 s at worst.
const SessionPoll = 2 * time.Second

// Of is the session of sender's process (GetConnectionUnixProcessID, then
// logind's GetSessionByPID); when that process is in no session — a
// GNOME desktop starts applications in scopes of the user's service
// manager, outside the login session — the uid's graphical session
// (logind's User.Display), which is the session a log out from that
// desktop ends. softafter.go says why the PID is used here at all.
func (l LogindSessions) Of(ctx context.Context, sender string, uid uint32) (string, error) {
	if sender == "" || sender[0] != ':' {
		return "", fmt.Errorf("cannot find the session of %q: not a unique bus name", sender)
	}
	var pid uint32
	if err := l.Conn.BusObject().CallWithContext(ctx, busDaemon+".GetConnectionUnixProcessID", 0, sender).Store(&pid); err != nil {
		return "", fmt.Errorf("cannot find the process of %s: %w", sender, err)
	}
	m := logind.New(l.Conn)
	path, err := m.SessionByPID(ctx, pid)
	if err == nil {
		return m.SessionID(ctx, path)
	}
	var up dbus.ObjectPath
	if uerr := l.Conn.Object(logind.BusName, logind.Path).CallWithContext(ctx, logind.ManagerInterface+".GetUser", 0, uid).Store(&up); uerr != nil {
		return "", fmt.Errorf("%w; cannot find user %d: %w", err, uid, uerr)
	}
	var v dbus.Variant
	if derr := l.Conn.Object(logind.BusName, up).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.login1.User", "Display").Store(&v); derr != nil {
		return "", fmt.Errorf("%w; cannot read the graphical session of user %d: %w", err, uid, derr)
	}
	if d, ok := v.Value().([]any); ok && len(d) == 2 {
		if id, _ := d[0].(string); id != "" {
			return id, nil
		}
	}
	return "", fmt.Errorf("%w; user %d has no graphical session", err, uid)
}

// Watch follows session id until it is removed or closing. Signals only
// wake it: whatever they say, the answer is logind's own (a method call
// to its well-known name, which only logind can own), so a signal anyone
// sends can at most cause one more read, at most one per wake-up.
func (l LogindSessions) Watch(ctx context.Context, id string, ended func(why string)) (func(), error) {
	poll := l.Poll
	if poll <= 0 {
		poll = SessionPoll
	}
	var path dbus.ObjectPath
	err := l.Conn.Object(logind.BusName, logind.Path).CallWithContext(ctx, logind.ManagerInterface+".GetSession", 0, id).Store(&path)
	if err != nil {
		if gone(err) {
			go ended("was removed")
			return func() {}, nil
		}
		return nil, fmt.Errorf("cannot find session %s: %w", id, err)
	}
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender(logind.BusName), dbus.WithMatchObjectPath(logind.Path),
			dbus.WithMatchInterface(logind.ManagerInterface), dbus.WithMatchMember("SessionRemoved"), dbus.WithMatchArg(0, id)},
		{dbus.WithMatchSender(logind.BusName), dbus.WithMatchObjectPath(path),
			dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged")},
	}
	for i, m := range matches {
		if err := l.Conn.AddMatchSignalContext(ctx, m...); err != nil {
			for _, prev := range matches[:i] {
				_ = l.Conn.RemoveMatchSignal(prev...)
			}
			return nil, fmt.Errorf("cannot follow session %s: %w", id, err)
		}
	}
	// One slot: wake-ups that come while one waits are one wake-up.
	wake := make(chan *dbus.Signal, 1)
	if l.Sigs != nil {
		l.Sigs.Subscribe(wake, func(s *dbus.Signal) bool {
			switch s.Name {
			case logind.ManagerInterface + ".SessionRemoved":
				return len(s.Body) > 0 && s.Body[0] == id
			case "org.freedesktop.DBus.Properties.PropertiesChanged":
				return s.Path == path
			}
			return false
		})
	}
	done := make(chan struct{})
	stop := sync.OnceFunc(func() { close(done) })
	go func() {
		defer func() {
			if l.Sigs != nil {
				l.Sigs.RemoveSignal(wake)
			}
			for _, m := range matches {
				_ = l.Conn.RemoveMatchSignal(m...)
			}
		}()
		tick := time.NewTicker(poll)
		defer tick.Stop()
		for {
			if why := l.ended(path); why != "" {
				select {
				case <-done:
				default:
					ended(why)
				}
				return
			}
			select {
			case <-done:
				return
			case <-wake:
			case <-tick.C:
			}
		}
	}()
	return stop, nil
}

// ended reads the session's State: "" while it lasts, else what logind
// said. A failure to read that is not "no such session" is no answer.
func (l LogindSessions) ended(path dbus.ObjectPath) string {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	var v dbus.Variant
	err := l.Conn.Object(logind.BusName, path).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, logind.SessionInterface, "State").Store(&v)
	switch {
	case err != nil && gone(err):
		return "was removed"
	case err != nil:
		return ""
	}
	if s, _ := v.Value().(string); s == "closing" {
		return "is closing"
	}
	return ""
}

// gone: logind's answer for a session that no longer exists.
func gone(err error) bool {
	de, ok := busapi.AsDBusError(err)
	if !ok {
		return false
	}
	switch de.Name {
	// sd-bus answers UnknownObject for a removed session's path; godbus
	// (a stand-in) NoSuchObject.
	case "org.freedesktop.login1.NoSuchSession", "org.freedesktop.DBus.Error.UnknownObject",
		"org.freedesktop.DBus.Error.NoSuchObject", "org.freedesktop.DBus.Error.UnknownInterface":
		return true
	}
	return false
}
