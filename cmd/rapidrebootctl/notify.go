package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/bootid"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/notify"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

func init() {
	commands["watch-reboot-required"] = command{
		run:  runWatch,
		help: i18n.N_("in a desktop session: offer a restart once when updates need one"),
	}
}

// signalContext ends the watcher on a signal (machine.watchContext).
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
}

// runWatch is started by the XDG autostart entry
// (/etc/xdg/autostart/rapidreboot-reboot-required.desktop) and runs for the
// whole session; see backend/notify.
func runWatch(ctx *cliContext, args []string) error {
	fs := flag.NewFlagSet("watch-reboot-required", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dialog := fs.String("dialog", "", "")
	if err := fs.Parse(args); err != nil {
		return usagef("watch-reboot-required: %v", err)
	}
	if fs.NArg() > 0 {
		return &usageError{i18n.G("watch-reboot-required takes no arguments")}
	}
	path, err := dialogPath(*dialog)
	if err != nil {
		return err
	}
	bootID, err := bootid.Read(ctx.m.live.Proc)
	if err != nil {
		return err
	}
	stateDir, err := notify.StateDir(os.Getenv)
	if err != nil {
		return err
	}
	bus, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("cannot connect to the session bus: %w", err)
	}
	defer bus.Close()

	w := &notify.Watcher{
		Root:     ctx.Root,
		StateDir: stateDir,
		BootID:   bootID,
		Bus:      bus,
		Launch:   notify.LaunchDialog(path),
		Logf: func(format string, a ...any) {
			fmt.Fprintf(ctx.Stderr, "%s: %s\n", prog, fmt.Sprintf(format, a...))
		},
	}
	if isLive(ctx.Root) {
		w.QuickAvailable = quickAvailable
	}
	runCtx, stop := ctx.m.watchContext()
	defer stop()
	return w.Run(runCtx)
}

// dialogPath finds the dialog: the --dialog flag, then PATH, then next to
// this program (a build tree).
func dialogPath(flagged string) (string, error) {
	if flagged != "" {
		if !filepath.IsAbs(flagged) {
			return "", &usageError{i18n.G("--dialog needs an absolute path")}
		}
		return flagged, nil
	}
	if p, err := exec.LookPath("rapidreboot"); err == nil {
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "rapidreboot")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("cannot find the dialog: rapidreboot is not on PATH")
}

// quickAvailable asks the helper whether Quick Restart can be armed now,
// so the notification never offers what the dialog would then refuse.
// GetPlan needs no authorisation; any error means "do not offer it".
func quickAvailable(ctx context.Context) notify.Availability {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return notify.Availability{}
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := busapi.NewClient(conn).GetPlan(ctx)
	if err != nil {
		return notify.Availability{}
	}
	return notify.Availability{
		Quick: p.Available,
		Why:   p.Sentence(i18n.G),
		Wait:  !p.Available && p.Reason == reason.PackageManager,
	}
}
