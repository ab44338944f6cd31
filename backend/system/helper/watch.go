package helper

import (
	"context"
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/logind"
)

// busDaemon is the bus daemon's own name: only the daemon sends from it.
const busDaemon = "org.freedesktop.DBus"

// BusWatch follows callers through the bus daemon's NameOwnerChanged
// (Config.WatchCaller): a prepared image is unloaded when the connection
// that prepared it goes (prepare.go). Sigs must be the connection's
// signal handler (bussignal.Handler: bounded, no goroutine per signal).
type BusWatch struct {
	Conn *dbus.Conn
	Sigs logind.Signals
}

// Watch calls gone once, in its own goroutine, when sender's unique name
// has no owner any more — already, or from now on — until stop. Only the
// bus daemon's own signals count: anyone may send a NameOwnerChanged to
// the helper's name. A unique name is never owned again once released.
func (b BusWatch) Watch(ctx context.Context, sender string, gone func()) (stop func(), err error) {
	if sender == "" || sender[0] != ':' {
		return nil, fmt.Errorf("cannot watch %q: not a unique bus name", sender)
	}
	match := []dbus.MatchOption{
		dbus.WithMatchSender(busDaemon),
		dbus.WithMatchObjectPath("/org/freedesktop/DBus"),
		dbus.WithMatchInterface(busDaemon),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, sender),
	}
	if err := b.Conn.AddMatchSignalContext(ctx, match...); err != nil {
		return nil, fmt.Errorf("cannot watch %s: %w", sender, err)
	}
	ch := make(chan *dbus.Signal, 1)
	b.Sigs.Subscribe(ch, func(s *dbus.Signal) bool {
		if s.Sender != busDaemon || s.Name != busDaemon+".NameOwnerChanged" || len(s.Body) != 3 {
			return false
		}
		name, _ := s.Body[0].(string)
		next, _ := s.Body[2].(string)
		return name == sender && next == ""
	})
	done := make(chan struct{})
	var once sync.Once
	fire := func() { once.Do(func() { go gone() }) }
	stop = sync.OnceFunc(func() { close(done) })
	go func() {
		defer func() {
			b.Sigs.RemoveSignal(ch)
			_ = b.Conn.RemoveMatchSignal(match...)
		}()
		select {
		case _, ok := <-ch:
			if ok {
				fire()
			}
		case <-done:
		}
	}()
	// Subscribed first, then asked: a caller that left before the match
	// was in place is seen here.
	var has bool
	if err := b.Conn.BusObject().CallWithContext(ctx, busDaemon+".NameHasOwner", 0, sender).Store(&has); err == nil && !has {
		fire()
	}
	return stop, nil
}
