package e2e

import "testing"

// TestUnitTCGShapePerRelease: Debian 13 runs its two vCPUs round-robin in
// one host thread (its 6.12 fails under multi-threaded TCG, vcpu.go);
// Debian 12 keeps multi-threaded TCG; the variables override, and bad
// values are an error, not a silent default.
func TestUnitTCGShapePerRelease(t *testing.T) {
	for _, c := range []struct {
		release, smp, thread string
		want                 Shape
		err                  bool
	}{
		{release: "bookworm", want: Shape{2, "multi"}},
		{release: "trixie", want: Shape{2, "single"}},
		{release: "trixie", smp: "1", thread: "multi", want: Shape{1, "multi"}},
		{release: "bookworm", thread: "single", want: Shape{2, "single"}},
		{release: "trixie", smp: "0", err: true},
		{release: "trixie", smp: "two", err: true},
		{release: "trixie", thread: "rr", err: true},
	} {
		t.Run(c.release+"/"+c.smp+"/"+c.thread, func(t *testing.T) {
			t.Setenv("RAPIDREBOOT_E2E_SMP", c.smp)
			t.Setenv("RAPIDREBOOT_E2E_TCG_THREAD", c.thread)
			got, err := tcgShape(c.release)
			if c.err {
				if err == nil {
					t.Fatalf("tcgShape = %v, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("tcgShape = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
