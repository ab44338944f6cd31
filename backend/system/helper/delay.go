package helper

import (
	"context"
	"time"
)

// The shutdown delay during a load (issue 16, "Faster than a bare kexec").
//
// A restart that another program asks for while an Arm loads (the dialog
// itself asks the session manager only once Arm has returned; its load is
// mostly done before the click by Prepare, prepare.go) must not start the
// shutdown before the arm is written: while the kernel is loaded and armed, the helper holds a logind
// "delay" inhibitor on "shutdown". logind sends PrepareForShutdown(true),
// waits for every delay lock — at most InhibitDelayMaxSec, 5 s by
// default — and only then starts reboot.target, whose early ExecStop
// (`rapidreboot-shutdown --verify`) and the hook at the very end find the
// arm. A load slower than the bound loses the race: the shutdown starts
// without a written arm, the caller is killed with its session (so
// BeforeArm's still-there check undoes the load) or the helper is stopped
// (an image with only the loaded mark, which the hook unloads), and the
// restart is a normal, firmware one. docs/reboot-design.md §9 argues the
// bound.

// DelayWho and DelayWhy are the inhibitor's "who" and "why", which
// ListInhibitors (and so `systemd-inhibit --list` and desktops' lists)
// show.
const (
	DelayWho = "rapidreboot"
	DelayWhy = "Loading the kernel for Quick Restart"
)

// delayTimeout bounds taking the inhibitor: it is an optimisation of the
// ordering, never a reason to hold up or refuse an Arm.
const delayTimeout = 2 * time.Second

// holdShutdown takes the delay inhibitor (Config.DelayShutdown) and returns
// its release. Failing to take it costs only the ordering (a restart
// asked meanwhile may not wait for the load), so it is logged and the Arm
// goes on.
func (h *Helper) holdShutdown() func() {
	if h.cfg.DelayShutdown == nil {
		return func() {}
	}
	ctx, cancel := context.WithTimeout(context.Background(), delayTimeout)
	defer cancel()
	release, err := h.cfg.DelayShutdown(ctx)
	if err != nil {
		h.cfg.Log.Warning("cannot delay a shutdown while the kernel loads (a restart asked now may be a normal one): %v", err)
		return func() {}
	}
	return release
}
