package hook

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/bootid"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
)

// Clocks is what the boot time measurement reads besides Config: the
// kernel's start on the wall clock and where Linux shows the FPDT.
type Clocks struct {
	Sys string // "/sys"; "" reads no FPDT
	// KernelStart is the wall clock minus the time since boot.
	KernelStart func() (time.Time, error)
}

// LiveClocks reads the running kernel's clocks.
func LiveClocks() Clocks { return Clocks{Sys: "/sys", KernelStart: KernelStart} }

// KernelStart is CLOCK_REALTIME − CLOCK_BOOTTIME: when this kernel
// started, on the wall clock as it is set now (early in the boot: from
// the RTC, to the second).
func KernelStart() (time.Time, error) {
	var rt, bt unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &rt); err != nil {
		return time.Time{}, err
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt); err != nil {
		return time.Time{}, err
	}
	return time.Unix(rt.Unix()).Add(-time.Duration(bt.Nano())), nil
}

// RecordShutdown runs at the end of --verify (ExecStop of
// rapidreboot-boot.service), at every shutdown, armed or not: the last
// point where /var is still written and the journal still runs. It keeps
// the wall-clock time and the kind of shutdown for the next boot's
// BootGap (docs/boottime.md). A failure is logged and changes nothing
// else.
func RecordShutdown(c Config) {
	id, err := bootid.Read(c.Proc)
	if err != nil {
		c.logf("boot time: %v", err)
		return
	}
	target := c.Sys.ShutdownTarget()
	d, err := armstate.OpenDirIn(c.Root, armstate.StateDir, true)
	if err != nil {
		c.logf("boot time: %v", err)
		return
	}
	defer d.Close()
	if err := boottime.RecordShutdown(d, boottime.Shutdown{BootID: id, At: c.now(), Target: target}); err != nil {
		c.logf("boot time: %v", err)
	}
}

// BootGap runs after Boot (--boot), early in every boot: the gap from the
// last shutdown's record to this kernel's start, kept by the kind of this
// boot (armstate.DetectBoot: kexec or firmware), and at a firmware boot
// the FPDT record. It returns the line it logged.
func BootGap(c Config, k Clocks) string {
	id, err := bootid.Read(c.Proc)
	if err != nil {
		c.logf("boot time: %v", err)
		return ""
	}
	b := boottime.Boot{BootID: id, Kind: armstate.DetectBoot(c.Proc)}
	if k.KernelStart != nil {
		if b.KernelStart, err = k.KernelStart(); err != nil {
			c.logf("boot time: %v", err)
		}
	}
	if k.Sys != "" {
		if r, err := boottime.ReadSysfs(k.Sys); err == nil {
			b.FPDT = &r
		}
	}
	d, err := armstate.OpenDirIn(c.Root, armstate.StateDir, true)
	if err != nil {
		c.logf("boot time: %v", err)
		return ""
	}
	defer d.Close()
	note, err := boottime.AtBoot(d, b)
	if err != nil {
		c.logf("boot time: %v", err)
		return ""
	}
	if note != "" {
		c.logf("%s", note)
	}
	return note
}
