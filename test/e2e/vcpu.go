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

// tcgShape chooses the vCPU shape for a release's guest under TCG.
//
// Debian 12 (6.1) runs two vCPUs on multi-threaded TCG, as since the
// start. Debian 13's 6.12 failed there three times in about 25 boots, each
// time on the emulator's side and each time with a second vCPU running in
// its own host thread: an early hang at first boot (RCU stalls, "Possible
// timer handling issue on cpu=1": a wake-up of the other vCPU lost) and
// twice `Oops: int3` at sched_clock_cpu+0x9 ~2.4 s into a GRUB boot, where
// the dump shows the nop the kernel had already patched back
// (text_poke_bp's int3 seen by the other vCPU through a stale
// translation). With one vCPU neither can happen, so Debian 13 gets one.
// Two vCPUs round-robin in one host thread (thread=single) avoid both too,
// but were 2.4x slower in the same kexec (127.6 s against 52.0 s, on a
// host loaded by other work); likely, not traced: a vCPU that waits for
// the other's answer to an IPI (text patching, TLB shootdowns, kexec
// stopping the other CPU) spins until its time slice ends. image/build.sh's first boot (update-grub, then power off; once per
// image) uses that round-robin shape: steady, and its speed matters little.
//
// RAPIDREBOOT_E2E_SMP and RAPIDREBOOT_E2E_TCG_THREAD override it (to
// measure another shape).
func tcgShape(release string) (Shape, error) {
	s := Shape{CPUs: 2, Thread: "multi"}
	if release == "trixie" {
		s.CPUs = 1
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
