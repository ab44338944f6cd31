package e2e

import "testing"

// TestUnitTCGShapePerRelease: Debian 13 runs one vCPU (its 6.12 fails
// with two under multi-threaded TCG, vcpu.go); Debian 12 keeps two on
// multi-threaded TCG; the variables override, and bad values are an
// error, not a silent default.
func TestUnitTCGShapePerRelease(t *testing.T) {
	for _, c := range []struct {
		release, smp, thread string
		want                 Shape
		err                  bool
	}{
		{release: "bookworm", want: Shape{2, "multi"}},
		{release: "trixie", want: Shape{1, "multi"}},
		{release: "trixie", smp: "2", thread: "single", want: Shape{2, "single"}},
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
