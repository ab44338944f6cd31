package bustest

import (
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"
)

// The desktops' session managers, on a private session bus: see
// backend/session for the calls each one gets.

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
