package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
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
	if err := clearFailed(ctx.Root); err != nil {
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

// clearFailed removes the marker of the system at root. An installer's
// target is opened inside the root (attack list row 44): a link such as
// /target/run -> /run must not clear the running system's marker.
func clearFailed(root string) error {
	if root == "" || filepath.Clean(root) == "/" {
		return armstate.ClearFailed(armstate.StateDir)
	}
	d, err := armstate.OpenDirIn(root, armstate.StateDir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // nothing marked there
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return d.ClearFailed()
}
