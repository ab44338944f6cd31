package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// maxSlots bounds RAPIDREBOOT_E2E_SLOTS: more guests than cores only makes
// every TCG guest slower and its timeouts likelier.
const maxSlots = 4

// parseSlots reads RAPIDREBOOT_E2E_SLOTS ("" is 1).
func parseSlots(v string) (int, error) {
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxSlots {
		return 0, fmt.Errorf("RAPIDREBOOT_E2E_SLOTS=%q: want a number of guests from 1 to %d", v, maxSlots)
	}
	return n, nil
}

// slotLock is slot i's lock file in dir. Slot 0 is the file build.sh
// takes too (.guest.lock), so an image build never boots its first-boot
// guest beside a run that uses one slot.
func slotLock(dir string, i int) string {
	if i == 0 {
		return filepath.Join(dir, ".guest.lock")
	}
	return filepath.Join(dir, ".guest.lock."+strconv.Itoa(i))
}

// takeGuestSlot holds one of the slots' locks for the life of the run
// (the lock goes with the process, even on kill -9). It waits, saying so,
// while every slot is taken.
func takeGuestSlot(dir, slots string) (*os.File, error) {
	return takeGuestSlotWithin(dir, slots, 0)
}

// takeGuestSlotWithin is takeGuestSlot giving up after wait (0: never).
func takeGuestSlotWithin(dir, slots string, wait time.Duration) (*os.File, error) {
	n, err := parseSlots(slots)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	said := false
	for {
		for i := 0; i < n; i++ {
			f, err := os.OpenFile(slotLock(dir, i), os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				return nil, err
			}
			if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
				if n > 1 {
					fmt.Printf("e2e: guest slot %d of %d\n", i, n)
				}
				return f, nil
			}
			f.Close()
		}
		if wait > 0 && time.Now().After(deadline) {
			return nil, fmt.Errorf("every guest slot (%d) in %s was held by another run for %s", n, dir, wait)
		}
		if !said {
			fmt.Printf("e2e: every guest slot (%d) is held by another run - waiting\n", n)
			said = true
		}
		time.Sleep(2 * time.Second)
	}
}
