//go:build integration

package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/advice"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// Issue 16's commands against the real helper (fake-kexec build) on a
// private system bus, with polkit, logind and systemd stand-ins.
func TestColdRebootAndSoftRestartThroughTheRealHelper(t *testing.T) {
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
	bustest.NewSystemdStandIn(t, bus, "257.9-1~deb13u1", map[string]string{"systemd-soft-reboot.service": "static"})
	setInteractive(t, false)
	pk.Always(bustest.Allow)

	code, out, errs := ctl(t, "status")
	if code != 0 || !strings.Contains(out, "Recommended: Restart") || !strings.Contains(out, "Next restart normal (coldreboot): no") ||
		!strings.Contains(out, "Soft restart possible: yes") {
		t.Errorf("status: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := ctl(t, "arm"); code != 0 || !kexectest.LoadedIn(root) {
		t.Fatalf("arm: %d %s %s", code, out, errs)
	}
	if code, out, errs := ctl(t, "coldreboot"); code != 0 || kexectest.LoadedIn(root) || !strings.Contains(out, "normal one") {
		t.Errorf("coldreboot: %d %s %s (loaded %v)", code, out, errs, kexectest.LoadedIn(root))
	}
	code, out, errs = ctl(t, "status", "--json")
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 {
		t.Fatalf("status --json: %d %s %s", code, out, errs)
	}
	if st.Available || st.Reason != reason.ColdReboot || st.Advice == nil || !st.Advice.ColdReboot ||
		st.Advice.Kind != advice.Full || st.Advice.Code != advice.ColdReboot {
		t.Errorf("status --json while set: %s", out)
	}
	if code, out, errs := ctl(t, "restart", "--quick"); code != 1 || !strings.Contains(errs, "normal one") {
		t.Errorf("restart --quick while set: %d %s %s", code, out, errs)
	}
	if code, out, errs := ctl(t, "coldreboot", "--clear"); code != 0 || !strings.Contains(out, "offered again") {
		t.Errorf("coldreboot --clear: %d %s %s", code, out, errs)
	}
	if code, out, errs := ctl(t, "restart", "--soft"); code != 0 || !strings.Contains(out, "Soft restart started") {
		t.Errorf("restart --soft: %d %s %s", code, out, errs)
	}
	if rb := li.Reboots(); len(rb) != 1 || rb[0] != "RebootWithFlags(0x5) uid=0" {
		t.Errorf("logind calls = %v", rb)
	}
	if code, _, errs := ctl(t, "restart", "--soft", "--quick"); code != 2 || !strings.Contains(errs, "exclude") {
		t.Errorf("--soft --quick: %d %s", code, errs)
	}
}

// A soft restart scheduled for the end of a session (the dialog's Restart
// Apps Only under a session manager) shows in status and status --json
// until it is cancelled.
func TestStatusShowsAPendingSoftRestart(t *testing.T) {
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
	bustest.NewLogindStandIn(t, bus)
	bustest.NewSystemdStandIn(t, bus, "257.9-1~deb13u1", map[string]string{"systemd-soft-reboot.service": "static"})
	setInteractive(t, false)
	pk.Always(bustest.Allow)

	pending := func() bool {
		t.Helper()
		code, out, errs := ctl(t, "status", "--json")
		var st status
		if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || st.Advice == nil {
			t.Fatalf("status --json: %d %s %s", code, out, errs)
		}
		return st.Advice.SoftPending
	}
	if pending() {
		t.Fatal("a soft restart pending before any was asked for")
	}
	c := busapi.NewClient(bustest.NewConn(t, bus))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.SoftRestartAfterLogout(ctx, false); err != nil {
		t.Fatal(err)
	}
	if !pending() {
		t.Error("status --json: soft_restart_pending false while one is scheduled")
	}
	if code, out, errs := ctl(t, "status"); code != 0 || !strings.Contains(out, "Soft restart after log out pending: yes") {
		t.Errorf("status: %d\n%s%s", code, out, errs)
	}
	if err := c.CancelSoftRestart(ctx); err != nil {
		t.Fatal(err)
	}
	if pending() {
		t.Error("status --json: soft_restart_pending true after the cancel")
	}
}
