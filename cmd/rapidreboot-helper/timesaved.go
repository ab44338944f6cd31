package main

import (
	"context"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
)

// timeSaved is GetPlan's figure of what a Quick Restart saves: the state
// directory's history and the boot loader's configuration under the
// helper's root, the FPDT under its /sys, and systemd's Manager on the
// bus the helper serves on. A source that cannot be read is logged and
// left out.
func timeSaved(p paths, conn *dbus.Conn, log *helper.Logger) func(context.Context) boottime.Report {
	l := boottime.Live{Root: p.root, Sys: p.sys, Bus: conn}
	var said sync.Map // each distinct problem once: GetPlan is anyone's to call (issue 12 item 7)
	return func(ctx context.Context) boottime.Report {
		r, errs := l.Gather(ctx)
		for _, err := range errs {
			if _, dup := said.LoadOrStore(err.Error(), true); !dup {
				log.Warning("what Quick Restart saves: %v", err)
			}
		}
		return r
	}
}
