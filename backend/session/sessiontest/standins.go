package sessiontest

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

// export serves methods (name → func returning *dbus.Error last) at path
// under iface, with introspection data listing them.
func export(conn *dbus.Conn, path dbus.ObjectPath, iface string, methods map[string]any) error {
	if err := conn.ExportMethodTable(methods, path, iface); err != nil {
		return err
	}
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("<node><interface name=\"" + iface + "\">")
	for _, n := range names {
		b.WriteString(`<method name="` + n + `"/>`)
	}
	b.WriteString("</interface>" + introspect.IntrospectDataString + "</node>")
	return conn.Export(introspect.Introspectable(b.String()), path, "org.freedesktop.DBus.Introspectable")
}

// GnomeSMStandIn stands in for org.gnome.SessionManager (gnome-session, or
// with MATE set, mate-session-manager, which adds RequestReboot and
// RequestShutdown).
type GnomeSMStandIn struct {
	Recorder
	conn *dbus.Conn
	mu   sync.Mutex
	// Running is IsSessionRunning's answer.
	running bool
}

// GnomeInhibitor is one session inhibitor the stand-in lists.
type GnomeInhibitor struct {
	AppID, Reason string
	Flags         uint32
}

// NewGnomeSMStandIn owns org.gnome.SessionManager on conn.
func NewGnomeSMStandIn(conn *dbus.Conn, mate bool, inhibitors []GnomeInhibitor) (*GnomeSMStandIn, error) {
	s := &GnomeSMStandIn{conn: conn, running: true}
	var paths []dbus.ObjectPath
	for i, inh := range inhibitors {
		inh := inh
		p := dbus.ObjectPath(fmt.Sprintf("/org/gnome/SessionManager/Inhibitor%d", i+1))
		paths = append(paths, p)
		if err := export(conn, p, "org.gnome.SessionManager.Inhibitor", map[string]any{
			"GetAppId":  func() (string, *dbus.Error) { return inh.AppID, nil },
			"GetReason": func() (string, *dbus.Error) { return inh.Reason, nil },
			"GetFlags":  func() (uint32, *dbus.Error) { return inh.Flags, nil },
		}); err != nil {
			return nil, err
		}
	}
	m := map[string]any{
		"Logout":           func(mode uint32) *dbus.Error { s.Record("Logout(%d)", mode); return nil },
		"Shutdown":         func() *dbus.Error { s.Record("Shutdown()"); return nil },
		"Reboot":           func() *dbus.Error { s.Record("Reboot()"); return nil },
		"CanShutdown":      func() (bool, *dbus.Error) { return true, nil },
		"IsSessionRunning": func() (bool, *dbus.Error) { s.mu.Lock(); defer s.mu.Unlock(); return s.running, nil },
		"GetInhibitors":    func() ([]dbus.ObjectPath, *dbus.Error) { return paths, nil },
		// Real programs on the test bus (the accessibility bus launcher)
		// register as session clients; answer as gnome-session would.
		"RegisterClient": func(app, startup string) (dbus.ObjectPath, *dbus.Error) {
			return "/org/gnome/SessionManager/Client1", nil
		},
	}
	if mate {
		m["RequestShutdown"] = func() *dbus.Error { s.Record("RequestShutdown()"); return nil }
		m["RequestReboot"] = func() *dbus.Error { s.Record("RequestReboot()"); return nil }
	}
	if err := export(conn, "/org/gnome/SessionManager", "org.gnome.SessionManager", m); err != nil {
		return nil, err
	}
	return s, own(conn, "org.gnome.SessionManager")
}

// SetRunning sets IsSessionRunning's answer (false while the session ends).
func (s *GnomeSMStandIn) SetRunning(v bool) { s.mu.Lock(); s.running = v; s.mu.Unlock() }

// EmitSessionOver sends SessionOver, as gnome-session does at the end.
func (s *GnomeSMStandIn) EmitSessionOver() error {
	return s.conn.Emit("/org/gnome/SessionManager", "org.gnome.SessionManager.SessionOver")
}

// EmitSessionRunning sends SessionRunning, as gnome-session and MATE's
// session manager do when they go back to running after a cancelled end.
func (s *GnomeSMStandIn) EmitSessionRunning() error {
	return s.conn.Emit("/org/gnome/SessionManager", "org.gnome.SessionManager.SessionRunning")
}

// EmitCanceled sends the shell end-session dialog's Canceled.
func (s *GnomeSMStandIn) EmitCanceled() error {
	return s.conn.Emit("/org/gnome/SessionManager/EndSessionDialog", "org.gnome.SessionManager.EndSessionDialog.Canceled")
}

// XfceSMStandIn stands in for xfce4-session.
type XfceSMStandIn struct{ Recorder }

// NewXfceSMStandIn owns org.xfce.SessionManager on conn.
func NewXfceSMStandIn(conn *dbus.Conn) (*XfceSMStandIn, error) {
	s := &XfceSMStandIn{}
	err := export(conn, "/org/xfce/SessionManager", "org.xfce.Session.Manager", map[string]any{
		"Logout":      func(show, save bool) *dbus.Error { s.Record("Logout(%v,%v)", show, save); return nil },
		"Shutdown":    func(save bool) *dbus.Error { s.Record("Shutdown(%v)", save); return nil },
		"Restart":     func(save bool) *dbus.Error { s.Record("Restart(%v)", save); return nil },
		"CanShutdown": func() (bool, *dbus.Error) { return true, nil },
		"CanRestart":  func() (bool, *dbus.Error) { return true, nil },
	})
	if err != nil {
		return nil, err
	}
	return s, own(conn, "org.xfce.SessionManager")
}

// KDEStandIn stands in for Plasma 6's org.kde.Shutdown.
type KDEStandIn struct{ Recorder }

// NewKDEStandIn owns org.kde.Shutdown on conn.
func NewKDEStandIn(conn *dbus.Conn) (*KDEStandIn, error) {
	s := &KDEStandIn{}
	err := export(conn, "/Shutdown", "org.kde.Shutdown", map[string]any{
		"logout":            func() *dbus.Error { s.Record("logout()"); return nil },
		"logoutAndReboot":   func() *dbus.Error { s.Record("logoutAndReboot()"); return nil },
		"logoutAndShutdown": func() *dbus.Error { s.Record("logoutAndShutdown()"); return nil },
	})
	if err != nil {
		return nil, err
	}
	return s, own(conn, "org.kde.Shutdown")
}

// LXQtStandIn stands in for lxqt-session.
type LXQtStandIn struct{ Recorder }

// NewLXQtStandIn owns org.lxqt.session on conn.
func NewLXQtStandIn(conn *dbus.Conn) (*LXQtStandIn, error) {
	s := &LXQtStandIn{}
	err := export(conn, "/LXQtSession", "org.lxqt.session", map[string]any{
		"logout":    func() *dbus.Error { s.Record("logout()"); return nil },
		"reboot":    func() *dbus.Error { s.Record("reboot()"); return nil },
		"powerOff":  func() *dbus.Error { s.Record("powerOff()"); return nil },
		"canReboot": func() (bool, *dbus.Error) { return true, nil },
	})
	if err != nil {
		return nil, err
	}
	return s, own(conn, "org.lxqt.session")
}

// LogindInhibitor is one row of ListInhibitors.
type LogindInhibitor struct {
	What, Who, Why, Mode string
	UID, PID             uint32
}

// LogindStandIn stands in for systemd-logind's Manager: the Can* answers,
// the power methods (recorded, never acted on), sessions and inhibitors.
type LogindStandIn struct {
	Recorder
	conn *dbus.Conn
	mu   sync.Mutex
	can  map[string]string
	inh  []LogindInhibitor
	// ShutdownOnReboot makes Reboot and PowerOff emit
	// PrepareForShutdown(true), as the real logind does when it proceeds.
	shutdownOnReboot bool
	refuse           *dbus.Error
}

// NewLogindStandIn owns org.freedesktop.login1 on conn (a private system bus).
// can maps "CanSuspend" etc. to answers; missing ones answer "yes".
func NewLogindStandIn(conn *dbus.Conn, can map[string]string) (*LogindStandIn, error) {
	l := &LogindStandIn{conn: conn, can: can}
	answer := func(m string) func() (string, *dbus.Error) {
		return func() (string, *dbus.Error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			if a, ok := l.can[m]; ok {
				return a, nil
			}
			return "yes", nil
		}
	}
	power := func(m string) func(bool) *dbus.Error {
		return func(interactive bool) *dbus.Error {
			l.Record("%s(%v)", m, interactive)
			l.mu.Lock()
			refuse, emit := l.refuse, l.shutdownOnReboot && (m == "Reboot" || m == "PowerOff")
			l.mu.Unlock()
			if refuse != nil {
				return refuse
			}
			if emit {
				l.conn.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForShutdown", true)
			}
			return nil
		}
	}
	m := map[string]any{
		"Reboot":           power("Reboot"),
		"PowerOff":         power("PowerOff"),
		"Suspend":          power("Suspend"),
		"Hibernate":        power("Hibernate"),
		"TerminateSession": func(id string) *dbus.Error { l.Record("TerminateSession(%s)", id); return nil },
		"GetSessionByPID": func(pid uint32) (dbus.ObjectPath, *dbus.Error) {
			return "/org/freedesktop/login1/session/standin", nil
		},
		"ListInhibitors": func() ([]LogindInhibitor, *dbus.Error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			return append([]LogindInhibitor(nil), l.inh...), nil
		},
	}
	for _, c := range []string{"CanPowerOff", "CanReboot", "CanSuspend", "CanHibernate"} {
		m[c] = answer(c)
	}
	if err := export(conn, "/org/freedesktop/login1", "org.freedesktop.login1.Manager", m); err != nil {
		return nil, err
	}
	if _, err := prop.Export(conn, "/org/freedesktop/login1/session/standin", prop.Map{
		"org.freedesktop.login1.Session": {"Id": {Value: "standin-1", Writable: false, Emit: prop.EmitFalse}},
	}); err != nil {
		return nil, err
	}
	return l, own(conn, "org.freedesktop.login1")
}

// SetInhibitors sets what ListInhibitors returns.
func (l *LogindStandIn) SetInhibitors(inh []LogindInhibitor) {
	l.mu.Lock()
	l.inh = inh
	l.mu.Unlock()
}

// SetShutdownOnReboot: see the field.
func (l *LogindStandIn) SetShutdownOnReboot(v bool) {
	l.mu.Lock()
	l.shutdownOnReboot = v
	l.mu.Unlock()
}

// Refuse makes the power methods fail with err (nil: succeed).
func (l *LogindStandIn) Refuse(err *dbus.Error) {
	l.mu.Lock()
	l.refuse = err
	l.mu.Unlock()
}

// EmitPrepareForShutdown sends the signal with v.
func (l *LogindStandIn) EmitPrepareForShutdown(v bool) error {
	return l.conn.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForShutdown", v)
}
