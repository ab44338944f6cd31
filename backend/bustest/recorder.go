package bustest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
)

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

// export serves methods (name → func returning *dbus.Error last) at path
// under iface, with introspection data listing them (session.hasMethod
// reads it to choose between a desktop's methods).
func export(conn *dbus.Conn, path dbus.ObjectPath, iface string, methods map[string]any) error {
	if err := conn.ExportMethodTable(methods, path, iface); err != nil {
		return err
	}
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("<node><interface name=\"" + iface + "\">")
	for _, n := range names {
		b.WriteString(`<method name="` + n + `"/>`)
	}
	b.WriteString("</interface>" + introspect.IntrospectDataString + "</node>")
	return conn.Export(introspect.Introspectable(b.String()), path, "org.freedesktop.DBus.Introspectable")
}
