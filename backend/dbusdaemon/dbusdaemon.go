// Package dbusdaemon starts a private dbus-daemon from a configuration
// file, for tests and benchmarks that need a real bus of their own (never
// the machine's). What the bus allows is the configuration's business; the
// callers (bustest: a strict bus like the system bus, or an open one)
// write it.
package dbusdaemon

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// startTimeout bounds the wait for the daemon's address: a daemon that
// cannot parse its configuration exits, one that hangs must not hang the
// test.
const startTimeout = 10 * time.Second

// Daemon is a running private dbus-daemon.
type Daemon struct {
	Addr string
	cmd  *exec.Cmd
}

// Start runs dbus-daemon with the configuration file conf and returns once
// it listens. The caller stops it with Stop.
func Start(conf string) (*Daemon, error) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		return nil, fmt.Errorf("cannot start a private bus: %w", err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("cannot start dbus-daemon: %w", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start dbus-daemon: %w", err)
	}
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("dbus-daemon (%s) printed no address", conf)
		}
		return &Daemon{Addr: a, cmd: cmd}, nil
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("dbus-daemon (%s) did not start within %v", conf, startTimeout)
	}
}

// Stop ends the daemon.
func (d *Daemon) Stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
	}
}

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Conn opens a new connection, authenticated and Hello'd.
func (d *Daemon) Conn() (*dbus.Conn, error) {
	c, err := dbus.Connect(d.Addr)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the private bus: %w", err)
	}
	return c, nil
}
