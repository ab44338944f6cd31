//go:build integration

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
)

// status --json against the real helper binary on a private bus: the
// helper reads the root-owned history and answers GetTimeSaved.
func TestStatusJSONReportsTheHelpersMeasuredTimeSaved(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the helper's fake root must be root's")
	}
	dir := bustest.ShortDir(t)
	root := bustest.NewHelperRoot(t)
	state := filepath.Join(root, armstate.StateDir)
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	hist, err := os.ReadFile(filepath.FromSlash("../../backend/system/boottime/testdata/history/boot-gaps"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, boottime.GapsFile), hist, 0o600); err != nil {
		t.Fatal(err)
	}
	log := bustest.NewLogSink(t, dir)
	bus, err := bustest.StartSystemBus(dir, bustest.Activation(bustest.HelperBinary(t),
		"--test-root="+root, "--log-socket="+log.Path, "--idle-timeout=1m"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Stop)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.Addr)
	bustest.NewPolkitStandIn(t, bus)
	bustest.NewLogindStandIn(t, bus)

	code, out, errs := ctl(t, "status", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 {
		t.Fatalf("status --json: %d %v\n%s\n%s", code, err, out, errs)
	}
	ts := st.TimeSaved
	if st.Armed || !st.Available || ts.Seconds == nil || *ts.Seconds != 31.2 || ts.Source != boottime.SourceMeasured || ts.N != 2 ||
		ts.Firmware == nil || ts.Firmware.Median != 41.2 || ts.Firmware.N != 3 || ts.Kexec == nil || ts.Kexec.Median != 10 || ts.Kexec.N != 2 {
		t.Fatalf("status --json:\n%s", out)
	}
}
