package e2e

import (
	"os"
	"testing"
)

// TestShell is a developer's tool, not a check: with RAPIDREBOOT_E2E_SHELL
// set it boots the guest, runs that script as root (or, with
// RAPIDREBOOT_E2E_SHELL_USER=1, as the tty1 user) and prints the output.
//
//	RAPIDREBOOT_E2E=1 RAPIDREBOOT_E2E_SHELL='journalctl -b | tail' go test -run TestShell -v ./test/e2e/
func TestShell(t *testing.T) {
	script := os.Getenv("RAPIDREBOOT_E2E_SHELL")
	if script == "" {
		t.Skip("developer's tool: set RAPIDREBOOT_E2E_SHELL to a script to run in the guest")
	}
	g := guest(t)
	var out string
	var rc int
	if os.Getenv("RAPIDREBOOT_E2E_SHELL_USER") == "1" {
		out, rc = user(t, g, script)
	} else {
		out, rc = root(t, g, script)
	}
	t.Logf("exit %d:\n%s", rc, out)
}
