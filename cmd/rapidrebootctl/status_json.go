package main

import (
	"context"
	"path/filepath"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// statusJSON is `status --json`: the status, and what a Quick Restart
// saves on this machine with the figures it was chosen from
// (docs/boottime.md). time_saved.seconds is null where nothing was
// measured; scripts must not guess then either.
type statusJSON struct {
	status
	TimeSaved boottime.Report `json:"time_saved"`
	// Advisories are warnings with a code a script can branch on
	// (nvidia-driver: a normal Restart is the safe choice). Running
	// system only: they describe the loaded kernel, not a --root.
	Advisories []advisory `json:"advisories"`
}

type advisory struct {
	Code    reason.Code `json:"code"`
	Message string      `json:"message"`
}

// helperTimeSaved is the running system's figures, from the helper.
func (m *machine) helperTimeSaved() boottime.Report {
	c, done, err := m.helperConn()
	if err != nil {
		return boottime.Report{}
	}
	defer done()
	cctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	w, err := c.GetTimeSaved(cctx)
	if err != nil {
		// An older helper (UnknownMethod) or none: nothing measured.
		return boottime.Report{}
	}
	return boottime.FromWire(w)
}

// writeStatusJSON prints st with the time saved: the helper's for the
// running system (the history is root's, the helper reads it), and for
// --root the target's own history and boot loader configuration, read
// here (root only, checked before), without this machine's firmware
// figures.
func writeStatusJSON(ctx *cliContext, local bool, st status) error {
	out := statusJSON{status: st, Advisories: []advisory{}}
	if !local {
		for _, a := range preflight.Advisories(ctx.m.live) {
			out.Advisories = append(out.Advisories, advisory{Code: a.Code, Message: reason.Sentence(i18n.G, a.Code, a.Detail)})
		}
	}
	if local {
		root, err := filepath.Abs(ctx.Root)
		if err != nil {
			return err
		}
		out.TimeSaved, _ = boottime.Live{Root: root}.Gather(context.Background())
	} else {
		out.TimeSaved = ctx.m.helperTimeSaved()
	}
	return writeJSON(ctx.Stdout, out)
}
