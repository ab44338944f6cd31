// Package sessiontest runs private dbus-daemons and stand-ins for the
// services the dialog talks to: session managers (GNOME, Xfce, KDE, LXQt)
// and logind. Each stand-in is named so; none is the real service. They
// record the calls they get, so a test can say which method the code under
// test chose.
package sessiontest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/dbusdaemon"
)

// Bus is a private dbus-daemon started for one test.
type Bus struct {
	*dbusdaemon.Daemon
}

// busConfig lets anyone own any name, like a test machine's bus. Only the
// services named to StartBus can be activated, so a test does not start
// portals and the like by accident.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>%s</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  %s
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
</busconfig>
`

// StartBus starts a dbus-daemon of kind "session" or "system" in dir and
// returns it; the caller stops it with Stop. services names the installed
// D-Bus services (/usr/share/dbus-1/services/<name>.service) it may
// activate, e.g. "org.a11y.Bus" for screen-reader tests. Not tied to a
// *testing.T so a TestMain or a benchmark can share one.
func StartBus(dir, kind string, services ...string) (*Bus, error) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		return nil, fmt.Errorf("cannot start a private bus: %w", err)
	}
	svc := filepath.Join(dir, "services")
	if err := os.MkdirAll(svc, 0o755); err != nil {
		return nil, err
	}
	for _, s := range services {
		b, err := os.ReadFile(filepath.Join("/usr/share/dbus-1/services", s+".service"))
		if err != nil {
			return nil, fmt.Errorf("cannot make %s activatable: %w", s, err)
		}
		if err := os.WriteFile(filepath.Join(svc, s+".service"), b, 0o644); err != nil {
			return nil, err
		}
	}
	extra := "<servicedir>" + svc + "</servicedir>"
	conf := filepath.Join(dir, kind+".conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(busConfig, kind, dir, extra)), 0o644); err != nil {
		return nil, err
	}
	d, err := dbusdaemon.Start(conf)
	if err != nil {
		return nil, err
	}
	return &Bus{d}, nil
}

// NewBus starts a bus for t and stops it when t ends.
func NewBus(t testing.TB, kind string, services ...string) *Bus {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("no dbus-daemon (package dbus-daemon):", err)
	}
	// A short directory: the socket path must fit in sun_path (108
	// bytes), which t.TempDir() under a long subtest name does not.
	dir, err := os.MkdirTemp("", "rr-bus")
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartBus(dir, kind, services...)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(); os.RemoveAll(dir) })
	return b
}

// NewConn connects to b and closes the connection when t ends.
func NewConn(t testing.TB, b *Bus) *dbus.Conn {
	t.Helper()
	c, err := b.Conn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Recorder keeps the calls a stand-in got, in order, as "Method(args)".
type Recorder struct {
	mu    sync.Mutex
	calls []string
	wake  chan struct{}
}

// Record adds one call.
func (r *Recorder) Record(format string, args ...any) {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
	r.mu.Unlock()
}

// Calls returns a copy of the calls so far.
func (r *Recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// Reset forgets the calls so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// WaitFor waits until a call starting with prefix has been recorded, up to
// d, and reports whether it came.
func (r *Recorder) WaitFor(prefix string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		r.mu.Lock()
		for _, c := range r.calls {
			if strings.HasPrefix(c, prefix) {
				r.mu.Unlock()
				return true
			}
		}
		if r.wake == nil {
			r.wake = make(chan struct{})
		}
		w := r.wake
		r.mu.Unlock()
		select {
		case <-w:
		case <-deadline:
			return false
		}
	}
}

// own requests name on conn or fails.
func own(conn *dbus.Conn, name string) error {
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("cannot own %s: %w", name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("cannot own %s: already taken", name)
	}
	return nil
}
