package bustest

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// The logind stand-in's Inhibit: it hands out the write end of a pipe, as
// logind hands out the write end of a FIFO, and sees the lock released
// when every copy of that end is closed (its read end reads EOF). Like
// everything of the stand-in, the lock inhibits nothing: it is recorded.

// StandInInhibit is one Inhibit call and, once every copy of its
// descriptor is closed, its release.
type StandInInhibit struct {
	What, Who, Why, Mode string
	UID                  uint32
	Taken, Released      time.Time // Released zero while held
}

// String is "Inhibit(what who why mode) uid=N held|released".
func (i StandInInhibit) String() string {
	state := "held"
	if !i.Released.IsZero() {
		state = "released"
	}
	return fmt.Sprintf("Inhibit(%s %s %q %s) uid=%d %s", i.What, i.Who, i.Why, i.Mode, i.UID, state)
}

// standInFDGrace is how long the stand-in keeps its own copy of the write
// end after answering: godbus sends the reply (and the descriptor) after
// the method returns, so the copy cannot be closed in the method. The
// release is seen at most this long after the caller closes its copy;
// logind itself closes its copy right after sending.
const standInFDGrace = 1500 * time.Millisecond

func (l *LogindStandIn) inhibit(sender dbus.Sender, what, who, why, mode string) (dbus.UnixFD, *dbus.Error) {
	var uid uint32
	_ = l.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, string(sender)).Store(&uid)
	l.Record("Inhibit(%s, %s, %s)", what, who, mode)
	r, w, err := os.Pipe()
	if err != nil {
		return -1, dbus.MakeFailedError(err)
	}
	l.mu.Lock()
	n := len(l.inhibits)
	l.inhibits = append(l.inhibits, StandInInhibit{What: what, Who: who, Why: why, Mode: mode, UID: uid, Taken: time.Now()})
	l.mu.Unlock()
	go func() {
		time.Sleep(standInFDGrace)
		w.Close()
	}()
	go func() {
		defer r.Close()
		_, _ = io.Copy(io.Discard, r) // EOF: every write end is closed
		l.mu.Lock()
		l.inhibits[n].Released = time.Now()
		l.mu.Unlock()
		l.Record("Inhibit released(%s, %s)", who, mode)
	}()
	return dbus.UnixFD(w.Fd()), nil
}

// Inhibits returns every Inhibit call so far, with its release if it came.
func (l *LogindStandIn) Inhibits() []StandInInhibit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]StandInInhibit(nil), l.inhibits...)
}
