package logind

import (
	"context"
	"errors"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Rebooter is what RebootCleanly asks; *Manager is one.
type Rebooter interface {
	RebootWithFlags(ctx context.Context, flags uint64) error
	Reboot(ctx context.Context, interactive bool) error
	ShutdownBlocker(ctx context.Context) (*Inhibitor, error)
}

// RebootCleanly asks logind, as root, for a clean reboot that honours
// "block" inhibitors: RebootWithFlags(FlagRootCheckInhibitors). logind
// older than systemd 248 has no flags, and its Reboot ignores block
// inhibitors for root: there a block inhibitor on shutdown is looked up
// first and refused as reason.Inhibited, and only then Reboot(false) is
// asked. The helper's QuickRestart and `rapidrebootctl --root restart
// --quick` both restart through here.
func RebootCleanly(ctx context.Context, r Rebooter) error {
	err := r.RebootWithFlags(ctx, FlagRootCheckInhibitors)
	if !errors.Is(err, ErrNoFlags) {
		return err
	}
	if b, berr := r.ShutdownBlocker(ctx); berr == nil && b != nil {
		return reason.New(reason.Inhibited, b.Name())
	}
	return r.Reboot(ctx, false)
}
