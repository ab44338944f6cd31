package logind_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

type rebooter struct {
	noFlags bool
	blocker *logind.Inhibitor
	calls   []string
}

func (r *rebooter) RebootWithFlags(ctx context.Context, flags uint64) error {
	r.calls = append(r.calls, fmt.Sprintf("RebootWithFlags(%#x)", flags))
	if r.noFlags {
		return fmt.Errorf("%w: unknown method", logind.ErrNoFlags)
	}
	return nil
}

func (r *rebooter) Reboot(ctx context.Context, interactive bool) error {
	r.calls = append(r.calls, fmt.Sprintf("Reboot(%v)", interactive))
	return nil
}

func (r *rebooter) ShutdownBlocker(ctx context.Context) (*logind.Inhibitor, error) {
	return r.blocker, nil
}

func TestRebootCleanlyHonoursBlockInhibitorsWithAndWithoutFlags(t *testing.T) {
	block := &logind.Inhibitor{What: "shutdown", Who: "Installer", Why: "writing the boot loader", Mode: "block"}
	for _, c := range []struct {
		desc    string
		r       *rebooter
		calls   string
		refused bool
	}{
		{"systemd 248+", &rebooter{}, "[RebootWithFlags(0x1)]", false},
		{"older logind", &rebooter{noFlags: true}, "[RebootWithFlags(0x1) Reboot(false)]", false},
		{"older logind, a block inhibitor", &rebooter{noFlags: true, blocker: block}, "[RebootWithFlags(0x1)]", true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			err := logind.RebootCleanly(context.Background(), c.r)
			if got := fmt.Sprint(c.r.calls); got != c.calls {
				t.Errorf("calls %s, want %s", got, c.calls)
			}
			if c.refused != (reason.CodeOf(err) == reason.Inhibited) || (!c.refused && err != nil) {
				t.Errorf("err = %v", err)
			}
		})
	}
}
