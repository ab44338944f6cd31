// Package layout holds tests of the tree's shape that no one package can
// see: which packages the programs of the user's session link.
package layout

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/rapidreboot/rapidreboot"

// sessionSide are the packages that run in the user's session: the dialog
// and its command. They talk to the root side only over D-Bus (busapi) and
// share its vocabulary through the small shared packages (reason, advice,
// planwarn, kexecstate, i18n, …); linking the root side's code would let a
// change there reach the session unseen, and a session-side reader of a
// root-owned file would duplicate the helper's.
var sessionSide = []string{"./ui/...", "./cmd/rapidreboot"}

// rootSide is where the packages that run only as root live (the helper,
// the shutdown hook, rapidrebootctl --root): README, "Where to change what".
const rootSide = module + "/backend/system/"

func isRootSide(pkg string) bool { return strings.HasPrefix(pkg, rootSide) }

// TestTheSessionSideLinksNoRootSideCode fails when the dialog, its
// controller or its command depends, directly or not, on a root-side
// package. Test files are not counted (they may build the real helper).
func TestTheSessionSideLinksNoRootSideCode(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`}, sessionSide...)...)
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], module+"/") {
			continue
		}
		seen++
		for _, imp := range f[1:] {
			if isRootSide(imp) {
				t.Errorf("%s imports the root-side %s", strings.TrimPrefix(f[0], module+"/"), strings.TrimPrefix(imp, module+"/"))
			}
		}
	}
	if seen < 3 {
		t.Fatalf("go list saw %d packages of the module: the check checked nothing", seen)
	}
}
