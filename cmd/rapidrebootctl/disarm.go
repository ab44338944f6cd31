package main

import (
	"context"
	"fmt"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
)

func init() {
	commands["disarm"] = command{
		run:  runDisarm,
		help: i18n.N_("unload the kernel again: the next restart is a normal one"),
	}
}

func runDisarm(ctx *cliContext, args []string) error {
	if len(args) > 0 {
		return &usageError{i18n.G("disarm takes no arguments")}
	}
	if err := disarmVia(ctx); err != nil {
		return err
	}
	if ctx.JSON {
		return writeJSON(ctx.Stdout, struct {
			Armed bool `json:"armed"`
		}{false})
	}
	fmt.Fprintln(ctx.Stdout, i18n.G("Disarmed: the next restart is a normal one."))
	return nil
}

func disarmVia(ctx *cliContext) error {
	local, err := inProcess(ctx)
	if err != nil {
		return err
	}
	if local {
		t, err := ctx.m.newRootTarget(ctx.Root)
		if err != nil {
			return err
		}
		return t.disarm()
	}
	return ctx.m.callHelper(func(cctx context.Context, c *busapi.Client) error {
		return c.Disarm(cctx)
	})
}
