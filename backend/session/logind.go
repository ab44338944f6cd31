package session

import (
	"context"
	"fmt"
	"os"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/logind"
)

// Logind is the fallback Manager and the source of capabilities and
// inhibitors: the dialog's view of backend/logind, the one logind client.
// Every call returns its error; nothing is fire-and-forget.
type Logind struct {
	m      *logind.Manager
	getenv func(string) string
}

// NewLogind wraps the system bus conn.
func NewLogind(conn *dbus.Conn, getenv func(string) string) *Logind {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Logind{m: logind.New(conn), getenv: getenv}
}

func (l *Logind) Name() string { return "logind" }

// Do asks logind; polkit may ask for a password (interactive=true).
func (l *Logind) Do(ctx context.Context, a Action) error {
	switch a {
	case Logout:
		id, err := l.sessionID(ctx)
		if err != nil {
			return callErr("logind", a, err)
		}
		return l.m.TerminateSession(ctx, id)
	case Reboot:
		return l.m.Power(ctx, logind.MethodReboot)
	case PowerOff:
		return l.m.Power(ctx, logind.MethodPowerOff)
	case Suspend:
		return l.m.Power(ctx, logind.MethodSuspend)
	case Hibernate:
		return l.m.Power(ctx, logind.MethodHibernate)
	}
	return fmt.Errorf("cannot do unknown %s", a)
}

// sessionID is the caller's logind session: XDG_SESSION_ID when set, else
// the session logind files this process under.
func (l *Logind) sessionID(ctx context.Context) (string, error) {
	if id := l.getenv("XDG_SESSION_ID"); id != "" {
		return id, nil
	}
	p, err := l.m.SessionByPID(ctx, uint32(os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("cannot find this session: %w", err)
	}
	id, err := l.m.SessionID(ctx, p)
	if err != nil {
		return "", fmt.Errorf("cannot find this session: %w", err)
	}
	return id, nil
}

// Caps are logind's answers to Can*: "yes", "no", "challenge", "na", or ""
// when the call failed.
type Caps struct {
	PowerOff, Reboot, Suspend, Hibernate string
}

// Yes says whether an answer means the action can be offered: "challenge"
// (a password will be asked) counts as yes.
func Yes(answer string) bool { return answer == "yes" || answer == "challenge" }

// Caps asks logind what this user may do. A failed call leaves its field
// empty, so one broken answer does not hide the others.
func (l *Logind) Caps(ctx context.Context) Caps {
	get := func(what string) string {
		s, _ := l.m.Can(ctx, what)
		return s
	}
	return Caps{PowerOff: get("PowerOff"), Reboot: get("Reboot"), Suspend: get("Suspend"), Hibernate: get("Hibernate")}
}

// Inhibitor is one program that blocks or delays shutdown or logout.
type Inhibitor struct {
	Who   string // the program's name (logind "who", or the app id)
	Why   string
	Mode  string // "block" or "delay"
	PID   uint32
	UID   uint32
	From  string // "logind" or the session manager's name
	AppID string // session-manager inhibitors: the desktop id, for a nicer name
}

// ShutdownInhibitors lists logind's shutdown inhibitors, leaving out
// self (this process's pid), which a session manager's own delay lock is
// not: it is shown like any other.
func (l *Logind) ShutdownInhibitors(ctx context.Context) ([]Inhibitor, error) {
	all, err := l.m.ListInhibitors(ctx)
	if err != nil {
		return nil, err
	}
	self := uint32(os.Getpid())
	var out []Inhibitor
	for _, r := range all {
		if r.PID == self || !r.Covers("shutdown") {
			continue
		}
		out = append(out, Inhibitor{Who: r.Who, Why: r.Why, Mode: r.Mode, PID: r.PID, UID: r.UID, From: "logind"})
	}
	return out, nil
}

// SessionInhibitors lists what inhibits logging out in a GNOME-compatible
// session manager (GetInhibitors, flag 1 = logout). Other session managers
// have no such list on the bus; they return nil.
func SessionInhibitors(ctx context.Context, m Manager, sess *dbus.Conn) ([]Inhibitor, error) {
	g, ok := m.(*gnome)
	if !ok || sess == nil {
		return nil, nil
	}
	var paths []dbus.ObjectPath
	if err := g.obj.CallWithContext(ctx, gnomeName+".GetInhibitors", 0).Store(&paths); err != nil {
		return nil, fmt.Errorf("cannot list session inhibitors: %w", err)
	}
	const inhIface = "org.gnome.SessionManager.Inhibitor"
	var out []Inhibitor
	for _, p := range paths {
		o := sess.Object(gnomeName, p)
		var flags uint32
		if err := o.CallWithContext(ctx, inhIface+".GetFlags", 0).Store(&flags); err != nil || flags&1 == 0 {
			continue // gone meanwhile, or not about logging out
		}
		var app, why string
		_ = o.CallWithContext(ctx, inhIface+".GetAppId", 0).Store(&app)
		_ = o.CallWithContext(ctx, inhIface+".GetReason", 0).Store(&why)
		out = append(out, Inhibitor{Who: app, AppID: app, Why: why, Mode: "block", From: g.name})
	}
	return out, nil
}
