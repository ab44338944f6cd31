// Package testtool is how a test needs a program of this machine: run by
// hand, a missing one skips the test, naming it and its Debian package;
// under make check, which installed every tool first (make deps,
// scripts/deps/*.txt) and sets RequireEnv, a missing one fails the test,
// so that it cannot pass by not running.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv, set to "1" (make check), turns a missing tool into a failure.
const RequireEnv = "RAPIDREBOOT_REQUIRE_TOOLS"

// Need returns the path of the program name, from Debian's package pkg;
// when it is missing it skips t, or fails it under RequireEnv=1.
func Need(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" (package "+pkg+")")
	}
	return p
}

// Missing skips t for what, a tool this machine lacks, or fails it under
// RequireEnv=1.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("needs %s, which is missing; %s=1 (make check) does not let it skip", what, RequireEnv)
	}
	t.Skipf("needs %s", what)
}
