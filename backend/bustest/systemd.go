package bustest

import (
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// SystemdStandIn stands in for the service manager's
// org.freedesktop.systemd1.Manager on a private bus, for the soft restart
// probe only: the Version property and GetUnitFileState. It starts,
// stops and restarts nothing.
type SystemdStandIn struct {
	mu    sync.Mutex
	units map[string]string // unit file name → state ("static", "masked")
}

// NewSystemdStandIn owns org.freedesktop.systemd1 on a new connection to
// b, reporting version (e.g. "257.9-1~deb13u1") and the given unit files.
func NewSystemdStandIn(t testing.TB, b *Bus, version string, units map[string]string) *SystemdStandIn {
	t.Helper()
	conn := NewConn(t, b)
	s := &SystemdStandIn{units: map[string]string{}}
	for k, v := range units {
		s.units[k] = v
	}
	err := conn.ExportMethodTable(map[string]any{
		"GetUnitFileState": func(name string) (string, *dbus.Error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if st, ok := s.units[name]; ok {
				return st, nil
			}
			// What systemd answers for a unit file it cannot find.
			return "", dbus.NewError("org.freedesktop.DBus.Error.FileNotFound", []any{"No such file or directory"})
		},
	}, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prop.Export(conn, "/org/freedesktop/systemd1", prop.Map{
		"org.freedesktop.systemd1.Manager": {"Version": {Value: version, Emit: prop.EmitFalse}},
	}); err != nil {
		t.Fatal(err)
	}
	Own(t, conn, "org.freedesktop.systemd1")
	return s
}
