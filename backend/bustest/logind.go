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

// LogindStandIn stands in for systemd-logind's Manager on a private bus:
// sessions, inhibitors, RebootWithFlags/Reboot (recorded, and refused as
// logind refuses a root caller that asked to honour inhibitors while one
// blocks), PrepareForShutdown. It never reboots, powers off or kexecs
// anything: it is a recorder on a private bus.
type LogindStandIn struct {
	mu         sync.Mutex
	sessions   []StandInSession
	inhibitors []StandInInhibitor
	reboots    []string // "RebootWithFlags(0x1) uid=0", "Reboot(false) uid=0"
	rebootErr  *dbus.Error
	noFlags    bool // act as systemd < 248: no RebootWithFlags
	noSoft     bool // act as systemd < 254: SD_LOGIND_SOFT_REBOOT unknown
	emitOnBoot bool
	conn       *dbus.Conn
	props      *prop.Properties
}

// NewLogindStandIn owns org.freedesktop.login1 on a new connection to b.
// By default there are no sessions and no inhibitors, and an accepted
// reboot emits PrepareForShutdown(true) as logind does.
func NewLogindStandIn(t testing.TB, b *SystemBus) *LogindStandIn {
	t.Helper()
	conn := NewConn(t, b)
	l := &LogindStandIn{conn: conn, emitOnBoot: true}
	if err := conn.ExportMethodTable(l.methods(), "/org/freedesktop/login1", "org.freedesktop.login1.Manager"); err != nil {
		t.Fatal(err)
	}
	props, err := prop.Export(conn, "/org/freedesktop/login1", prop.Map{
		"org.freedesktop.login1.Manager": {"PreparingForShutdown": {Value: false, Emit: prop.EmitFalse}},
	})
	if err != nil {
		t.Fatal(err)
	}
	l.props = props
	Own(t, conn, "org.freedesktop.login1")
	return l
}

func (l *LogindStandIn) methods() map[string]any {
	return map[string]any{
		"ListSessions": func() ([]struct {
			ID   string
			UID  uint32
			User string
			Seat string
			Path dbus.ObjectPath
		}, *dbus.Error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			out := make([]struct {
				ID   string
				UID  uint32
				User string
				Seat string
				Path dbus.ObjectPath
			}, 0, len(l.sessions))
			for _, s := range l.sessions {
				out = append(out, struct {
					ID   string
					UID  uint32
					User string
					Seat string
					Path dbus.ObjectPath
				}{s.ID, s.UID, s.User, s.Seat, sessionPath(s.ID)})
			}
			return out, nil
		},
		"ListInhibitors": func() ([]StandInInhibitor, *dbus.Error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			return append([]StandInInhibitor{}, l.inhibitors...), nil
		},
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
			return l.reboot(sender, fmt.Sprintf("RebootWithFlags(%#x)", flags), flags&0x01 != 0)
		},
		"Reboot": func(sender dbus.Sender, interactive bool) *dbus.Error {
			// Root without the flag passes block inhibitors (systemd < 257).
			return l.reboot(sender, fmt.Sprintf("Reboot(%v)", interactive), false)
		},
	}
}

func (l *LogindStandIn) reboot(sender dbus.Sender, call string, checkInhibitors bool) *dbus.Error {
	var uid uint32
	_ = l.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, string(sender)).Store(&uid)
	l.mu.Lock()
	l.reboots = append(l.reboots, fmt.Sprintf("%s uid=%d", call, uid))
	err := l.rebootErr
	if err == nil && checkInhibitors {
		for _, i := range l.inhibitors {
			if (i.Mode == "block" || i.Mode == "block-weak") && strings.Contains(":"+i.What+":", ":shutdown:") {
				// logind-dbus.c (systemd 252), verify_shutdown_creds.
				err = dbus.NewError("org.freedesktop.DBus.Error.AccessDenied", []any{"Access denied to root due to active block inhibitor"})
				break
			}
		}
	}
	emit := l.emitOnBoot && err == nil
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if emit {
		l.EmitPrepareForShutdown(true)
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

// RefuseReboot makes every reboot request fail with err (nil: accept).
func (l *LogindStandIn) RefuseReboot(err *dbus.Error) {
	l.mu.Lock()
	l.rebootErr = err
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

// Reboots returns the reboot requests received, with flags and caller uid.
func (l *LogindStandIn) Reboots() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reboots...)
}

// EmitPrepareForShutdown sends logind's signal and sets the property.
func (l *LogindStandIn) EmitPrepareForShutdown(v bool) {
	l.props.SetMust("org.freedesktop.login1.Manager", "PreparingForShutdown", v)
	_ = l.conn.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForShutdown", v)
}
