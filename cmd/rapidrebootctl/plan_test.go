package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/plan")

// The fixture roots of backend/system/bootplan, whose plans are checked against
// hand-written expected.json there; here only the output format is
// checked, so the goldens are the command's own output (-update).
const fixtures = "../../backend/system/bootplan/testdata"

func useTestOwner(t *testing.T) { seams(t, withTestOwner()) }

func fixtureRoot(t *testing.T, name string) string {
	t.Helper()
	root := hosttest.CopyTree(t, filepath.Join(fixtures, name, "root"))
	hosttest.Mkdir(t, root, "/usr") // git keeps no empty directories
	return root
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e, optionsOf(t)...)
	return code, o.String(), e.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "plan", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output:\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

func TestPlanPrintsEveryFixtureAsTextAndJSON(t *testing.T) {
	cases, _ := filepath.Glob(filepath.Join(fixtures, "*", "expected.json"))
	if len(cases) == 0 {
		t.Fatal("no fixtures")
	}
	for _, c := range cases {
		name := filepath.Base(filepath.Dir(c))
		t.Run(name, func(t *testing.T) {
			useTestOwner(t)
			root := fixtureRoot(t, name)
			code, out, errOut := runCLI(t, "--root", root, "plan")
			// Flags after the subcommand work the same.
			jcode, jout, _ := runCLI(t, "plan", "--json", "--root="+root)
			if code == 0 {
				golden(t, name+".txt", out)
			} else {
				golden(t, name+".txt", errOut)
				if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "rapidrebootctl: ") {
					t.Errorf("a refusal must exit 1 with one line on stderr: %d %q", code, errOut)
				}
			}
			if jcode != code {
				t.Errorf("--json exit %d, text exit %d", jcode, code)
			}
			golden(t, name+".json", jout)
			if strings.Contains(out+errOut+jout, root) {
				t.Errorf("output names the host path %s instead of target paths", root)
			}
		})
	}
}

func TestPlanJSONHasTheDocumentedFields(t *testing.T) {
	useTestOwner(t)
	root := fixtureRoot(t, "ubuntu-2204-cloud-submenu-grubd-override")
	code, out, _ := runCLI(t, "--json", "--root", root, "plan")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"cmdline", "initrd", "kernel", "source", "version", "warnings", "why"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	if m["kernel"] != "/boot/vmlinuz-5.15.0-100-generic" || m["cmdline"] != "root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0" {
		t.Fatalf("got %v", m)
	}
}

func TestPlanRefusalsAreOneLineOrAJSONError(t *testing.T) {
	useTestOwner(t)
	root := fixtureRoot(t, "fedora-35-btrfs-bls-entries-missing")
	code, out, errOut := runCLI(t, "--root", root, "plan")
	if code != 1 || out != "" || errOut != "rapidrebootctl: The boot loader configuration names no kernel that can be started (no entry of /boot/grub2/grub.cfg loads a Linux kernel).\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--root", root, "--json", "plan")
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if code != 1 || errOut != "" || json.Unmarshal([]byte(out), &e) != nil || e.Error.Code != "no-boot-entries" || e.Error.Message == "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestAttack45_PlanNamesTheFailingPrecondition(t *testing.T) {
	useTestOwner(t)
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "--root", dir, "plan")
	if code != 1 || !strings.Contains(errOut, filepath.Join(dir, "boot")+" is not a readable directory") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	code, out, _ := runCLI(t, "--root", filepath.Join(dir, "missing"), "--json", "plan")
	if code != 1 || !strings.Contains(out, `"code": "precondition"`) {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"--bogus", "plan"}, {"plan", "extra"}, {"--root"}, {"--root=", "plan"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "rapidrebootctl: ") || !strings.Contains(errOut, "--help") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestHelpListsCommandsAndVersionPrintsIt(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	if code != 0 || !strings.Contains(out, "plan ") || !strings.Contains(out, "--root DIR") {
		t.Fatalf("help: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "rapidrebootctl ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestOnlyTheRunningSystemsRootIsLive(t *testing.T) {
	if isLive(t.TempDir()) {
		t.Fatal("a temp dir taken for the running system")
	}
	if !isLive("/") || !isLive("/.") {
		t.Fatal("/ not taken for the running system")
	}
}
