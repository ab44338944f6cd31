package e2e

import "testing"

// The prompt's window id once came back as xdotool's "X Error of failed
// request: BadWindow" and was pasted into a shell command (issue 15.7).
func TestUnitWindowIDIsTakenOnlyFromADigitLine(t *testing.T) {
	for _, c := range []struct{ out, want string }{
		{"12582919\n", "12582919"},
		{"X Error of failed request:  BadWindow (invalid Window parameter)\n  Major opcode of failed request:  20 (X_GetProperty)\n12582919\n", "12582919"},
		{"X Error of failed request:  BadWindow (invalid Window parameter)\n", ""},
		{"", ""},
		{"12582919; reboot\n", ""},
		{"  4194311  \n", "4194311"},
	} {
		if got := firstWindowID(c.out); got != c.want {
			t.Errorf("firstWindowID(%q) = %q, want %q", c.out, got, c.want)
		}
	}
}
