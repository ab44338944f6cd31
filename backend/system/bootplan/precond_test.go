package bootplan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

func TestAttack45_RootPreconditionsNameTheOneThatFails(t *testing.T) {
	good := t.TempDir()
	for _, d := range []string{"boot", "usr"} {
		if err := os.Mkdir(filepath.Join(good, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	noBoot := t.TempDir()
	os.Mkdir(filepath.Join(noBoot, "usr"), 0o755)
	bootFile := t.TempDir()
	os.Mkdir(filepath.Join(bootFile, "usr"), 0o755)
	os.WriteFile(filepath.Join(bootFile, "boot"), nil, 0o644)
	noUsr := t.TempDir()
	os.Mkdir(filepath.Join(noUsr, "boot"), 0o755)
	notProc := t.TempDir()

	tests := []struct {
		name, root, proc, names string
	}{
		{"a root that does not exist", filepath.Join(good, "nope"), "/proc", filepath.Join(good, "nope") + " is not a readable directory"},
		{"a root without boot", noBoot, "/proc", filepath.Join(noBoot, "boot") + " is not a readable directory"},
		{"a root whose boot is a file", bootFile, "/proc", filepath.Join(bootFile, "boot") + " is not a readable directory"},
		{"a root without usr", noUsr, "/proc", filepath.Join(noUsr, "usr") + " is not a readable directory"},
		{"no proc mounted", good, notProc, notProc + " is not mounted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRootPreconditions(tc.root, tc.proc)
			if reason.CodeOf(err) != reason.Precondition || reason.DetailOf(err) != tc.names {
				t.Fatalf("got %v, want precondition %q", err, tc.names)
			}
			if s := reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err)); !strings.Contains(s, tc.names) {
				t.Fatalf("sentence %q", s)
			}
		})
	}
	if _, err := os.Stat("/proc/self"); err == nil {
		if err := CheckRootPreconditions(good); err != nil {
			t.Fatalf("good root: %v", err)
		}
	}
}
