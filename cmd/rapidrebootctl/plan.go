package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
)

func init() {
	commands["plan"] = command{
		run:  runPlan,
		help: i18n.N_("show what a Quick Restart would boot (kernel, initrds, command line) and why"),
	}
}

// isLive reports whether root is the running system's own root.
func isLive(root string) bool {
	a, err1 := os.Stat(root)
	b, err2 := os.Stat("/")
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func runPlan(ctx *cliContext, args []string) error {
	if len(args) > 0 {
		return &usageError{i18n.G("plan takes no arguments")}
	}
	plan, err := ctx.m.computePlan(ctx.Root)
	if err != nil && isLive(ctx.Root) && ctx.m.euid() != 0 {
		// Debian's update-grub writes grub.cfg 0600: a user cannot read
		// the boot loader's configuration, the helper can.
		if p := ctx.m.planFromHelper(); p != nil {
			plan, err = p, nil
		}
	}
	if err != nil {
		return err
	}
	if ctx.JSON {
		return writeJSON(ctx.Stdout, plan)
	}
	printPlan(ctx, plan)
	return nil
}

// planFromHelper asks the helper for the running system's plan, or
// returns nil.
func (m *machine) planFromHelper() *bootplan.Plan {
	var p busapi.Plan
	err := m.callHelper(func(cctx context.Context, c *busapi.Client) (err error) {
		p, err = c.GetPlan(cctx)
		return err
	})
	if err != nil {
		return nil
	}
	return fromWire(p)
}

// computePlan plans the running system with bootplan.LiveOptions (the
// live /proc/cmdline, capped, and GRUB's platform: the helper's options)
// only when root is the running system; for any other root it checks the
// preconditions first and never passes the live command line.
func (m *machine) computePlan(root string) (*bootplan.Plan, error) {
	opt := bootplan.Options{}
	if isLive(root) {
		var err error
		if opt, err = bootplan.LiveOptions(m.live.Proc, m.live.Sys); err != nil {
			return nil, err
		}
		root = "/"
	} else {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, reason.Wrap(reason.Precondition, root, err)
		}
		root = abs
		if err := bootplan.CheckRootPreconditions(root); err != nil {
			return nil, err
		}
	}
	return bootplan.Compute(m.target(root), opt)
}

func printPlan(ctx *cliContext, p *bootplan.Plan) {
	w := ctx.Stdout
	row := func(label, value string) { fmt.Fprintf(w, "%-9s %s\n", label, value) }
	row(i18n.G("Kernel:"), p.Kernel)
	v := p.Version
	if v == "" {
		v = i18n.G("(unknown)")
	}
	row(i18n.G("Version:"), v)
	if len(p.Initrd) == 0 {
		row(i18n.G("Initrd:"), i18n.G("(none)"))
	}
	for i, ir := range p.Initrd {
		if i == 0 {
			row(i18n.G("Initrd:"), ir)
		} else {
			row("", ir)
		}
	}
	row(i18n.G("Cmdline:"), p.Cmdline)
	row(i18n.G("Source:"), p.Source)
	fmt.Fprintln(w, i18n.G("Why:"))
	for _, l := range p.Why {
		fmt.Fprintf(w, "  - %s\n", l)
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w, i18n.G("Warnings:"))
		for _, l := range p.Warnings {
			fmt.Fprintf(w, "  - %s\n", l)
		}
	}
}
