package restartkind

import (
	"fmt"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Why is the one line that says why a of this kind is recommended,
// translated with tr (nil: English); "" when there is nothing to say
// (nothing pending, or Quick Restart unavailable: the plan's reason is
// the line then).
func Why(tr func(string) string, a Advice) string {
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
