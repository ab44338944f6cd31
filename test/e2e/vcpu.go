package e2e

import (
	"fmt"
	"os"
	"strconv"
)

// Shape is how many vCPUs a TCG guest gets and how QEMU runs them.
type Shape struct {
	CPUs   int
	Thread string // "multi": one host thread per vCPU (MTTCG); "single": all vCPUs round-robin in one
}

func (s Shape) String() string {
	return fmt.Sprintf("%d vCPU, TCG thread=%s", s.CPUs, s.Thread)
}

// tcgShape chooses the vCPU shape for a release's guest under TCG
// (image/build.sh's first boot chooses the same).
//
// Debian 12 (6.1) runs two vCPUs on multi-threaded TCG, as since the
// start. Debian 13's 6.12 failed there three times in about 25 boots, each
// time on the emulator's side and each time needing a second vCPU running
// in its own host thread: an early hang at first boot (RCU stalls,
// "Possible timer handling issue on cpu=1": a wake-up of the other vCPU
// lost) and twice `Oops: int3` at sched_clock_cpu+0x9 ~2.4 s into a GRUB
// boot, where the dump shows the nop the kernel had already patched back
// (text_poke_bp's int3 seen by the other vCPU through a translation made
// before the patch was undone). Round-robin TCG runs both vCPUs in one
// host thread, so a patch and the other vCPU's next instruction are
// ordered and no translation outlives the page write that invalidates it;
// the guest keeps two CPUs, so kexec still has to stop a second CPU as on
// real machines (docs/e2e.md, "Debian 13 under TCG").
//
// RAPIDREBOOT_E2E_SMP and RAPIDREBOOT_E2E_TCG_THREAD override it (to
// measure another shape).
func tcgShape(release string) (Shape, error) {
	s := Shape{CPUs: 2, Thread: "multi"}
	if release == "trixie" {
		s.Thread = "single"
	}
	if v := os.Getenv("RAPIDREBOOT_E2E_SMP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 16 {
			return s, fmt.Errorf("RAPIDREBOOT_E2E_SMP=%q: want a number of vCPUs from 1 to 16", v)
		}
		s.CPUs = n
	}
	if v := os.Getenv("RAPIDREBOOT_E2E_TCG_THREAD"); v != "" {
		if v != "single" && v != "multi" {
			return s, fmt.Errorf("RAPIDREBOOT_E2E_TCG_THREAD=%q: want single or multi", v)
		}
		s.Thread = v
	}
	return s, nil
}
