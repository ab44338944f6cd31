package bussignal_test

import (
	"runtime"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/bussignal"
)

func sig(name string) *dbus.Signal { return &dbus.Signal{Sender: ":1.9", Path: "/", Name: name} }

// A full channel drops, counts and starts nothing: godbus's default
// handler would start one goroutine per signal here (issue 12, item 5).
func TestAFullChannelDropsWithoutAGoroutinePerSignal(t *testing.T) {
	h := bussignal.New()
	ch := make(chan *dbus.Signal, 4)
	h.AddSignal(ch)
	before := runtime.NumGoroutine()
	for range 10000 {
		h.DeliverSignal("a", "B", sig("a.B"))
	}
	if g := runtime.NumGoroutine(); g > before+2 {
		t.Errorf("goroutines %d after the flood, %d before", g, before)
	}
	if len(ch) != 4 || h.Dropped() != 10000-4 {
		t.Errorf("queued %d, dropped %d; want 4 and %d", len(ch), h.Dropped(), 10000-4)
	}
}

func TestAcceptRunsBeforeTheChannelSoThatRejectedSignalsTakeNoRoom(t *testing.T) {
	h := bussignal.New()
	want := make(chan *dbus.Signal, 1)
	all := make(chan *dbus.Signal, 100)
	h.Subscribe(want, func(s *dbus.Signal) bool { return s.Name == "x.Wanted" })
	h.AddSignal(all)
	for range 50 {
		h.DeliverSignal("x", "Spoof", sig("x.Spoof"))
	}
	h.DeliverSignal("x", "Wanted", sig("x.Wanted"))
	if len(want) != 1 || (<-want).Name != "x.Wanted" {
		t.Error("the wanted signal did not arrive")
	}
	if len(all) != 51 {
		t.Errorf("the unfiltered subscriber got %d signals, want 51", len(all))
	}
	if h.Dropped() != 0 {
		t.Errorf("dropped %d", h.Dropped())
	}
}

func TestRemoveStopsDeliveryAndTerminateClosesTheRest(t *testing.T) {
	h := bussignal.New()
	a, b := make(chan *dbus.Signal, 1), make(chan *dbus.Signal, 1)
	h.AddSignal(a)
	h.AddSignal(b)
	h.RemoveSignal(a)
	h.DeliverSignal("x", "Y", sig("x.Y"))
	if len(a) != 0 || len(b) != 1 {
		t.Fatalf("a %d, b %d", len(a), len(b))
	}
	<-b
	h.Terminate()
	if _, ok := <-b; ok {
		t.Error("b is open after Terminate")
	}
	h.DeliverSignal("x", "Y", sig("x.Y")) // after Terminate: nothing, no panic
	h.AddSignal(make(chan *dbus.Signal))
	h.Terminate()
}
