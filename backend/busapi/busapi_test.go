package busapi

import "testing"

func TestWithheldTellsARedactedPlanFromAnEmptyCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Plan
		want bool
	}{
		{"the helper's redacted plan", Plan{Kernel: "/boot/vmlinuz", Why: []string{WithheldWhy}}, true},
		{"a whole plan", Plan{Cmdline: "root=/dev/sda1 ro", Why: []string{"menuentry 'Debian' at /boot/grub/grub.cfg:164"}}, false},
		{"a whole plan whose entry has no command line", Plan{Why: []string{"menuentry 'Debian' at /boot/grub/grub.cfg:164"}}, false},
		{"no plan at all", Plan{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Withheld(); got != tc.want {
				t.Errorf("Withheld = %v, want %v", got, tc.want)
			}
		})
	}
}
