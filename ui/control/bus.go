package control

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/actions"
)

// busSystem asks the real system: logind and the helper on the system
// bus, the session manager on the session bus, files under root and sys.
type busSystem struct {
	root, sysDir, procDir string

	connect sync.Once
	sys     *dbus.Conn
	sysErr  error

	mu   sync.Mutex
	sess *dbus.Conn // nil without a session bus
}

func newBusSystem(root, sysDir, procDir string) *busSystem {
	return &busSystem{root: root, sysDir: sysDir, procDir: procDir}
}

// system connects the system bus once; every caller waits for that one
// attempt.
func (b *busSystem) system() (*dbus.Conn, error) {
	b.connect.Do(func() { b.sys, b.sysErr = dbus.ConnectSystemBus() })
	if b.sys == nil {
		return nil, fmt.Errorf("cannot reach the system bus: %w: %w", errNoSystemBus, b.sysErr)
	}
	return b.sys, nil
}

// session is the session bus connection, made on first use; nil when
// there is none (logind then stands in for the session manager).
func (b *busSystem) session() *dbus.Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sess == nil {
		if c, err := dbus.ConnectSessionBus(); err == nil {
			b.sess = c
		}
	}
	return b.sess
}

func (b *busSystem) Early(ctx context.Context) (session.Caps, rebootreq.Status) {
	updates, _ := rebootreq.Read(b.root)
	sys, err := b.system()
	if err != nil {
		return session.Caps{}, updates
	}
	return session.NewLogind(sys, nil).Caps(ctx), updates
}

func (b *busSystem) Plan(ctx context.Context) (busapi.Plan, error) {
	sys, err := b.system()
	if err != nil {
		return busapi.Plan{}, err
	}
	return busapi.NewClient(sys).GetPlan(ctx)
}

func (b *busSystem) Session(ctx context.Context) (session.Manager, error) {
	sess := b.session()
	sys, _ := b.system() // Detect copes without either bus
	return session.Detect(ctx, sess, sys, nil)
}

func (b *busSystem) Inhibitors(ctx context.Context, m session.Manager) []session.Inhibitor {
	var inh []session.Inhibitor
	if sys, err := b.system(); err == nil {
		if l, err := session.NewLogind(sys, nil).ShutdownInhibitors(ctx); err == nil {
			inh = append(inh, l...)
		}
	}
	if m != nil {
		if s, err := session.SessionInhibitors(ctx, m, b.session()); err == nil {
			inh = append(inh, s...)
		}
	}
	return inh
}

// noBus answers for the helper when there is no system bus.
type noBus struct{ err error }

func (n noBus) Arm(context.Context, bool) (busapi.Plan, error)     { return busapi.Plan{}, n.err }
func (n noBus) Disarm(context.Context) error                       { return n.err }
func (n noBus) SoftRestart(context.Context, bool) error            { return n.err }
func (n noBus) SoftRestartAfterLogout(context.Context, bool) error { return n.err }
func (n noBus) CancelSoftRestart(context.Context) error            { return n.err }

func (b *busSystem) Helper() actions.Helper {
	sys, err := b.system()
	if err != nil {
		return noBus{err}
	}
	return busapi.NewClient(sys)
}

func (b *busSystem) Watch(m session.Manager) (actions.Waiter, error) {
	sys, _ := b.system()
	return session.NewWatch(sys, b.session(), m)
}

func (b *busSystem) KexecLoaded() (bool, error) {
	return actions.KexecLoaded(b.sysDir)()
}

// Running reads the running kernel's release (what uname -r prints, from
// /proc/sys/kernel/osrelease, so a test root can stand in) and its
// command line. Both are the kernel's own and small; the caps only keep
// a broken /proc from costing memory.
func (b *busSystem) Running() (release, cmdline string) {
	return readSmall(filepath.Join(b.procDir, "sys/kernel/osrelease"), 256),
		readSmall(filepath.Join(b.procDir, "cmdline"), 64<<10)
}

// readSmall reads at most max bytes of path, trimmed; "" on any error.
func readSmall(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return ""
	}
	// /proc/cmdline ends in a newline; an initrd-less boot may leave a
	// trailing space.
	return strings.TrimSpace(string(data))
}

// Armed reads the helper's Armed property, and ArmedVersion where the
// helper has it (an older helper has not: the version is then "").
func (b *busSystem) Armed(ctx context.Context) (bool, string, error) {
	sys, err := b.system()
	if err != nil {
		return false, "", err
	}
	c := busapi.NewClient(sys)
	armed, err := c.Armed(ctx)
	if err != nil || !armed {
		return false, "", err
	}
	v, _ := c.ArmedVersion(ctx)
	return true, v, nil
}

// Advice asks the helper's GetAdvice.
func (b *busSystem) Advice(ctx context.Context) (busapi.Advice, error) {
	sys, err := b.system()
	if err != nil {
		return busapi.Advice{}, err
	}
	return busapi.NewClient(sys).GetAdvice(ctx)
}

// TimeSaved is the seconds a Quick Restart saves on this machine, as the
// helper measured them (GetTimeSaved); 0 when nothing was measured.
func (b *busSystem) TimeSaved(ctx context.Context) (float64, error) {
	sys, err := b.system()
	if err != nil {
		return 0, err
	}
	m, err := busapi.NewClient(sys).GetTimeSaved(ctx)
	if err != nil {
		return 0, err
	}
	if s, ok := busapi.TimeSavedSeconds(m); ok {
		return s, nil
	}
	return 0, nil
}

// SetCold sets (on) or clears the helper's coldreboot flag; polkit may
// ask for a password.
func (b *busSystem) SetCold(ctx context.Context, on bool) error {
	sys, err := b.system()
	if err != nil {
		return err
	}
	c := busapi.NewClient(sys)
	if on {
		return c.SetColdReboot(ctx, true)
	}
	return c.ClearColdReboot(ctx, true)
}
