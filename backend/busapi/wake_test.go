package busapi_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
)

// TestWakeAuthorityStartsPolkitWithoutWaiting: WakeAuthority has the bus activate polkit and
// returns before the activation ends. The activatable "polkit" here is a
// stand-in that only records that the bus started it and then lingers
// without owning the name (so a caller that waited would hang until the
// bus gives up).
func TestWakeAuthorityStartsPolkitWithoutWaiting(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the bus rig")
	}
	bus := bustest.NewSystemBus(t, "")
	started := filepath.Join(bus.Dir, "polkit-started")
	svc := "[D-BUS Service]\nName=" + busapi.PolkitBusName + "\nExec=/bin/sh -c 'touch " + started + "; sleep 3'\nUser=root\n"
	if err := os.WriteFile(filepath.Join(bus.Dir, "system-services", busapi.PolkitBusName+".service"), []byte(svc), 0o644); err != nil {
		t.Fatal(err)
	}
	conn := bustest.NewConn(t, bus)
	if err := conn.BusObject().Call("org.freedesktop.DBus.ReloadConfig", 0).Err; err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	busapi.NewClient(conn).WakeAuthority()
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("WakeAuthority waited %v for polkit", d)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the bus did not start polkit after WakeAuthority")
		}
	}
	// The connection is still usable.
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetId", 0).Err; err != nil {
		t.Errorf("the bus after WakeAuthority: %v", err)
	}
}
