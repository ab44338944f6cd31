package main

// The helper's commands (status, arm, disarm, restart) share this file: how
// they reach the helper over the system bus, and the in-process path that
// `--root DIR` takes as root (an installer restarting into /target, where
// the helper, which plans only for the running system, cannot help).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/armstate"
	"github.com/rapidreboot/rapidreboot/backend/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/host"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/kexec"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/preflight"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Seams for tests: the system bus, the effective uid, the kexec syscalls
// and the running system's directories for the --root path, and whether
// polkit may ask for a password.
var (
	connectSystemBus = systemBus
	geteuid          = os.Geteuid
	newKexecSyscalls = kexec.Real
	liveDirs         = preflight.Live()
	interactiveAuth  = stdinIsTerminal
)

// callTimeout bounds one call to the helper. Arm may wait for a person
// typing a password into polkit's agent.
const callTimeout = 6 * time.Minute

// status is the JSON form of `status`, `arm` and `disarm`.
type status struct {
	Armed     bool           `json:"armed"`
	Available bool           `json:"available"`
	Reason    reason.Code    `json:"reason,omitempty"`
	Message   string         `json:"message,omitempty"`
	Plan      *bootplan.Plan `json:"plan,omitempty"`
}

// inProcess reports whether the command runs without the helper: with
// --root naming another system than the running one. Only root may: the
// check comes before anything is read or connected (attack list row 46).
func inProcess(ctx *cliContext) (bool, error) {
	if isLive(ctx.Root) {
		return false, nil
	}
	if geteuid() != 0 {
		return false, reason.New(reason.NotRoot, "")
	}
	return true, nil
}

// helperConn connects to the system bus and returns the helper's client.
func helperConn() (*busapi.Client, func(), error) {
	conn, err := connectSystemBus()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot connect to the system bus: %w", err)
	}
	return busapi.NewClient(conn), func() { conn.Close() }, nil
}

// helperErr turns the helper's refusal into a *reason.Error, so that the
// person reads the sentence in their language; anything else (no helper,
// no bus) keeps its words.
func helperErr(err error) error {
	var ce *busapi.CallError
	if errors.As(err, &ce) {
		switch ce.Name {
		case busapi.ErrNotAuthorized, busapi.ErrAuthenticationRequired, busapi.ErrUnavailable, busapi.ErrFailed:
			return reason.New(ce.Code, ce.Detail)
		}
		return fmt.Errorf("cannot reach the Quick Restart helper (%s): %s", ce.Name, ce.Msg)
	}
	return err
}

func fromWire(p busapi.Plan) *bootplan.Plan {
	if p.Kernel == "" {
		return nil
	}
	return &bootplan.Plan{Kernel: p.Kernel, Version: p.Version, Initrd: p.Initrds, Cmdline: p.Cmdline,
		Source: p.Source, Why: p.Why, Warnings: p.Warnings}
}

func statusOf(armed bool, p busapi.Plan) status {
	s := status{Armed: armed, Available: p.Available, Plan: fromWire(p)}
	if !p.Available {
		s.Reason = p.Reason
		s.Message = reason.Sentence(i18n.G, p.Reason, p.Detail)
	}
	return s
}

// ---- the --root path: the same steps as the helper, in this process ----

// target is an installed system under root, planned and loaded from here.
type target struct {
	root string
	host host.Target
	env  preflight.Env
}

func newRootTarget(root string) (*target, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, reason.Wrap(reason.Precondition, root, err)
	}
	if err := bootplan.CheckRootPreconditions(abs); err != nil {
		return nil, err
	}
	// The running kernel is checked (kexec present, not disabled, no
	// container); the package manager and markers are the target's: an
	// installer runs dpkg inside /target, and the next boot is the target's.
	env := liveDirs
	env.Root = abs
	return &target{root: abs, host: newTarget(abs), env: env}, nil
}

func (t *target) armDir() string   { return filepath.Join(liveDirs.Run, "rapidreboot") }
func (t *target) stateDir() string { return filepath.Join(t.root, armstate.StateDir) }

func (t *target) loader() kexec.Loader {
	l := kexec.Loader{Sys: newKexecSyscalls(), Target: t.host, SysDir: liveDirs.Sys, ProcDir: liveDirs.Proc}
	for _, p := range []string{"/usr/sbin/kexec", "/sbin/kexec"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			l.KexecTools = p
			break
		}
	}
	return l
}

// plan returns the target's plan in wire form and the first reason it
// cannot be armed (preflight first, as the helper does).
func (t *target) plan() (*bootplan.Plan, busapi.Plan, error) {
	pfErr := preflight.Check(t.env)
	p, err := bootplan.Compute(t.host, bootplan.Options{})
	var w busapi.Plan
	if p != nil {
		w = busapi.Plan{Kernel: p.Kernel, Version: p.Version, Initrds: p.Initrd, Cmdline: p.Cmdline, Source: p.Source, Why: p.Why, Warnings: p.Warnings}
	}
	w.Warnings = append(w.Warnings, preflight.Warnings(t.env)...)
	if pfErr == nil {
		pfErr = err
	}
	if pfErr == nil {
		// An installer holds a block inhibitor while it writes the boot
		// loader (row 44): name it, as the helper does.
		b, berr := shutdownBlocker()
		switch {
		case berr != nil:
			w.Warnings = append(w.Warnings, "cannot list the programs that block restarting: "+berr.Error())
		case b != nil:
			pfErr = reason.New(reason.Inhibited, b.Name())
		}
	}
	if pfErr != nil {
		w.Reason, w.Detail = reason.CodeOf(pfErr), reason.DetailOf(pfErr)
		return p, w, pfErr
	}
	w.Available = true
	return p, w, nil
}

// armed reports whether a valid arm is in place.
func (t *target) armed() bool {
	st, err := armstate.Read(t.armDir())
	if err != nil {
		return false
	}
	id, err := armstate.BootID(liveDirs.Proc)
	return err == nil && st.Valid(time.Now(), id) == nil
}

// arm loads the target's plan and arms, as the helper's Arm does.
func (t *target) arm() (busapi.Plan, error) {
	p, w, err := t.plan()
	if err != nil {
		return w, err
	}
	bootID, err := armstate.BootID(liveDirs.Proc)
	if err != nil {
		return w, err
	}
	now := time.Now()
	if err := armstate.MarkPending(t.stateDir(), armstate.Marker{BootID: bootID, Time: now, Kernel: p.Kernel, Version: p.Version}); err != nil {
		return w, err
	}
	l := t.loader()
	img, err := l.Load(p)
	if err != nil {
		t.disarm()
		return w, err
	}
	st := armstate.State{Format: armstate.Format, BootID: bootID, ArmedAt: now, ExpiresAt: now.Add(armstate.DefaultTTL),
		UID: uint32(geteuid()), Image: img, Plan: *p}
	if err := armstate.Write(t.armDir(), st); err != nil {
		t.disarm()
		return w, err
	}
	return w, nil
}

// disarm unloads and removes the arm and the pending mark, whatever fails.
func (t *target) disarm() error {
	return errors.Join(t.loader().Unload(), armstate.Clear(t.armDir()), armstate.ClearPending(t.stateDir()))
}

// shutdownBlocker asks logind for a block inhibitor on shutdown.
func shutdownBlocker() (*logind.Inhibitor, error) {
	conn, err := connectSystemBus()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return logind.New(conn).ShutdownBlocker(ctx)
}

// reboot asks logind for a clean reboot that honours block inhibitors,
// as the helper's QuickRestart does. Without logind (an installer without
// systemd) there is no clean path this tool knows: it refuses, and the
// caller disarms.
func reboot() error {
	conn, err := connectSystemBus()
	if err != nil {
		return fmt.Errorf("cannot connect to the system bus to restart: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := logind.New(conn)
	err = m.RebootWithFlags(ctx, logind.FlagRootCheckInhibitors)
	if errors.Is(err, logind.ErrNoFlags) {
		if b, berr := m.ShutdownBlocker(ctx); berr == nil && b != nil {
			return reason.New(reason.Inhibited, b.Name())
		}
		err = m.Reboot(ctx, false)
	}
	return err
}

// stdinIsTerminal: a person is there to type a password into polkit's
// agent (the desktop's, or one started in the terminal).
func stdinIsTerminal() bool {
	_, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS)
	return err == nil
}

// systemBus connects to the system bus. Inside a test binary it refuses
// the machine's own bus: a test that forgot its private bus must not ask
// the real logind to restart the machine it runs on.
func systemBus() (*dbus.Conn, error) {
	if testing.Testing() {
		addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
		if addr == "" || strings.Contains(addr, "/run/dbus/") || strings.Contains(addr, "/var/run/dbus/") {
			return nil, errors.New("refusing the real system bus inside a test binary")
		}
	}
	return dbus.ConnectSystemBus()
}
