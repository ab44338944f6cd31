// Command guestprobe runs inside the e2e guest (as /usr/local/lib/e2e/tools/
// rr-probe) and calls the helper on the real system bus through the
// project's own client (backend/busapi), printing one JSON object: the
// plan or the typed refusal, and how long the call took. The tests read
// refusals from it by reason code rather than by the CLI's wording.
//
//	rr-probe plan | arm | disarm | quick | armed | own-name | session-inhibit
//
// own-name tries to own the helper's bus name (attack-list row 12).
// session-inhibit is the "unsaved document" of attack-list row 37: it asks
// the session manager on the session bus (org.gnome.SessionManager, which
// MATE's keeps) to inhibit logging out, prints the cookie, and holds the
// inhibitor until it is killed, as an editor holds it while a document is
// unsaved.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

type result struct {
	OK      bool          `json:"ok"`
	Plan    *busapi.Plan  `json:"plan,omitempty"`
	Armed   *bool         `json:"armed,omitempty"`
	Error   *callError    `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

type callError struct {
	Name    string `json:"name"`
	Code    string `json:"code"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: rr-probe plan|arm|disarm|quick|armed|own-name|session-inhibit")
		os.Exit(2)
	}
	if os.Args[1] == "session-inhibit" {
		os.Exit(sessionInhibit())
	}
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rr-probe: cannot connect to the system bus:", err)
		os.Exit(3)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := busapi.NewClient(conn)
	var r result
	t0 := time.Now()
	switch os.Args[1] {
	case "plan":
		var p busapi.Plan
		p, err = c.GetPlan(ctx)
		r.Plan = &p
	case "arm":
		var p busapi.Plan
		p, err = c.Arm(ctx, false)
		r.Plan = &p
	case "disarm":
		err = c.Disarm(ctx)
	case "quick":
		err = c.QuickRestart(ctx, false)
	case "armed":
		var b bool
		b, err = c.Armed(ctx)
		r.Armed = &b
	case "own-name":
		var reply dbus.RequestNameReply
		reply, err = conn.RequestName(busapi.BusName, dbus.NameFlagDoNotQueue)
		if err == nil && reply != dbus.RequestNameReplyPrimaryOwner {
			err = fmt.Errorf("request name: reply %d", reply)
		}
	default:
		fmt.Fprintln(os.Stderr, "rr-probe: unknown command", os.Args[1])
		os.Exit(2)
	}
	r.Elapsed = time.Since(t0)
	r.OK = err == nil
	if err != nil {
		ce := &callError{Message: err.Error()}
		var be *busapi.CallError
		var de dbus.Error
		var pde *dbus.Error
		switch {
		case errors.As(err, &be):
			ce.Name, ce.Code, ce.Detail = be.Name, string(be.Code), be.Detail
		case errors.As(err, &de):
			ce.Name = de.Name
		case errors.As(err, &pde):
			ce.Name = pde.Name
		}
		r.Error = ce
	}
	json.NewEncoder(os.Stdout).Encode(r)
	if err != nil {
		os.Exit(1)
	}
}

// GNOME's inhibit flag for logging out, which restarts and shutdowns go
// through in a session manager.
const inhibitLogout = 1

func sessionInhibit() int {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rr-probe: cannot connect to the session bus:", err)
		return 3
	}
	defer conn.Close()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var cookie uint32
	sm := conn.Object("org.gnome.SessionManager", "/org/gnome/SessionManager")
	if err := sm.Call("org.gnome.SessionManager.Inhibit", 0, "e2e-editor", uint32(0), "Unsaved document", uint32(inhibitLogout)).Store(&cookie); err != nil {
		fmt.Fprintln(os.Stderr, "rr-probe: Inhibit:", err)
		return 1
	}
	fmt.Printf("cookie %d\n", cookie)
	<-stop
	return 0
}
