package main

import (
	"context"
	"fmt"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
)

func init() {
	commands["arm"] = command{
		run:  runArm,
		help: i18n.N_("load the planned kernel so that the next restart is a Quick Restart"),
	}
}

func runArm(ctx *cliContext, args []string) error {
	if len(args) > 0 {
		return &usageError{i18n.G("arm takes no arguments")}
	}
	p, err := armVia(ctx)
	if err != nil {
		return err
	}
	if ctx.JSON {
		return writeJSON(ctx.Stdout, statusOf(true, p))
	}
	fmt.Fprintf(ctx.Stdout, i18n.G("Armed: the next restart starts Linux %s directly (%s).")+"\n", p.Version, p.Kernel)
	return nil
}

// armVia arms through the helper, or in this process for --root.
func armVia(ctx *cliContext) (busapi.Plan, error) {
	local, err := inProcess(ctx)
	if err != nil {
		return busapi.Plan{}, err
	}
	if local {
		t, err := ctx.m.newRootTarget(ctx.Root)
		if err != nil {
			return busapi.Plan{}, err
		}
		return t.arm()
	}
	var p busapi.Plan
	err = ctx.m.callHelper(func(cctx context.Context, c *busapi.Client) (err error) {
		c.WakeAuthority()
		p, err = c.Arm(cctx, ctx.m.interactive())
		return err
	})
	return p, err
}
