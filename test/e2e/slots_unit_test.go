package e2e

import (
	"strings"
	"testing"
	"time"
)

func TestUnitGuestSlots(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		bad  bool
	}{{"", 1, false}, {"1", 1, false}, {"2", 2, false}, {"0", 0, true}, {"5", 0, true}, {"two", 0, true}, {"-1", 0, true}} {
		n, err := parseSlots(c.in)
		if (err != nil) != c.bad || n != c.want {
			t.Errorf("parseSlots(%q) = %d, %v; want %d, bad=%v", c.in, n, err, c.want, c.bad)
		}
	}
	dir := t.TempDir()
	a, err := takeGuestSlot(dir, "2")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := takeGuestSlot(dir, "2")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Name() == b.Name() {
		t.Fatalf("two runs got the same slot %s", a.Name())
	}
	if a.Name() != slotLock(dir, 0) {
		t.Errorf("first slot %s, want %s (the one build.sh takes)", a.Name(), slotLock(dir, 0))
	}
	// Both slots held: a bounded wait gives up and says so.
	if f, err := takeGuestSlotWithin(dir, "2", time.Second); err == nil {
		f.Close()
		t.Error("a third run got a slot of two")
	} else if !strings.Contains(err.Error(), "held by another run") {
		t.Errorf("bounded wait: %v", err)
	}
}
