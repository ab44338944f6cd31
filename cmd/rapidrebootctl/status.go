package main

import (
	"context"
	"fmt"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
)

func init() {
	commands["status"] = command{
		run:  runStatus,
		help: i18n.N_("show whether Quick Restart is armed and possible, and what it would boot"),
	}
}

func runStatus(ctx *cliContext, args []string) error {
	if len(args) > 0 {
		return &usageError{i18n.G("status takes no arguments")}
	}
	local, err := inProcess(ctx)
	if err != nil {
		return err
	}
	var st status
	if local {
		t, err := ctx.m.newRootTarget(ctx.Root)
		if err != nil {
			return err
		}
		_, w, _ := t.plan()
		st = statusOf(t.armed(), w)
	} else {
		if err := ctx.m.callHelper(func(cctx context.Context, c *busapi.Client) error {
			p, err := c.GetPlan(cctx)
			if err != nil {
				return err
			}
			armed, err := c.Armed(cctx)
			if err != nil {
				return err
			}
			st = statusOf(armed, p)
			st.Advice, err = getAdvice(cctx, c)
			return err
		}); err != nil {
			return err
		}
	}
	if ctx.JSON {
		return writeStatusJSON(ctx, local, st)
	}
	printStatus(ctx, st)
	return nil
}

// yesNo is b as the status lines write it.
func yesNo(b bool) string {
	if b {
		return i18n.G("yes")
	}
	return i18n.G("no")
}

func printStatus(ctx *cliContext, st status) {
	w := ctx.Stdout
	fmt.Fprintf(w, "%-9s %s\n", i18n.G("Armed:"), yesNo(st.Armed))
	if st.Available {
		fmt.Fprintf(w, "%-9s %s\n", i18n.G("Possible:"), yesNo(true))
	} else {
		fmt.Fprintf(w, "%-9s %s: %s\n", i18n.G("Possible:"), yesNo(false), st.Message)
	}
	printAdvice(ctx, st.Advice)
	if st.Plan != nil {
		printPlan(ctx, st.Plan)
	}
}
