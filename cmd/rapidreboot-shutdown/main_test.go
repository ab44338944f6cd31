package main

import "testing"

// Only the argument checks run here: every mode past them acts on the real
// system (kmsg, /run, the kexec state) and is tested in internal/hook over
// fakes instead.
func TestBadArgumentsAreAUsageErrorBeforeAnythingIsTouched(t *testing.T) {
	for _, args := range [][]string{nil, {}, {"reboot", "extra"}, {"--bogus"}, {""}, {"-h"}} {
		if got := run(args); got != 2 {
			t.Errorf("run(%q) = %d, want 2", args, got)
		}
	}
}

func TestEveryModeAndAnyVerbIsAccepted(t *testing.T) {
	for _, a := range []string{"--verify", "--boot", "--came-up", "--clear-failed", "reboot", "poweroff", "halt", "kexec", "future-verb"} {
		if !known(a) {
			t.Errorf("%q refused", a)
		}
	}
}
