package control

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// Without a system bus the real system says so in a way the controller
// can tell (errNoSystemBus), and the helper's stand-in for the runner
// refuses with it instead of a nil client.
func TestWithoutASystemBusThePlanSaysTheBusIsMissing(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	b := newBusSystem(t.TempDir(), t.TempDir())
	if _, err := b.Plan(context.Background()); !errors.Is(err, errNoSystemBus) {
		t.Errorf("Plan: %v, want errNoSystemBus", err)
	}
	if err := b.Helper().Disarm(context.Background()); !errors.Is(err, errNoSystemBus) {
		t.Errorf("Disarm: %v, want errNoSystemBus", err)
	}
	if inh := b.Inhibitors(context.Background(), nil); inh != nil {
		t.Errorf("inhibitors %v without any bus", inh)
	}
}
