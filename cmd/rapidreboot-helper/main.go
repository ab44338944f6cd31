// Command rapidreboot-helper is the privileged side of Quick Restart: a
// root service on the D-Bus system bus, started on demand by D-Bus
// activation (installed as /usr/libexec/rapidreboot/rapidreboot-helper), that
// asks polkit about each caller and acts only on what it computed itself.
// It exits after a short idle time when nothing is armed. See
// docs/helper.md.
//
// Its command line is set by the unit file, never by a caller; its
// environment is used for nothing but the bus address (godbus's system bus,
// DBUS_SYSTEM_BUS_ADDRESS, which D-Bus activation sets).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/bootid"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/kexecstate"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/bussignal"
	"github.com/rapidreboot/rapidreboot/backend/system/coldreboot"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/polkit"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
	"github.com/rapidreboot/rapidreboot/backend/system/restartkind"
	"github.com/rapidreboot/rapidreboot/backend/system/softreboot"
	"github.com/rapidreboot/rapidreboot/backend/version"
)

var (
	idleTimeout       = flag.Duration("idle-timeout", 30*time.Second, "exit after this long without calls while nothing is armed")
	armTTL            = flag.Duration("arm-ttl", armstate.DefaultTTL, "disarm when no reboot started this long after Arm")
	softDeadline      = flag.Duration("soft-deadline", helper.SoftDeadline, "drop a soft restart scheduled for a session's end when the session has not ended this long after")
	polkitTimeout     = flag.Duration("polkit-timeout", polkit.DefaultTimeout, "refuse when polkit has not answered a non-interactive check within this time")
	polkitInteractive = flag.Duration("polkit-interactive-timeout", polkit.DefaultInteractiveTimeout, "the same for a check that may ask for a password")
	logSocket         = flag.String("log-socket", "", "syslog socket; default /dev/log, then the journal's /run/systemd/journal/dev-log; stderr when none can be used")
	showVersion       = flag.Bool("version", false, "print the version and exit")
)

func main() {
	flag.Parse()
	if *showVersion {
		fmt.Println("rapidreboot-helper", version.Version)
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "rapidreboot-helper: no arguments are taken")
		os.Exit(2)
	}
	sockets := []string{"/dev/log", "/run/systemd/journal/dev-log"}
	if *logSocket != "" {
		sockets = []string{*logSocket}
	}
	log := helper.NewLogger(os.Stderr, sockets...)
	err := run(log)
	// What the per-caller rate limit held back is counted, not lost.
	log.FlushSuppressed()
	if err != nil {
		log.Err("%v", err)
		os.Exit(1)
	}
}

// paths is where the running system's files are: "/" in production, the
// test root with --test-root in a build for tests.
type paths struct {
	root, proc, sys, run string
}

func (p paths) join(rel string) string { return filepath.Join(p.root, rel) }

func run(log *helper.Logger) error {
	p, sys, err := system()
	if err != nil {
		return err
	}
	// Any local user can send signals to the helper's unique name: the
	// bounded handler drops what does not fit instead of starting a
	// goroutine per signal (issue 12, item 5).
	busSignals := bussignal.New()
	conn, err := dbus.ConnectSystemBus(dbus.WithSignalHandler(busSignals))
	if err != nil {
		return fmt.Errorf("cannot connect to the system bus: %w", err)
	}
	defer conn.Close()

	bootID, err := bootid.Read(p.proc)
	if err != nil {
		return err
	}
	target := host.New(p.root)
	loader := kexec.Loader{Sys: sys, Target: target, SysDir: p.sys, ProcDir: p.proc}
	if p.root == "/" {
		loader.KexecTools = kexec.FindKexecTools()
	}
	env := preflight.Env{Proc: p.proc, Sys: p.sys, Run: p.run, Root: p.root}
	auth := polkit.New(conn)
	auth.Timeout, auth.InteractiveTimeout = *polkitTimeout, *polkitInteractive
	li := logind.New(conn)

	h := helper.New(helper.Config{
		Auth:   auth,
		Users:  helper.BusUsers{Conn: conn},
		Logind: li,
		Loader: loader,
		Plan: func() (*bootplan.Plan, error) {
			return computePlan(target, p.proc, p.sys)
		},
		Preflight:    func() error { return preflight.Check(env) },
		Warnings:     func() []string { return preflight.Warnings(env) },
		Loaded:       func() (bool, error) { return kexecstate.Loaded(p.sys) },
		ShuttingDown: func(ctx context.Context) bool { return shuttingDown(ctx, conn, li) },
		TimeSaved:    timeSaved(p, conn, log),
		ArmDir:       p.join(armstate.RunDir),
		StateDir:     p.join(armstate.StateDir),
		BootID:       bootID,
		TTL:          *armTTL,
		Log:          log,
		DelayShutdown: func(ctx context.Context) (func(), error) {
			f, err := li.Inhibit(ctx, "shutdown", helper.DelayWho, helper.DelayWhy, "delay")
			if err != nil {
				return nil, err
			}
			return func() { _ = f.Close() }, nil
		},
		// Issue 16: a prepared kernel goes with the caller that prepared it.
		WatchCaller: helper.BusWatch{Conn: conn, Sigs: busSignals}.Watch,
		// Issue 16: advice, soft restart, coldreboot.
		SoftProbe:      func(ctx context.Context) (string, error) { return softreboot.Probe(ctx, conn) },
		Gather:         func() restartkind.Gathered { return restartkind.Gather(p.root, time.Now()) },
		DebianColdFlag: p.join(coldreboot.DebianFile),
		// Issue 16: the soft restart carried past the session's end.
		Sessions:     helper.LogindSessions{Conn: conn, Sigs: busSignals},
		SoftDeadline: *softDeadline,
	})
	// Calls queue behind the restore, which runs only once the name is
	// ours: a second helper that cannot own it touches nothing.
	restore := h.ReserveRestore()
	if _, err := helper.Export(conn, h); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := li.WatchShutdown(ctx, busSignals, h.SetShutdown); err != nil {
		// Without the signal the helper still asks logind and systemd at
		// SIGTERM; it just learns of a shutdown later.
		log.Warning("%v", err)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	reply, err := conn.RequestName(busapi.BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("cannot own %s: %w", busapi.BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("cannot own %s: another process owns it", busapi.BusName)
	}
	if err := restore(); err != nil {
		log.Warning("cannot clean up the state of an earlier run: %v", err)
	}
	log.Info("rapidreboot-helper %s ready (armed: %v)", version.Version, h.Armed())

	tick := time.NewTicker(tickFor(*idleTimeout))
	defer tick.Stop()
	for {
		select {
		case s := <-sigs:
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			h.Stop(sctx)
			scancel()
			log.Info("stopping on %v", s)
			return nil
		case <-conn.Context().Done():
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			h.Stop(sctx)
			scancel()
			return errors.New("the system bus connection was closed")
		case <-tick.C:
			if *idleTimeout <= 0 || !h.Idle(*idleTimeout) {
				continue
			}
			// Give the name back first: a call from now on starts a new
			// helper; calls already on their way are finished before exit.
			if _, err := conn.ReleaseName(busapi.BusName); err != nil {
				log.Warning("cannot release %s: %v", busapi.BusName, err)
			}
			time.Sleep(100 * time.Millisecond)
			for deadline := time.Now().Add(30 * time.Second); !h.Idle(0) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if h.Armed() || h.SoftRestartPending() {
				// Armed (or a soft restart scheduled) by a call that slipped in before the release: stay,
				// and take the name back so that Disarm can reach us.
				if r, err := conn.RequestName(busapi.BusName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
					log.Warning("armed, but cannot own %s again (%v, reply %d); the arm expires by itself", busapi.BusName, err, r)
				}
				continue
			}
			log.Info("idle for %s, exiting", *idleTimeout)
			return nil
		}
	}
}

func tickFor(idle time.Duration) time.Duration {
	switch {
	case idle <= 0:
		return time.Minute
	case idle/4 < 50*time.Millisecond:
		return 50 * time.Millisecond
	case idle/4 > 5*time.Second:
		return 5 * time.Second
	}
	return idle / 4
}

// computePlan plans the running system with bootplan.LiveOptions (the
// live command line, capped, and GRUB's platform), the options
// `rapidrebootctl plan` uses too, so that both print the same plan.
func computePlan(t host.Target, proc, sys string) (*bootplan.Plan, error) {
	opt, err := bootplan.LiveOptions(proc, sys)
	if err != nil {
		return nil, err
	}
	return bootplan.Compute(t, opt)
}

// shutdownTargets are the units whose start job means the system is going
// down.
var shutdownTargets = []string{"shutdown.target", "reboot.target", "kexec.target", "poweroff.target", "halt.target", "final.target"}

// shuttingDown asks logind (PreparingForShutdown) and systemd (a queued
// start job of a shutdown target). Not knowing counts as "no": the helper
// then disarms, and a restart is a normal one.
func shuttingDown(ctx context.Context, conn *dbus.Conn, li *logind.Manager) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if v, err := li.PreparingForShutdown(ctx); err == nil && v {
		return true
	}
	var jobs []struct {
		ID       uint32
		Unit     string
		Type     string
		State    string
		JobPath  dbus.ObjectPath
		UnitPath dbus.ObjectPath
	}
	err := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
		CallWithContext(ctx, "org.freedesktop.systemd1.Manager.ListJobs", 0).Store(&jobs)
	if err != nil {
		return false
	}
	for _, j := range jobs {
		for _, u := range shutdownTargets {
			if j.Unit == u && j.Type == "start" {
				return true
			}
		}
	}
	return false
}
