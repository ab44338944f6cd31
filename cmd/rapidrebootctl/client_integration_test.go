//go:build integration

package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// rapidrebootctl against the real helper binary (fake-kexec build), D-Bus
// activated on a private system bus, with polkit and logind stand-ins.
func TestTheCommandsDriveTheRealHelper(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the helper's fake root must be root's")
	}
	dir := bustest.ShortDir(t)
	root := bustest.NewHelperRoot(t)
	log := bustest.NewLogSink(t, dir)
	bus, err := bustest.StartSystemBus(dir, bustest.Activation(bustest.HelperBinary(t),
		"--test-root="+root, "--log-socket="+log.Path, "--idle-timeout=1m"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Stop)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.Addr)
	pk := bustest.NewPolkitStandIn(t, bus)
	li := bustest.NewLogindStandIn(t, bus)
	setInteractive(t, false)

	code, out, errs := ctl(t, "status", "--json")
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || st.Armed || !st.Available || st.Plan.Kernel != bustest.RootKernel {
		t.Fatalf("status: %d %s %s", code, out, errs)
	}
	code, _, errs = ctl(t, "arm")
	if code != 1 || !strings.Contains(errs, "not allowed") {
		t.Errorf("arm denied by the polkit stand-in: %d %s", code, errs)
	}
	pk.Always(bustest.Allow)
	if code, out, errs := ctl(t, "arm"); code != 0 || !kexectest.LoadedIn(root) {
		t.Errorf("arm: %d %s %s", code, out, errs)
	}
	if code, out, _ := ctl(t, "status"); code != 0 || !strings.Contains(out, "Armed:    yes") {
		t.Errorf("status after arm: %d\n%s", code, out)
	}
	if code, out, errs := ctl(t, "disarm"); code != 0 || kexectest.LoadedIn(root) {
		t.Errorf("disarm: %d %s %s", code, out, errs)
	}
	if code, out, errs := ctl(t, "restart", "--quick"); code != 0 || !kexectest.LoadedIn(root) {
		t.Errorf("restart --quick: %d %s %s", code, out, errs)
	}
	if rb := li.Reboots(); len(rb) != 1 || rb[0] != "RebootWithFlags(0x1) uid=0" {
		t.Errorf("logind calls = %v", rb)
	}
}
