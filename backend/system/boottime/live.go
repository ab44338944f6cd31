package boottime

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// Live says where Gather looks.
type Live struct {
	Root string     // "/": /var/lib/rapidreboot and /etc/default/grub
	Sys  string     // "/sys"; "": no FPDT (another system's root)
	Bus  *dbus.Conn // the system bus, for systemd's Manager; nil: not asked
	// Target reads the boot loader's configuration; zero: host.New(Root).
	Target *host.Target
}

// systemdTimeout bounds the question to systemd: the figure is worth less
// than a slow GetPlan.
const systemdTimeout = time.Second

// Gather reads every source and computes the report. Nothing here is an
// error for the caller: a source that cannot be read is left out, and the
// errors of the history and the FPDT are returned for the log.
func (l Live) Gather(ctx context.Context) (Report, []error) {
	var in Inputs
	var errs []error
	d, err := armstate.OpenDirIn(l.Root, armstate.StateDir, false)
	if err == nil {
		in.History, err = ReadGaps(d)
		d.Close()
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if l.Sys != "" {
		if r, err := ReadSysfs(l.Sys); err == nil {
			in.FPDT = &r
		} else if !IsNoRecord(err) {
			errs = append(errs, err)
		}
	}
	if l.Bus != nil {
		cctx, cancel := context.WithTimeout(ctx, systemdTimeout)
		s, err := SystemdSpan(cctx, l.Bus)
		cancel()
		// Not an error for the log: systemd is one optional source, and
		// a bus without it (a container, a test bus) is no news.
		if err == nil {
			in.Systemd = s
		}
	}
	t := host.New(l.Root)
	if l.Target != nil {
		t = *l.Target
	}
	if m, ok := MenuTimeout(t); ok {
		in.MenuTimeout = &m
	}
	return Compute(in), errs
}
