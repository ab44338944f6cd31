package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/coldreboot"
)

func init() {
	commands["coldreboot"] = command{
		run:  runColdReboot,
		help: i18n.N_("make the next restart a normal one (Quick Restart not offered until then); --clear undoes it"),
	}
}

// runColdReboot sets or clears the "next restart is a normal one" flag
// through the helper, which asks polkit (quick-restart) and disarms. With
// --root, as root, the running system's flag is written here, as the arm
// is (the flag belongs to the running system, whatever the target).
func runColdReboot(ctx *cliContext, args []string) error {
	fs := flag.NewFlagSet("coldreboot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	clear := fs.Bool("clear", false, "")
	if err := fs.Parse(args); err != nil {
		return usagef("coldreboot: %v", err)
	}
	if fs.NArg() > 0 {
		return &usageError{i18n.G("coldreboot takes no arguments but --clear")}
	}
	local, err := inProcess(ctx)
	if err != nil {
		return err
	}
	if local {
		if *clear {
			err = coldreboot.Clear(armstate.RunDir)
		} else {
			if t, terr := ctx.m.newRootTarget(ctx.Root); terr != nil {
				return terr
			} else if err = coldreboot.Set(armstate.RunDir, 0, time.Now()); err == nil {
				err = t.disarm()
			}
		}
	} else {
		err = ctx.m.callHelper(func(cctx context.Context, c *busapi.Client) error {
			if *clear {
				return c.ClearColdReboot(cctx, ctx.m.interactive())
			}
			return c.SetColdReboot(cctx, ctx.m.interactive())
		})
	}
	if err != nil {
		return err
	}
	if ctx.JSON {
		return writeJSON(ctx.Stdout, struct {
			ColdReboot bool `json:"coldreboot"`
		}{!*clear})
	}
	if *clear {
		fmt.Fprintln(ctx.Stdout, i18n.G("Cleared: Quick Restart is offered again."))
	} else {
		fmt.Fprintln(ctx.Stdout, i18n.G("The next restart will be a normal one; Quick Restart is not offered until then."))
	}
	return nil
}

// restartSoft is `restart --soft`: the helper decides whether the running
// systemd can restart userspace only and asks logind, honouring
// inhibitors. Not with --root: a target that is not running has no
// userspace to restart.
func restartSoft(ctx *cliContext) error {
	local, err := inProcess(ctx)
	if err != nil {
		return err
	}
	if local {
		return &usageError{i18n.G("restart --soft restarts the running system; it takes no --root")}
	}
	if err := ctx.m.callHelper(func(cctx context.Context, c *busapi.Client) error {
		c.WakeAuthority()
		return c.SoftRestart(cctx, ctx.m.interactive())
	}); err != nil {
		return err
	}
	if ctx.JSON {
		return writeJSON(ctx.Stdout, struct {
			Restarting bool `json:"restarting"`
			Soft       bool `json:"soft"`
		}{true, true})
	}
	fmt.Fprintln(ctx.Stdout, i18n.G("Soft restart started: the programs restart, the kernel keeps running."))
	return nil
}
