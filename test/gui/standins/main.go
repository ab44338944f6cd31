// Command standins runs the dialog's world for the benchmark (and for
// trying the dialog by hand): a private session bus that can activate the
// accessibility bus, and a private system bus with the logind and
// rapidreboot-helper stand-ins (which record calls and never reboot). It
// prints the two addresses as shell assignments, then runs until its
// standard input closes.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/ui/uitest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "standins:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "rr-standins")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sess, err := bustest.StartBus(dir+"/s", "session", "org.a11y.Bus")
	if err != nil {
		return err
	}
	defer sess.Stop()
	sys, err := bustest.StartBus(dir+"/y", "system")
	if err != nil {
		return err
	}
	defer sys.Stop()
	lc, err := sys.Conn()
	if err != nil {
		return err
	}
	if _, err := bustest.StartLogindStandIn(lc, map[string]string{"CanHibernate": "no"}); err != nil {
		return err
	}
	hc, err := sys.Conn()
	if err != nil {
		return err
	}
	if _, err := uitest.NewHelperStandIn(hc, uitest.Plan("6.1.0-27-amd64")); err != nil {
		return err
	}
	fmt.Printf("DBUS_SESSION_BUS_ADDRESS='%s'\nDBUS_SYSTEM_BUS_ADDRESS='%s'\n", sess.Addr, sys.Addr)
	os.Stdout.Sync()
	// Stop on end of input or on a signal, stopping the buses either way
	// (the deferred Stops), so no dbus-daemon outlives us.
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	select {
	case <-done:
	case <-sig:
	}
	return nil
}
