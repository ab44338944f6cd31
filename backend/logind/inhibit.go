package logind

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/godbus/dbus/v5"
)

// Inhibit takes an inhibitor lock: what ("shutdown", "sleep", …, joined
// by ':'), who and why (shown by ListInhibitors and desktops), mode
// ("block" or "delay"). The lock is held while the returned file is open;
// close it to release. logind keeps every copy of the descriptor counted,
// so the process that took it must not leak it into children.
//
// A "delay" lock on "shutdown" makes logind send PrepareForShutdown(true)
// and then wait, at most InhibitDelayMaxSec (5 s by default,
// logind.conf(5)), until every delay lock is released before it starts the
// shutdown.
func (m *Manager) Inhibit(ctx context.Context, what, who, why, mode string) (*os.File, error) {
	var fd dbus.UnixFD
	if err := m.obj.CallWithContext(ctx, ManagerInterface+".Inhibit", 0, what, who, why, mode).Store(&fd); err != nil {
		return nil, fmt.Errorf("cannot take a %s inhibitor on %s: %w", mode, what, err)
	}
	if fd < 0 {
		return nil, fmt.Errorf("cannot take a %s inhibitor on %s: logind sent no file descriptor", mode, what)
	}
	// godbus receives descriptors without O_CLOEXEC: a child (kexec-tools)
	// must not keep the lock alive.
	syscall.CloseOnExec(int(fd))
	return os.NewFile(uintptr(fd), "logind-inhibitor"), nil
}
