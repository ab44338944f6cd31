package bootplan_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

// expected is the fixture's expected.json: written by hand from the boot
// loader's documented behaviour (see testdata/README-fixtures.md).
type expected struct {
	Kernel  *string  `json:"kernel"`
	Initrd  []string `json:"initrd"`
	Cmdline *string  `json:"cmdline"`
	Version *string  `json:"version"`
	Error   string   `json:"error"`
	Why     string   `json:"why"`
	// WarningsContain are texts some warning of the plan must contain.
	WarningsContain []string `json:"warnings_contain"`
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// fixtureCases lists every testdata/<case>/expected.json.
func fixtureCases(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob("testdata/*/expected.json")
	if err != nil || len(m) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []string
	for _, f := range m {
		out = append(out, filepath.Base(filepath.Dir(f)))
	}
	return out
}

func readExpected(t *testing.T, name string) expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s/expected.json: %v", name, err)
	}
	return e
}

// TestEveryFixturePlansWhatItsBootLoaderBoots runs every real-world case:
// the trees are copied into a temp root (git keeps no modes), the plan is
// computed as for an installer root (no live /proc/cmdline) and compared
// with the hand-checked answer.
func TestEveryFixturePlansWhatItsBootLoaderBoots(t *testing.T) {
	for _, name := range fixtureCases(t) {
		t.Run(name, func(t *testing.T) {
			want := readExpected(t, name)
			root := hosttest.CopyTree(t, filepath.Join("testdata", name, "root"))
			plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
			if want.Error != "" {
				if err == nil {
					t.Fatalf("want error %s, got plan %+v", want.Error, plan)
				}
				if got := string(reason.CodeOf(err)); got != want.Error {
					t.Fatalf("error code %s (%v), want %s", got, err, want.Error)
				}
				s := reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err))
				if s == "" || strings.Contains(s, "%!") {
					t.Fatalf("no sentence for %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compute: %v\nwhy the fixture expects a plan: %s", err, want.Why)
			}
			if want.Kernel == nil || plan.Kernel != *want.Kernel {
				t.Errorf("kernel %q, want %v", plan.Kernel, *want.Kernel)
			}
			wantInitrd := want.Initrd
			if wantInitrd == nil {
				wantInitrd = []string{}
			}
			if !reflect.DeepEqual(plan.Initrd, wantInitrd) {
				t.Errorf("initrd %q, want %q", plan.Initrd, wantInitrd)
			}
			if want.Cmdline != nil && collapse(plan.Cmdline) != collapse(*want.Cmdline) {
				t.Errorf("cmdline\n got %q\nwant %q", plan.Cmdline, *want.Cmdline)
			}
			if want.Version != nil && plan.Version != *want.Version {
				t.Errorf("version %q, want %q", plan.Version, *want.Version)
			}
			for _, w := range want.WarningsContain {
				if !strings.Contains(strings.Join(plan.Warnings, "\n"), w) {
					t.Errorf("no warning contains %q", w)
				}
			}
			if t.Failed() {
				t.Logf("why: %s", strings.Join(plan.Why, "\n  "))
				t.Logf("warnings: %s", strings.Join(plan.Warnings, "\n  "))
				t.Logf("fixture says: %s", want.Why)
			}
		})
	}
}
