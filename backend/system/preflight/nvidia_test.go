package preflight

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

func TestTheNvidiaDriverIsAWarningWithItsCode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		modules []string
		want    bool
	}{
		{"nvidia loaded", []string{"nvidia", "nvidia_modeset", "nvidia_drm"}, true},
		{"nouveau only", []string{"nouveau", "drm"}, false},
		{"nvidia_drm without nvidia", []string{"nvidia_drm"}, false},
		{"nothing", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := t.TempDir()
			for _, m := range tc.modules {
				if err := os.MkdirAll(filepath.Join(sys, "module", m), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			env := Env{Sys: sys, Proc: t.TempDir(), Run: t.TempDir(), Root: t.TempDir()}
			a := Advisories(env)
			if got := len(a) == 1 && a[0].Code == reason.NvidiaDriver; got != tc.want || (!tc.want && len(a) != 0) {
				t.Fatalf("advisories %v, want nvidia %v", a, tc.want)
			}
			w := strings.Join(Warnings(env), "\n")
			if strings.Contains(w, "NVIDIA") != tc.want {
				t.Fatalf("warnings %q", w)
			}
		})
	}
	// A file named nvidia (not a module directory) is not the driver.
	sys := t.TempDir()
	os.MkdirAll(filepath.Join(sys, "module"), 0o755)
	os.WriteFile(filepath.Join(sys, "module", "nvidia"), nil, 0o644)
	if NvidiaLoaded(sys) {
		t.Fatal("a file taken for the module")
	}
}
