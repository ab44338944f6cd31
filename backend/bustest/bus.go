// Package bustest is the one harness for tests that need a bus: private
// dbus-daemons (a system bus with the real system bus's default-deny
// policy and the helper's shipped policy, or an open bus for the dialog's
// session and system buses), and stand-ins for the services the helper and
// the dialog talk to: polkit, logind, and the desktops' session managers
// (GNOME, Xfce, KDE, LXQt). Each stand-in is named so and is not the real
// service: the polkit stand-in denies unless told otherwise; the logind
// stand-in records power and reboot requests and never reboots anything;
// the session-manager stand-ins record the calls they get, so a test can
// say which method the code under test chose. The kexec syscall stand-in of
// the helper's test build is kexectest's, with its on-disk mirror
// (kexectest.NewMirrored).
package bustest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/assets"
	"github.com/rapidreboot/rapidreboot/backend/dbusdaemon"
	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

// busConf is the one bus configuration; %[1]s is the bus type, %[2]s the
// bus's directory, %[3]s its default policy. No <servicehelper>: the
// daemon runs as the test's user and starts activated services itself.
const busConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>%[1]s</type>
  <listen>unix:path=%[2]s/%[1]s_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <servicedir>%[2]s/%[1]s-services</servicedir>
  <policy context="default">
%[3]s
  </policy>
  <limit name="service_start_timeout">20000</limit>
  <includedir>%[2]s/%[1]s.d</includedir>
</busconfig>
`

// strictPolicy is the real system bus's default policy
// (/usr/share/dbus-1/system.conf on Debian 12), so a call the helper's own
// policy does not allow is refused here as it would be there.
const strictPolicy = `    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>` + bothPolicies + `
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>`

// openPolicy lets anyone own and call any name, like a session bus or a
// test machine's bus.
const openPolicy = `    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>` + bothPolicies + `
    <allow send_destination="org.freedesktop.DBus"/>`

// bothPolicies is what both policies allow: signals, replies to calls
// made, and receiving anything.
const bothPolicies = `
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>`

// SignalTo is a signal addressed to dest, as anyone may send one: the bus
// delivers a unicast signal whatever the receiver's match rules are (the
// spoofing tests of issue 12, item 5).
func SignalTo(dest string, path dbus.ObjectPath, iface, member string, body ...any) *dbus.Message {
	return &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:        dbus.MakeVariant(path),
		dbus.FieldInterface:   dbus.MakeVariant(iface),
		dbus.FieldMember:      dbus.MakeVariant(member),
		dbus.FieldDestination: dbus.MakeVariant(dest),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(body...)),
	}, Body: body}
}

// standInsConf lets root own the stand-ins' names and anyone call them on
// a strict bus, as their real packages' policy files do.
const standInsConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow own="org.freedesktop.login1"/>
    <allow own="org.freedesktop.systemd1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
    <allow send_destination="org.freedesktop.login1"/>
    <allow send_destination="org.freedesktop.systemd1"/>
  </policy>
</busconfig>
`

// Config says which bus to start.
type Config struct {
	// Type is "system" or "session".
	Type string
	// Strict gives the bus the real system bus's default-deny policy, the
	// helper's shipped policy and the stand-ins' policy; otherwise
	// everything is allowed.
	Strict bool
	// Activation, unless "", is the helper's activation file: the one
	// activatable service of a strict bus.
	Activation string
	// Services names installed D-Bus services
	// (/usr/share/dbus-1/services/<name>.service) the bus may activate,
	// e.g. "org.a11y.Bus" for screen-reader tests; no other is, so that a
	// test does not start portals and the like by accident.
	Services []string
}

// Bus is a private dbus-daemon started for tests.
type Bus struct {
	Dir string // holds the socket, the configuration and the service dir
	*dbusdaemon.Daemon
}

// Start starts the bus c describes in dir (short enough for a socket path,
// and reachable by other users if they are to connect) and returns it; the
// caller stops it with Stop. Not tied to a *testing.T so that a TestMain, a
// benchmark or a stand-in program can share one.
func Start(dir string, c Config) (*Bus, error) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		return nil, fmt.Errorf("cannot start a private bus: %w", err)
	}
	if c.Type != "system" && c.Type != "session" {
		return nil, fmt.Errorf("cannot start a private bus of type %q", c.Type)
	}
	confDir, svcDir := filepath.Join(dir, c.Type+".d"), filepath.Join(dir, c.Type+"-services")
	for _, d := range []string{confDir, svcDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cannot start a private bus: %w", err)
		}
	}
	policy := openPolicy
	files := map[string]string{}
	if c.Strict {
		policy = strictPolicy
		files[filepath.Join(confDir, "io.github.rapidreboot.Helper1.conf")] = assets.BusPolicy
		files[filepath.Join(confDir, "standins.conf")] = standInsConf
	}
	if c.Activation != "" {
		files[filepath.Join(svcDir, "io.github.rapidreboot.Helper1.service")] = c.Activation
	}
	for _, s := range c.Services {
		b, err := os.ReadFile(filepath.Join("/usr/share/dbus-1/services", s+".service"))
		if err != nil {
			return nil, fmt.Errorf("cannot make %s activatable: %w", s, err)
		}
		files[filepath.Join(svcDir, s+".service")] = string(b)
	}
	conf := filepath.Join(dir, c.Type+".conf")
	files[conf] = fmt.Sprintf(busConf, c.Type, dir, policy)
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("cannot start a private bus: %w", err)
		}
	}
	d, err := dbusdaemon.Start(conf)
	if err != nil {
		return nil, err
	}
	// Other users (the row 12 test runs a process as nobody) must be able
	// to connect; the daemon's umask decides the socket's mode.
	_ = os.Chmod(filepath.Join(dir, c.Type+"_bus_socket"), 0o777)
	return &Bus{Dir: dir, Daemon: d}, nil
}

// StartSystemBus starts a strict system bus in dir with activation as the
// one activatable service, unless "".
func StartSystemBus(dir, activation string) (*Bus, error) {
	return Start(dir, Config{Type: "system", Strict: true, Activation: activation})
}

// StartBus starts an open bus of kind "session" or "system" in dir that
// may activate services.
func StartBus(dir, kind string, services ...string) (*Bus, error) {
	return Start(dir, Config{Type: kind, Services: services})
}

// New starts the bus c describes for t, stopped when t ends. It skips the
// test when dbus-daemon is not installed.
func New(t testing.TB, c Config) *Bus {
	t.Helper()
	testtool.Need(t, "dbus-daemon", "dbus-daemon")
	b, err := Start(ShortDir(t), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

// NewSystemBus starts a strict system bus for t (StartSystemBus).
func NewSystemBus(t testing.TB, activation string) *Bus {
	t.Helper()
	return New(t, Config{Type: "system", Strict: true, Activation: activation})
}

// NewBus starts an open bus for t (StartBus).
func NewBus(t testing.TB, kind string, services ...string) *Bus {
	t.Helper()
	return New(t, Config{Type: kind, Services: services})
}

// ShortDir returns a new directory under /tmp, removed when t ends, short
// enough for a socket path (sun_path is 108 bytes; t.TempDir() under a
// long test name is not) and traversable by other users.
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rrb")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// NewConn connects to b, closed when t ends.
func NewConn(t testing.TB, b *Bus) *dbus.Conn {
	t.Helper()
	c, err := b.Conn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Own requests name on conn and fails t unless conn became its owner.
func Own(t testing.TB, conn *dbus.Conn, name string) {
	t.Helper()
	if err := own(conn, name); err != nil {
		t.Fatal(err)
	}
}

// own requests name on conn or fails.
func own(conn *dbus.Conn, name string) error {
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("cannot own %s: %w", name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("cannot own %s: already taken (reply %d)", name, reply)
	}
	return nil
}
