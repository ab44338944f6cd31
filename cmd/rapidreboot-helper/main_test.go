package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// Row 22: no caller can add command line or initrd text through the
// helper's environment or a configuration file in $HOME. The methods take
// no arguments (backend/system/helper's tests); here, no package of this module
// that the production helper is built from reads the environment or a
// home directory. (godbus reads DBUS_SYSTEM_BUS_ADDRESS: the bus address,
// set by D-Bus activation, not a caller.)
func TestRow22TheHelperReadsNoEnvironmentAndNoHome(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-json=ImportPath,Dir,GoFiles,Module", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string]bool{
		"Getenv": true, "LookupEnv": true, "Environ": true, "ExpandEnv": true,
		"UserHomeDir": true, "UserConfigDir": true, "UserCacheDir": true,
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Dir        string
			GoFiles    []string
			Module     *struct{ Path string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != "github.com/rapidreboot/rapidreboot" {
			continue
		}
		checked++
		for _, f := range p.GoFiles {
			fs := token.NewFileSet()
			file, err := parser.ParseFile(fs, filepath.Join(p.Dir, f), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "os" || id.Name == "syscall") && forbidden[sel.Sel.Name] {
					t.Errorf("%s: %s.%s in a package of the helper", fs.Position(sel.Pos()), id.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
	if checked < 5 {
		t.Errorf("only %d packages checked; go list changed?", checked)
	}
}

// The helper plans with bootplan.LiveOptions, whose /proc/cmdline cap
// rapidrebootctl plan shares (cmd/rapidrebootctl/root_test.go).
func TestThePlanCapsProcCmdline(t *testing.T) {
	dir := t.TempDir()
	proc := filepath.Join(dir, "proc")
	if err := os.MkdirAll(proc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "cmdline"), []byte(strings.Repeat("x", bootplan.MaxLiveCmdline+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := computePlan(host.New(dir), proc, filepath.Join(dir, "sys"))
	if reason.CodeOf(err) != reason.TooLarge {
		t.Errorf("computePlan = %v, want too-large", err)
	}
}
