package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rapidreboot/rapidreboot/backend/armstate"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

func init() {
	commands["clear-failed"] = command{
		run:  runClearFailed,
		help: i18n.N_("switch Quick Restart back on after a Quick Restart that did not come up"),
	}
}

// runClearFailed removes the last-kexec-failed marker (docs/reboot-design.md,
// attack list row 42). It is the admin's decision, so it needs root and
// does not go through the helper.
func runClearFailed(ctx *cliContext, args []string) error {
	if len(args) > 0 {
		return &usageError{i18n.G("clear-failed takes no arguments")}
	}
	if os.Geteuid() != 0 {
		return reason.New(reason.NotRoot, "")
	}
	if err := armstate.ClearFailed(filepath.Join(ctx.Root, armstate.StateDir)); err != nil {
		return fmt.Errorf("cannot clear the failed-Quick-Restart marker: %w", err)
	}
	if ctx.JSON {
		return writeJSON(ctx.Stdout, struct {
			Cleared bool `json:"cleared"`
		}{true})
	}
	fmt.Fprintln(ctx.Stdout, i18n.G("Quick Restart is switched on again."))
	return nil
}
