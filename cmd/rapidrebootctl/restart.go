package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

func init() {
	commands["restart"] = command{
		run:  runRestart,
		help: i18n.N_("restart now, cleanly; with --quick straight into the planned kernel; with --soft only the programs, where systemd can"),
	}
}

// runRestart: `restart --quick` asks the helper for QuickRestart (or, with
// --root, arms in this process and asks logind); plain `restart` disarms
// first and asks logind for a normal reboot, so that a forgotten arm can
// never turn it into a kexec. Either way the reboot is logind's: session
// inhibitors and "block" locks are honoured.
func runRestart(ctx *cliContext, args []string) error {
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	quick := fs.Bool("quick", false, "")
	soft := fs.Bool("soft", false, "")
	if err := fs.Parse(args); err != nil {
		return usagef("restart: %v", err)
	}
	if fs.NArg() > 0 {
		return &usageError{i18n.G("restart takes no arguments but --quick or --soft")}
	}
	if *soft {
		if *quick {
			return &usageError{i18n.G("restart: --quick and --soft exclude each other")}
		}
		return restartSoft(ctx)
	}
	local, err := inProcess(ctx)
	if err != nil {
		return err
	}
	switch {
	case *quick && local:
		t, err := ctx.m.newRootTarget(ctx.Root)
		if err != nil {
			return err
		}
		p, err := t.arm()
		if err != nil {
			return err
		}
		if err := ctx.m.reboot(); err != nil {
			// A restart that did not start leaves nothing loaded.
			derr := t.disarm()
			return errors.Join(rebootErr(err), derr)
		}
		return restarting(ctx, true, p.Version)
	case *quick:
		if err := ctx.m.callHelper(func(cctx context.Context, c *busapi.Client) error {
			c.WakeAuthority()
			return c.QuickRestart(cctx, ctx.m.interactive())
		}); err != nil {
			return err
		}
		return restarting(ctx, true, "")
	}
	// A normal restart: nothing may stay armed, and a helper that cannot
	// be reached must not stop it (rule 3: normal restart still works).
	if err := disarmVia(ctx); err != nil {
		fmt.Fprintf(ctx.Stderr, "%s: %s\n", prog, i18n.G("warning: cannot disarm Quick Restart; restarting normally anyway"))
		fmt.Fprintf(ctx.Stderr, "%s: %s\n", prog, message(err))
	}
	if local {
		if err := ctx.m.reboot(); err != nil {
			return rebootErr(err)
		}
		return restarting(ctx, false, "")
	}
	conn, err := ctx.m.systemBus()
	if err != nil {
		return fmt.Errorf("cannot connect to the system bus to restart: %w", err)
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	// logind asks polkit about this caller; interactive lets it ask for a
	// password through an agent.
	if err := logind.New(conn).Reboot(cctx, ctx.m.interactive()); err != nil {
		return rebootErr(err)
	}
	return restarting(ctx, false, "")
}

func rebootErr(err error) error {
	var re *reason.Error
	if errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("logind refused to restart: %w", err)
}

func restarting(ctx *cliContext, quick bool, version string) error {
	if ctx.JSON {
		return writeJSON(ctx.Stdout, struct {
			Restarting bool   `json:"restarting"`
			Quick      bool   `json:"quick"`
			Version    string `json:"version,omitempty"`
		}{true, quick, version})
	}
	if quick {
		fmt.Fprintln(ctx.Stdout, i18n.G("Quick Restart started."))
	} else {
		fmt.Fprintln(ctx.Stdout, i18n.G("Restart started."))
	}
	return nil
}
