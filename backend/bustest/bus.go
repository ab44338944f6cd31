// Package bustest runs what the helper's tests need around it: a private
// dbus-daemon configured like the system bus (its default-deny policy, the
// helper's real policy file from assets, D-Bus activation from a service
// directory), and stand-ins for polkit and logind. Each stand-in is named
// so and is not the real service: the polkit stand-in denies unless told
// otherwise; the logind stand-in records reboot requests and never reboots
// anything. FileKexec is a kexec syscall stand-in that keeps its state in
// files, so the real helper binary built with the rapidreboot_fakekexec tag
// can be watched from the test.
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
)

// systemConf is the bus configuration: the default policy is the real
// system bus's (/usr/share/dbus-1/system.conf on Debian 12), so a call the
// helper's own policy does not allow is refused here as it would be there.
// No <servicehelper>: the daemon runs as the test's user and starts
// activated services itself.
const systemConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%[1]s/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <servicedir>%[1]s/system-services</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>
  <limit name="service_start_timeout">20000</limit>
  <includedir>%[1]s/system.d</includedir>
</busconfig>
`

// standInsConf lets root own the stand-ins' names and anyone call them, as
// their real packages' policy files do.
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

// SystemBus is a private dbus-daemon configured like the system bus.
type SystemBus struct {
	Dir string // holds the socket, the configuration and the service dir
	*dbusdaemon.Daemon
}

// StartSystemBus starts a bus in dir (which must be short enough for a
// socket path and reachable by other users if they are to connect).
// activation is written as the one activatable service file, unless "".
func StartSystemBus(dir, activation string) (*SystemBus, error) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		return nil, fmt.Errorf("cannot start a private bus: %w", err)
	}
	for _, d := range []string{"system.d", "system-services"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"system.conf": fmt.Sprintf(systemConf, dir),
		"system.d/io.github.rapidreboot.Helper1.conf": assets.BusPolicy,
		"system.d/standins.conf":                      standInsConf,
	}
	if activation != "" {
		files["system-services/io.github.rapidreboot.Helper1.service"] = activation
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	d, err := dbusdaemon.Start(filepath.Join(dir, "system.conf"))
	if err != nil {
		return nil, err
	}
	// Other users (the row 12 test runs a process as nobody) must be able
	// to connect; the daemon's umask decides the socket's mode.
	_ = os.Chmod(filepath.Join(dir, "system_bus_socket"), 0o777)
	return &SystemBus{Dir: dir, Daemon: d}, nil
}

// NewSystemBus starts a bus for t, stopped when t ends. It skips the test
// when dbus-daemon is not installed.
func NewSystemBus(t testing.TB, activation string) *SystemBus {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("no dbus-daemon (package dbus-daemon):", err)
	}
	dir := ShortDir(t)
	b, err := StartSystemBus(dir, activation)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
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
func NewConn(t testing.TB, b *SystemBus) *dbus.Conn {
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
	r, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		t.Fatalf("cannot own %s: %v", name, err)
	}
	if r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("cannot own %s: reply %d", name, r)
	}
}
