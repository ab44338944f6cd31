package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Row 22: no caller can add command line or initrd text through the
// helper's environment or a configuration file in $HOME. The methods take
// no arguments (backend/helper's tests); here, no package of this module
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
