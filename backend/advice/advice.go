// Package advice is the vocabulary of the restart-kind advice, shared by
// the side that decides it (backend/system/restartkind, in the root helper) and
// the sides that show it (the dialog, rapidrebootctl, through busapi): the
// kinds, the codes that say why, and the one line of why each gets. It
// reads nothing and imports nothing of the root side, so the session side
// can render the advice without linking the code that gathers it.
package advice

import (
	"fmt"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Kind is a recommended restart. The strings travel over D-Bus and in
// `rapidrebootctl status --json`.
type Kind string

const (
	Full  Kind = "full"
	Quick Kind = "quick"
	Soft  Kind = "soft"
)

// Code says why Kind was chosen. Stable strings, like reason codes.
type Code string

const (
	// Nothing: no pending change was found.
	Nothing Code = "nothing-pending"
	// ColdReboot: the user asked that the next restart be a normal one.
	ColdReboot Code = "cold-reboot"
	// Firmware: a firmware update waits in the firmware (fwupd capsule,
	// BootNext, capsule on disk), Detail names the signal.
	Firmware Code = "firmware-update"
	// BootLoader: a boot loader package was upgraded (Detail: the package).
	BootLoader Code = "boot-loader-update"
	// Kernel: a different kernel is planned, or the running one's package
	// was upgraded (Detail: the planned version).
	Kernel Code = "kernel-update"
	// Cmdline: the planned kernel command line differs from the running one
	// (Detail: the planned version).
	Cmdline Code = "cmdline-changed"
	// Microcode: new CPU microcode, applied when a kernel starts.
	Microcode Code = "microcode-update"
	// Userspace: libraries or services only (Detail: up to three names).
	Userspace Code = "userspace-update"
	// QuickUnavailable: a kernel-level change, but Quick Restart cannot be
	// armed now (the plan's reason says why), so a normal restart.
	QuickUnavailable Code = "quick-unavailable"
)

// Advice is a recommendation: restartkind.Decide's answer, and the part of
// busapi.Advice that its line of why is made from.
type Advice struct {
	Kind   Kind
	Code   Code
	Detail string // the why line's datum: a version, a package, a signal
	// QuickOffered: Quick Restart may still be offered (not a firmware or
	// boot loader change, no coldreboot flag): the dialog keeps it
	// reachable behind Shift/Ctrl when it is not the recommendation.
	QuickOffered bool
}

// Why is the one line that says why a restart of this kind is recommended,
// translated with tr (nil: English); "" when there is nothing to say
// (nothing pending, or Quick Restart unavailable: the plan's reason is
// the line then).
func (a Advice) Why(tr func(string) string) string {
	if tr == nil {
		tr = func(s string) string { return s }
	}
	with := func(withDetail, without string) string {
		if a.Detail == "" {
			return tr(without)
		}
		return fmt.Sprintf(tr(withDetail), a.Detail)
	}
	switch a.Code {
	case ColdReboot:
		return reason.Sentence(tr, reason.ColdReboot, "")
	case Firmware:
		return with(reason.N_("A firmware update is waiting for a normal restart (%s), so Quick Restart is not offered."),
			reason.N_("A firmware update is waiting for a normal restart, so Quick Restart is not offered."))
	case BootLoader:
		return with(reason.N_("The boot loader was updated (%s) and starts only in a normal restart, so Quick Restart is not offered."),
			reason.N_("The boot loader was updated and starts only in a normal restart, so Quick Restart is not offered."))
	case Kernel:
		return with(reason.N_("A new kernel was installed: Quick Restart starts Linux %s."),
			reason.N_("A new kernel was installed: Quick Restart starts it."))
	case Cmdline:
		return with(reason.N_("The kernel command line was changed: Quick Restart starts Linux %s with the new one."),
			reason.N_("The kernel command line was changed: Quick Restart starts the kernel with the new one."))
	case Microcode:
		return tr(reason.N_("New processor microcode was installed: Quick Restart loads it."))
	case Userspace:
		if a.Kind == Soft {
			return with(reason.N_("Only programs were updated (%s): restarting them without the kernel is enough."),
				reason.N_("Only programs were updated: restarting them without the kernel is enough."))
		}
		return with(reason.N_("Only programs were updated (%s): Quick Restart is enough."),
			reason.N_("Updates are waiting for a restart: Quick Restart is enough."))
	}
	return ""
}
