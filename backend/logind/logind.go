// Package logind is the one client of systemd-logind's Manager
// (org.freedesktop.login1(5)), for the helper and the dialog alike:
// sessions (to choose the polkit action, to find the caller's own),
// inhibitors (a "block" on shutdown makes Quick Restart unavailable; the
// dialog lists them), the Can* answers and power methods a desktop's menu
// uses, the helper's reboot, and whether the system is shutting down.
//
// Every call returns its error with the D-Bus error name; nothing is fire
// and forget (go-systemd's login1.Reboot drops logind's refusal).
package logind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// logind on the system bus.
const (
	BusName          = "org.freedesktop.login1"
	Path             = dbus.ObjectPath("/org/freedesktop/login1")
	ManagerInterface = "org.freedesktop.login1.Manager"
	SessionInterface = "org.freedesktop.login1.Session"
)

// Flags of RebootWithFlags (sd-login.h, since systemd 248).
const (
	// FlagRootCheckInhibitors makes logind honour "block" inhibitors for a
	// root caller too; before systemd 257 root ignores them without it.
	FlagRootCheckInhibitors uint64 = 0x01
	// FlagRebootViaKexec: kexec if an image is loaded. The helper does not
	// use it: the armed shutdown hook decides, after its own checks.
	FlagRebootViaKexec uint64 = 0x02
)

// Session is one entry of ListSessions, a(susso).
type Session struct {
	ID   string
	UID  uint32
	User string
	Seat string
	Path dbus.ObjectPath
}

// Inhibitor is one entry of ListInhibitors, a(ssssuu).
type Inhibitor struct {
	What string // colon-separated: "shutdown:sleep"
	Who  string
	Why  string
	Mode string // "block", "block-weak" (systemd 257) or "delay"
	UID  uint32
	PID  uint32
}

// Inhibits reports whether i blocks a shutdown or reboot. "block-weak"
// counts: only a root caller with a flag may pass it, and the helper asks
// for the same clean path everybody gets.
func (i Inhibitor) Inhibits() bool {
	return (i.Mode == "block" || i.Mode == "block-weak") && i.Covers("shutdown")
}

// Covers reports whether what ("shutdown", "sleep", …) is one of the
// colon-separated words of i.What.
func (i Inhibitor) Covers(what string) bool {
	for _, w := range strings.Split(i.What, ":") {
		if w == what {
			return true
		}
	}
	return false
}

// SessionManagerWhy is the reason a GNOME or MATE session manager gives
// its own inhibitor (gnome-session 48 gsm-systemd.c, gsm_systemd_call_inhibit;
// mate-session the same): while an application of the session asks it not
// to end the session — an unsaved document — it holds a block on shutdown
// in its user's name, and drops it itself, before it asks logind to
// restart, once its user has answered its end-session dialog
// (gsm_systemd_prepare_shutdown).
const SessionManagerWhy = "user session inhibited"

// SessionManagers reports whether i is a session manager's own block on
// shutdown (SessionManagerWhy, "block" or "block-weak"). The holder's uid
// is i.UID; the why is the holder's word, so it proves nothing about who
// holds it: callers only ever pass such a block for its own user, who
// could drop it anyway.
func (i Inhibitor) SessionManagers() bool {
	return i.Inhibits() && strings.TrimSpace(i.Why) == SessionManagerWhy
}

// Name is how a person reads the inhibitor: "Who (Why)".
func (i Inhibitor) Name() string {
	who := strings.TrimSpace(i.Who)
	if who == "" {
		who = fmt.Sprintf("process %d", i.PID)
	}
	if why := strings.TrimSpace(i.Why); why != "" {
		return who + " (" + why + ")"
	}
	return who
}

// Caller is the part of a dbus.BusObject this package uses.
type Caller interface {
	CallWithContext(ctx context.Context, method string, flags dbus.Flags, args ...any) *dbus.Call
}

// Manager calls logind's Manager object.
type Manager struct {
	conn *dbus.Conn
	obj  Caller
}

// New returns the Manager on conn (the system bus).
func New(conn *dbus.Conn) *Manager {
	return &Manager{conn: conn, obj: conn.Object(BusName, Path)}
}

// ListSessions returns every session.
func (m *Manager) ListSessions(ctx context.Context) ([]Session, error) {
	var out []Session
	if err := m.obj.CallWithContext(ctx, ManagerInterface+".ListSessions", 0).Store(&out); err != nil {
		return nil, fmt.Errorf("cannot list sessions: %w", err)
	}
	return out, nil
}

// SessionClass reads a session's Class property ("user", "greeter",
// "lock-screen", "background", "manager", …).
func (m *Manager) SessionClass(ctx context.Context, path dbus.ObjectPath) (string, error) {
	return m.sessionString(ctx, path, "Class", "class")
}

// SessionID reads a session's Id property ("3", "c1", …), never "".
func (m *Manager) SessionID(ctx context.Context, path dbus.ObjectPath) (string, error) {
	id, err := m.sessionString(ctx, path, "Id", "id")
	if err == nil && id == "" {
		err = fmt.Errorf("cannot read the id of session %s: empty", path)
	}
	return id, err
}

// sessionString reads the string property prop of the session at path;
// what names it in errors.
func (m *Manager) sessionString(ctx context.Context, path dbus.ObjectPath, prop, what string) (string, error) {
	var v dbus.Variant
	err := m.conn.Object(BusName, path).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, SessionInterface, prop).Store(&v)
	if err != nil {
		return "", fmt.Errorf("cannot read the %s of session %s: %w", what, path, err)
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("cannot read the %s of session %s: not a string but %s", what, path, v.Signature())
	}
	return s, nil
}

// SessionByPID returns the path of the session logind files pid under.
func (m *Manager) SessionByPID(ctx context.Context, pid uint32) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	if err := m.obj.CallWithContext(ctx, ManagerInterface+".GetSessionByPID", 0, pid).Store(&p); err != nil {
		return "", fmt.Errorf("cannot find the session of process %d: %w", pid, err)
	}
	return p, nil
}

// TerminateSession ends the session id (the desktop's "log out" when no
// session manager does it).
func (m *Manager) TerminateSession(ctx context.Context, id string) error {
	if err := m.obj.CallWithContext(ctx, ManagerInterface+".TerminateSession", 0, id).Err; err != nil {
		return fmt.Errorf("cannot ask logind to logout: %w", err)
	}
	return nil
}

// The power methods a desktop's menu calls, each taking (b interactive).
const (
	MethodReboot    = "Reboot"
	MethodPowerOff  = "PowerOff"
	MethodSuspend   = "Suspend"
	MethodHibernate = "Hibernate"
)

// Power calls one of the Method* power methods for a user, with
// interactive=true so that polkit may ask for a password as the desktop's
// own menu lets it. logind reads the argument; the message flag is not
// set. The helper's own reboot is RebootWithFlags or Reboot below.
func (m *Manager) Power(ctx context.Context, method string) error {
	if err := m.obj.CallWithContext(ctx, ManagerInterface+"."+method, 0, true).Err; err != nil {
		return fmt.Errorf("cannot ask logind to %s: %w", strings.ToLower(method), err)
	}
	return nil
}

// Can asks logind's Can<what> ("Reboot", "PowerOff", "Suspend",
// "Hibernate"): "yes", "no", "challenge" or "na".
func (m *Manager) Can(ctx context.Context, what string) (string, error) {
	var s string
	if err := m.obj.CallWithContext(ctx, ManagerInterface+".Can"+what, 0).Store(&s); err != nil {
		return "", fmt.Errorf("cannot ask logind whether it can %s: %w", strings.ToLower(what), err)
	}
	return s, nil
}

// OtherUsersSessions reports whether users other than uid have sessions
// that count, as logind decides for reboot-multiple-sessions
// (logind-dbus.c, have_multiple_sessions): a session of class "user"
// belonging to another uid. Greeters and lock screens do not count; a
// session whose class cannot be read counts, so that a failure asks for
// the stricter action rather than the looser one.
func (m *Manager) OtherUsersSessions(ctx context.Context, uid uint32) (bool, error) {
	ss, err := m.ListSessions(ctx)
	if err != nil {
		return false, err
	}
	for _, s := range ss {
		if s.UID == uid {
			continue
		}
		class, err := m.SessionClass(ctx, s.Path)
		if err != nil || class == "user" {
			return true, nil
		}
	}
	return false, nil
}

// ListInhibitors returns every inhibitor.
func (m *Manager) ListInhibitors(ctx context.Context) ([]Inhibitor, error) {
	var out []Inhibitor
	if err := m.obj.CallWithContext(ctx, ManagerInterface+".ListInhibitors", 0).Store(&out); err != nil {
		return nil, fmt.Errorf("cannot list inhibitors: %w", err)
	}
	return out, nil
}

// ShutdownBlocker returns the first inhibitor that blocks a reboot, or nil.
func (m *Manager) ShutdownBlocker(ctx context.Context) (*Inhibitor, error) {
	ii, err := m.ListInhibitors(ctx)
	if err != nil {
		return nil, err
	}
	return FirstBlocker(ii), nil
}

// FirstBlocker returns the first of ii that blocks a reboot, or nil.
func FirstBlocker(ii []Inhibitor) *Inhibitor {
	return FirstBlockerExcept(ii, nil)
}

// FirstBlockerExcept is FirstBlocker passing over the inhibitors pass
// says yes to (nil passes none).
func FirstBlockerExcept(ii []Inhibitor, pass func(Inhibitor) bool) *Inhibitor {
	for i := range ii {
		if ii[i].Inhibits() && (pass == nil || !pass(ii[i])) {
			return &ii[i]
		}
	}
	return nil
}

// logind's polkit actions for a reboot (org.freedesktop.login1.policy).
const (
	ActionReboot                 = "org.freedesktop.login1.reboot"
	ActionRebootMultipleSessions = "org.freedesktop.login1.reboot-multiple-sessions"
	ActionRebootIgnoreInhibit    = "org.freedesktop.login1.reboot-ignore-inhibit"
)

// RebootActions returns the polkit actions logind checks before it lets a
// caller reboot, in its order (systemd src/login/logind-dbus.c,
// verify_shutdown_creds, 252 to 257): reboot-multiple-sessions when users
// other than the caller have sessions (have_multiple_sessions),
// reboot-ignore-inhibit when a block inhibitor would be overridden, and
// the plain reboot action only when neither applies. Asking exactly these
// makes a Quick Restart allowed to whoever logind would let reboot, no one
// else: a site rule on any of the three holds for both doors.
func RebootActions(multipleSessions, blocked bool) []string {
	var out []string
	if multipleSessions {
		out = append(out, ActionRebootMultipleSessions)
	}
	if blocked {
		out = append(out, ActionRebootIgnoreInhibit)
	}
	if !multipleSessions && !blocked {
		out = append(out, ActionReboot)
	}
	return out
}

// BlocksRebootFor reports whether ii would make logind ask uid for
// reboot-ignore-inhibit (manager_is_inhibited in verify_shutdown_creds).
// Up to systemd 256 a block inhibitor of the caller's own uid is ignored;
// 257 ignores only the caller's own "block-weak" and refuses a strong
// "block" outright. The union is taken: any shutdown blocker except the
// caller's own block-weak counts, so that no version asks for less than
// logind would. (The helper refuses to arm while any blocker exists, so
// this only decides which refusal the caller reads.)
func BlocksRebootFor(ii []Inhibitor, uid uint32) bool {
	for _, i := range ii {
		if !i.Inhibits() {
			continue
		}
		if i.Mode == "block-weak" && i.UID == uid {
			continue
		}
		return true
	}
	return false
}

// RebootBlockedFor lists the inhibitors and applies BlocksRebootFor.
func (m *Manager) RebootBlockedFor(ctx context.Context, uid uint32) (bool, error) {
	ii, err := m.ListInhibitors(ctx)
	if err != nil {
		return false, err
	}
	return BlocksRebootFor(ii, uid), nil
}

// ErrNoFlags is returned by RebootWithFlags when logind predates the
// *WithFlags methods (systemd < 248).
var ErrNoFlags = errors.New("logind has no RebootWithFlags (systemd older than 248)")

// RebootWithFlags asks logind for a clean reboot. logind refuses with a
// D-Bus error (e.g. org.freedesktop.login1.BlockedByInhibitor... as
// "Operation inhibited by …"), which is returned.
func (m *Manager) RebootWithFlags(ctx context.Context, flags uint64) error {
	err := m.obj.CallWithContext(ctx, ManagerInterface+".RebootWithFlags", 0, flags).Err
	var de dbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.UnknownMethod" {
		return fmt.Errorf("%w: %w", ErrNoFlags, err)
	}
	if err != nil {
		return fmt.Errorf("cannot reboot: %w", err)
	}
	return nil
}

// Reboot is the older Reboot(b interactive).
func (m *Manager) Reboot(ctx context.Context, interactive bool) error {
	var f dbus.Flags
	if interactive {
		f = dbus.FlagAllowInteractiveAuthorization
	}
	if err := m.obj.CallWithContext(ctx, ManagerInterface+".Reboot", f, interactive).Err; err != nil {
		return fmt.Errorf("cannot reboot: %w", err)
	}
	return nil
}

// PreparingForShutdown reads the Manager property of that name: a
// shutdown or reboot has been scheduled and is under way.
func (m *Manager) PreparingForShutdown(ctx context.Context) (bool, error) {
	var v dbus.Variant
	err := m.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, ManagerInterface, "PreparingForShutdown").Store(&v)
	if err != nil {
		return false, fmt.Errorf("cannot read PreparingForShutdown: %w", err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("cannot read PreparingForShutdown: not a boolean but %s", v.Signature())
	}
	return b, nil
}

// Signals is where WatchShutdown subscribes: bussignal.Handler, the
// connection's signal handler. accept runs on the connection's reader.
type Signals interface {
	Subscribe(ch chan<- *dbus.Signal, accept func(*dbus.Signal) bool)
	RemoveSignal(ch chan<- *dbus.Signal)
}

// The bus daemon's own name: only the daemon can send from it.
const busDaemon = "org.freedesktop.DBus"

// WatchShutdown subscribes to PrepareForShutdown and calls f with its
// argument (true: shutdown starts, false: it was cancelled) until ctx ends.
// sigs must be the signal handler of m's connection.
//
// Only signals sent by logind's own connection count: anyone may send a
// signal to the helper's unique name, and the bus does not stop it. The
// owner of org.freedesktop.login1 is asked once and then followed through
// the bus daemon's NameOwnerChanged; every other signal is dropped on the
// connection's reader, with no bus call and no goroutine (issue 12, item 5:
// one GetNameOwner per signal let any user flood the helper).
func (m *Manager) WatchShutdown(ctx context.Context, sigs Signals, f func(bool)) error {
	if sigs == nil {
		return errors.New("cannot watch for shutdown: no signal handler to subscribe to")
	}
	var owner ownerTracker
	// Follow the owner before asking for it, so that no change is missed
	// between the answer and the subscription.
	if err := m.conn.AddMatchSignalContext(ctx,
		dbus.WithMatchSender(busDaemon),
		dbus.WithMatchObjectPath("/org/freedesktop/DBus"),
		dbus.WithMatchInterface(busDaemon),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, BusName),
	); err != nil {
		return fmt.Errorf("cannot watch for shutdown: cannot follow the owner of %s: %w", BusName, err)
	}
	if err := m.conn.AddMatchSignalContext(ctx,
		dbus.WithMatchSender(BusName),
		dbus.WithMatchObjectPath(Path),
		dbus.WithMatchInterface(ManagerInterface),
		dbus.WithMatchMember("PrepareForShutdown"),
	); err != nil {
		return fmt.Errorf("cannot watch for shutdown: %w", err)
	}
	// Only logind's signals are queued: a flood of spoofed ones cannot
	// take the room of the real one.
	ch := make(chan *dbus.Signal, 8)
	sigs.Subscribe(ch, func(s *dbus.Signal) bool {
		if s.Sender == busDaemon && s.Name == busDaemon+".NameOwnerChanged" {
			owner.changed(s)
			return false
		}
		return s.Name == ManagerInterface+".PrepareForShutdown" && s.Path == Path && owner.is(s.Sender)
	})
	var cur string
	err := m.conn.BusObject().CallWithContext(ctx, busDaemon+".GetNameOwner", 0, BusName).Store(&cur)
	var de dbus.Error
	switch {
	case err == nil:
		owner.initial(cur)
	case errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner":
		// logind is not running (yet): NameOwnerChanged will say when it is.
	default:
		sigs.RemoveSignal(ch)
		return fmt.Errorf("cannot watch for shutdown: cannot ask who owns %s: %w", BusName, err)
	}
	go func() {
		defer sigs.RemoveSignal(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case s, ok := <-ch:
				if !ok {
					return
				}
				if len(s.Body) != 1 {
					continue
				}
				if b, ok := s.Body[0].(bool); ok {
					f(b)
				}
			}
		}
	}()
	return nil
}

// ownerTracker is the unique name that owns org.freedesktop.login1, read
// and written on the connection's reader (changed, is) and once by
// WatchShutdown (initial).
type ownerTracker struct {
	name atomic.Pointer[string] // nil until known
}

// initial records GetNameOwner's answer unless a NameOwnerChanged came
// first: that signal was sent after the answer or says the same.
func (o *ownerTracker) initial(name string) { o.name.CompareAndSwap(nil, &name) }

// changed follows NameOwnerChanged(name, old, new) for logind's name. The
// caller has checked that the bus daemon sent it.
func (o *ownerTracker) changed(s *dbus.Signal) {
	if len(s.Body) != 3 {
		return
	}
	name, _ := s.Body[0].(string)
	next, ok := s.Body[2].(string)
	if name != BusName || !ok {
		return
	}
	o.name.Store(&next)
}

// is reports whether sender is logind's current connection.
func (o *ownerTracker) is(sender string) bool {
	p := o.name.Load()
	return p != nil && *p != "" && *p == sender
}
