// Package session ends the user's session or the machine the way the
// desktop itself does: through its session manager on the session bus, so
// applications can save their work and the user can cancel, with logind as
// the fallback when no session manager is found.
//
// Supported, by the bus name they own (exact calls in
// shared/docs/peers.md §5):
//
//	org.gnome.SessionManager   GNOME, MATE, Cinnamon   Logout(1), Reboot()/Shutdown() or RequestReboot()/RequestShutdown()
//	org.kde.Shutdown           KDE Plasma 6            logout(), logoutAndReboot(), logoutAndShutdown()
//	org.kde.ksmserver          KDE Plasma 5            logout(0, type, -1)
//	org.xfce.SessionManager    Xfce                    Logout(false, true), Restart(true), Shutdown(true)
//	org.lxqt.session           LXQt                    logout(), reboot(), powerOff()   (no replies)
//	logind (system bus)        anything else           TerminateSession(id), Reboot(true), PowerOff(true)
//
// Suspend and hibernate always go to logind: session managers only forward
// them there.
package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Action is what the user chose.
type Action int

const (
	Logout Action = iota
	PowerOff
	Reboot
	Suspend
	Hibernate
)

func (a Action) String() string {
	switch a {
	case Logout:
		return "logout"
	case PowerOff:
		return "poweroff"
	case Reboot:
		return "reboot"
	case Suspend:
		return "suspend"
	case Hibernate:
		return "hibernate"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Manager carries out an action for the session.
type Manager interface {
	// Name says which session manager this is, for logs and the user.
	Name() string
	// Do asks for the action. For Logout, Reboot and PowerOff a nil error
	// means the request was accepted, not that it will happen: the user or
	// an application can still cancel it (see Watch).
	Do(ctx context.Context, a Action) error
}

// Bus names and paths.
const (
	gnomeName = "org.gnome.SessionManager"
	gnomePath = "/org/gnome/SessionManager"
	kdeName   = "org.kde.Shutdown"
	kdePath   = "/Shutdown"
	ksmName   = "org.kde.ksmserver"
	ksmPath   = "/KSMServer"
	ksmIface  = "org.kde.KSMServerInterface"
	xfceName  = "org.xfce.SessionManager"
	xfcePath  = "/org/xfce/SessionManager"
	xfceIface = "org.xfce.Session.Manager"
	lxqtName  = "org.lxqt.session"
	lxqtPath  = "/LXQtSession"
)

// Detect finds the session manager on the session bus sess, falling back
// to logind on the system bus sys. sess may be nil (no session bus). getenv
// gives XDG_CURRENT_DESKTOP and XDG_SESSION_ID (os.Getenv when nil).
func Detect(ctx context.Context, sess, sys *dbus.Conn, getenv func(string) string) (Manager, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var login *Logind
	if sys != nil {
		login = NewLogind(sys, getenv)
	}
	fallback := func() (Manager, error) {
		if login == nil {
			return nil, errors.New("cannot find a session manager or logind: no bus")
		}
		return login, nil
	}
	if sess == nil {
		return fallback()
	}
	var names []string
	if err := sess.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
		return nil, fmt.Errorf("cannot list session bus names: %w", err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	switch {
	case have[gnomeName]:
		return &gnome{obj: sess.Object(gnomeName, gnomePath), name: gnomeFlavour(getenv("XDG_CURRENT_DESKTOP")), login: login}, nil
	case have[kdeName]:
		return &byMethod{name: "KDE Plasma", obj: sess.Object(kdeName, kdePath), login: login, iface: kdeName,
			methods: map[Action]string{Logout: "logout", Reboot: "logoutAndReboot", PowerOff: "logoutAndShutdown"}}, nil
	case have[ksmName]:
		return &ksm{obj: sess.Object(ksmName, ksmPath), login: login}, nil
	case have[xfceName]:
		return &xfce{obj: sess.Object(xfceName, xfcePath), login: login}, nil
	case have[lxqtName]:
		// lxqt-session's logout/reboot/powerOff send no reply
		// (sessiondbusadaptor.h), so waiting for one would only time out.
		return &byMethod{name: "LXQt", obj: sess.Object(lxqtName, lxqtPath), login: login, iface: lxqtName,
			methods: map[Action]string{Logout: "logout", Reboot: "reboot", PowerOff: "powerOff"}, flags: dbus.FlagNoReplyExpected}, nil
	}
	return fallback()
}

func gnomeFlavour(desktop string) string {
	for _, d := range strings.Split(desktop, ":") {
		switch strings.ToUpper(d) {
		case "MATE":
			return "MATE"
		case "X-CINNAMON", "CINNAMON":
			return "Cinnamon"
		case "GNOME":
			return "GNOME"
		}
	}
	return "GNOME-compatible"
}

// sleep sends suspend and hibernate to logind, whatever the session manager.
func sleep(ctx context.Context, login *Logind, a Action) error {
	if login == nil {
		return fmt.Errorf("cannot %s: no system bus", a)
	}
	return login.Do(ctx, a)
}

func callErr(who string, a Action, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cannot ask %s to %s: %w", who, a, err)
}

// gnome covers every session manager owning org.gnome.SessionManager.
// GNOME's Reboot()/Shutdown() show the shell's end-session dialog; MATE's
// Shutdown() shows its own chooser, but MATE (and Cinnamon) also have
// RequestReboot()/RequestShutdown(), which skip it, so those are preferred
// when the object has them.
type gnome struct {
	obj   dbus.BusObject
	name  string
	login *Logind
}

func (g *gnome) Name() string { return g.name }

func (g *gnome) Do(ctx context.Context, a Action) error {
	iface := gnomeName + "."
	switch a {
	case Logout:
		// 1: no confirmation (ours was it); inhibitors still apply.
		return callErr(g.name, a, g.obj.CallWithContext(ctx, iface+"Logout", 0, uint32(1)).Err)
	case Reboot, PowerOff:
		plain, request := "Reboot", "RequestReboot"
		if a == PowerOff {
			plain, request = "Shutdown", "RequestShutdown"
		}
		m := plain
		if hasMethod(ctx, g.obj, gnomeName, request) {
			m = request
		}
		return callErr(g.name, a, g.obj.CallWithContext(ctx, iface+m, 0).Err)
	}
	return sleep(ctx, g.login, a)
}

// byMethod is a session manager whose actions are methods without
// arguments of one interface (KDE Plasma 6, LXQt); the others are
// logind's (sleep).
type byMethod struct {
	name    string
	obj     dbus.BusObject
	login   *Logind
	iface   string
	methods map[Action]string
	flags   dbus.Flags
}

func (b *byMethod) Name() string { return b.name }

func (b *byMethod) Do(ctx context.Context, a Action) error {
	m := b.methods[a]
	if m == "" {
		return sleep(ctx, b.login, a)
	}
	return callErr(b.name, a, b.obj.CallWithContext(ctx, b.iface+"."+m, b.flags).Err)
}

// ksm is Plasma 5's ksmserver: logout(confirm, type, mode) with
// KWorkSpace's ShutdownConfirmNo=0, ShutdownType{None=0,Reboot=1,Halt=2},
// ShutdownModeDefault=-1.
type ksm struct {
	obj   dbus.BusObject
	login *Logind
}

func (k *ksm) Name() string { return "KDE Plasma 5" }

func (k *ksm) Do(ctx context.Context, a Action) error {
	t, ok := map[Action]int32{Logout: 0, Reboot: 1, PowerOff: 2}[a]
	if !ok {
		return sleep(ctx, k.login, a)
	}
	return callErr(k.Name(), a, k.obj.CallWithContext(ctx, ksmIface+".logout", 0, int32(0), t, int32(-1)).Err)
}

type xfce struct {
	obj   dbus.BusObject
	login *Logind
}

func (x *xfce) Name() string { return "Xfce" }

func (x *xfce) Do(ctx context.Context, a Action) error {
	var c *dbus.Call
	switch a {
	case Logout:
		c = x.obj.CallWithContext(ctx, xfceIface+".Logout", 0, false, true)
	case Reboot:
		c = x.obj.CallWithContext(ctx, xfceIface+".Restart", 0, true)
	case PowerOff:
		c = x.obj.CallWithContext(ctx, xfceIface+".Shutdown", 0, true)
	default:
		return sleep(ctx, x.login, a)
	}
	return callErr(x.Name(), a, c.Err)
}

// hasMethod reads the object's introspection data; any error means no.
func hasMethod(ctx context.Context, obj dbus.BusObject, iface, method string) bool {
	var xml string
	if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil {
		return false
	}
	i := strings.Index(xml, `<interface name="`+iface+`"`)
	if i < 0 {
		return false
	}
	rest := xml[i:]
	if j := strings.Index(rest, "</interface>"); j >= 0 {
		rest = rest[:j]
	}
	return strings.Contains(rest, `<method name="`+method+`"`)
}
