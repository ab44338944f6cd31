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

	"github.com/rapidreboot/rapidreboot/backend/bootid"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/kexecstate"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/arming"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
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
	Advice    *adviceStatus  `json:"advice,omitempty"` // issue 16, status_advice.go
}

// inProcess reports whether the command runs without the helper: with
// --root naming another system than the running one. Only root may: the
// check comes before anything is read or connected (attack list row 46).
func inProcess(ctx *cliContext) (bool, error) {
	if isLive(ctx.Root) {
		return false, nil
	}
	if ctx.m.euid() != 0 {
		return false, reason.New(reason.NotRoot, "")
	}
	return true, nil
}

// helperConn connects to the system bus and returns the helper's client.
func (m *machine) helperConn() (*busapi.Client, func(), error) {
	conn, err := m.systemBus()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot connect to the system bus: %w", err)
	}
	return busapi.NewClient(conn), func() { conn.Close() }, nil
}

// callHelper connects to the system bus and runs f with the helper's
// client and a context bounded by callTimeout; a refusal comes back as a
// *reason.Error (helperErr). Every command that asks the helper goes
// through here, so the bound and the translation are the same for all.
func (m *machine) callHelper(f func(context.Context, *busapi.Client) error) error {
	c, done, err := m.helperConn()
	if err != nil {
		return err
	}
	defer done()
	cctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return helperErr(f(cctx, c))
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

// ---- the --root path: the helper's mechanism (backend/system/arming), in this process ----

// target is an installed system under root, planned and armed from here
// with backend/system/arming, the mechanism the helper runs: the same preflight,
// inhibitor check, loaded mark, arm and disarm. The pending mark goes to
// the target's /var/lib/rapidreboot, resolved inside root (row 44); the
// arm and the loaded mark to the running system's /run/rapidreboot, where
// the running system's shutdown hook reads them.
type target struct {
	m    *machine
	root string
	host host.Target
	env  preflight.Env
	mech *arming.Mechanism
}

func (m *machine) newRootTarget(root string) (*target, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, reason.Wrap(reason.Precondition, root, err)
	}
	if err := bootplan.CheckRootPreconditions(abs); err != nil {
		return nil, err
	}
	bootID, err := bootid.Read(m.live.Proc)
	if err != nil {
		return nil, err
	}
	// The running kernel is checked (kexec present, not disabled, no
	// container); the package manager and markers are the target's: an
	// installer runs dpkg inside /target, and the next boot is the target's.
	env := m.live
	env.Root = abs
	t := &target{m: m, root: abs, host: m.target(abs), env: env}
	t.mech = arming.New(arming.Config{
		Loader: t.loader(),
		Loaded: func() (bool, error) { return kexecstate.Loaded(m.live.Sys) },
		// Another system's plan: never the live command line.
		Plan:      func() (*bootplan.Plan, error) { return bootplan.Compute(t.host, bootplan.Options{}) },
		Preflight: func() error { return preflight.Check(env) },
		Warnings:  func() []string { return preflight.Warnings(env) },
		// rapidrebootctl restarts through logind itself: every block
		// counts (arming.Via).
		ShutdownBlocker: func(ctx context.Context, _ arming.Via) (string, error) {
			b, err := m.shutdownBlocker(ctx)
			if err != nil || b == nil {
				return "", err
			}
			return b.Name(), nil
		},
		RunDir:    filepath.Join(m.live.Run, "rapidreboot"),
		StateRoot: abs,
		StateDir:  armstate.StateDir,
		BootID:    bootID,
	})
	return t, nil
}

func (t *target) loader() kexec.Loader {
	return kexec.Loader{Sys: t.m.kexec(), Target: t.host, SysDir: t.m.live.Sys, ProcDir: t.m.live.Proc, KexecTools: kexec.FindKexecTools()}
}

// wireOf is a preparation in the helper's wire form, for statusOf.
func wireOf(prep arming.Prepared) busapi.Plan {
	var w busapi.Plan
	if p := prep.Plan; p != nil {
		w = busapi.Plan{Kernel: p.Kernel, Version: p.Version, Initrds: p.Initrd, Cmdline: p.Cmdline, Source: p.Source, Why: p.Why, Warnings: p.Warnings}
	}
	w.Warnings = append(w.Warnings, prep.Warnings...)
	if prep.Unavailable != nil {
		w.Reason, w.Detail = reason.CodeOf(prep.Unavailable), reason.DetailOf(prep.Unavailable)
	} else {
		w.Available = true
	}
	return w
}

// plan returns the target's plan in wire form and the first reason it
// cannot be armed.
func (t *target) plan() (*bootplan.Plan, busapi.Plan, error) {
	prep := t.mech.Prepare(context.Background(), arming.Via{})
	return prep.Plan, wireOf(prep), prep.Unavailable
}

// armed reports whether a valid arm is in place.
func (t *target) armed() bool {
	st, err := t.mech.Current()
	return err == nil && st != nil
}

// arm loads the target's plan and arms (or renews the arm of the same
// plan), as the helper's Arm does.
func (t *target) arm() (busapi.Plan, error) {
	cur, _ := t.mech.Current()
	_, prep, err := t.mech.Arm(context.Background(), cur, arming.Request{UID: uint32(t.m.euid())})
	return wireOf(prep), err
}

// disarm unloads the product's image and removes the arm and the marks
// (arming.Disarm: root's own kexec image is left alone; a failed unload
// keeps the loaded mark for the shutdown hook).
func (t *target) disarm() error { return t.mech.Disarm() }

// shutdownBlocker asks logind for a block inhibitor on shutdown.
func (m *machine) shutdownBlocker(ctx context.Context) (*logind.Inhibitor, error) {
	conn, err := m.systemBus()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return logind.New(conn).ShutdownBlocker(ctx)
}

// reboot asks logind for a clean reboot that honours block inhibitors
// (logind.RebootCleanly, as the helper's QuickRestart does). Without logind (an installer without
// systemd) there is no clean path this tool knows: it refuses, and the
// caller disarms.
func (m *machine) reboot() error {
	conn, err := m.systemBus()
	if err != nil {
		return fmt.Errorf("cannot connect to the system bus to restart: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return logind.RebootCleanly(ctx, logind.New(conn))
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
