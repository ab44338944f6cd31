package gnomeshell

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

const extDir = "rapidreboot@rapidreboot.github.io"

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(extDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tool finds a program or skips (fails under make check, which installs it).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testtool.Missing(t, name+" (scripts/deps/gui.txt)")
	}
	return p
}

func TestLogicUnderGjs(t *testing.T) {
	gjs := tool(t, "gjs")
	out, err := exec.Command(gjs, "-m", "test/logic.test.js").CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("gjs logic tests: %v", err)
	}
	if strings.Contains(string(out), "FAIL") || !strings.Contains(string(out), "ok ") {
		t.Fatal("gjs logic tests did not all pass")
	}
}

// resourceImport matches `import X from 'resource:///…'`, `import * as X
// from …` and `import {A, B as C} from …`.
var resourceImport = regexp.MustCompile(`(?m)^import\s+(\{[^}]*\}|\*\s+as\s+\w+|\w+)\s+from\s+'resource:///(org/gnome/shell/[^']+)';`)

// TestExtensionLinksAsAnESModule loads extension.js as an ES module under
// gjs, with GNOME Shell's modules replaced by stubs served from a GResource
// at their real resource:/// paths: a syntax error, a bad import or export
// fails here without a Shell. Whether the stubs' names exist in the real
// Shell is what the headless Shell test checks.
func TestExtensionLinksAsAnESModule(t *testing.T) {
	gjs := tool(t, "gjs")
	compile := tool(t, "glib-compile-resources")
	src := read(t, "extension.js")
	tmp := t.TempDir()
	stubs := map[string][]string{}
	for _, m := range resourceImport.FindAllStringSubmatch(src, -1) {
		names := stubs[m[2]]
		if strings.HasPrefix(m[1], "{") {
			for _, n := range strings.Split(strings.Trim(m[1], "{} \n"), ",") {
				n = strings.TrimSpace(strings.SplitN(strings.TrimSpace(n), " as ", 2)[0])
				if n != "" {
					names = append(names, n)
				}
			}
		} else if !strings.HasPrefix(m[1], "*") {
			names = append(names, "default")
		}
		stubs[m[2]] = names
	}
	if len(stubs) < 3 {
		t.Fatalf("found %d Shell imports in extension.js; the pattern is stale", len(stubs))
	}
	var files []string
	for path, names := range stubs {
		var b strings.Builder
		for _, n := range names {
			switch n {
			case "default":
				b.WriteString("export default class {}\n")
			case "Extension":
				b.WriteString("export class Extension { constructor(m) { this.metadata = m; } }\n")
			case "gettext":
				b.WriteString("export const gettext = s => s;\n")
			default:
				fmt.Fprintf(&b, "export const %s = {};\n", n)
			}
		}
		// namespace imports (* as X) need no names: X.anything is undefined at link time.
		f := filepath.Join(tmp, "stubs", path)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, fmt.Sprintf("<file>%s</file>", path))
	}
	sort.Strings(files)
	xml := `<?xml version="1.0" encoding="UTF-8"?><gresources><gresource prefix="/">` +
		strings.Join(files, "") + `</gresource></gresources>`
	if err := os.WriteFile(filepath.Join(tmp, "stubs.xml"), []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	gres := filepath.Join(tmp, "stubs.gresource")
	if out, err := exec.Command(compile, "--sourcedir="+filepath.Join(tmp, "stubs"), "--target="+gres,
		filepath.Join(tmp, "stubs.xml")).CombinedOutput(); err != nil {
		t.Fatalf("glib-compile-resources: %v\n%s", err, out)
	}
	// Clutter and St are GNOME Shell's own typelibs (mutter's private
	// Clutter), not on a machine without the Shell: a copy of the extension
	// imports stubs for them instead.
	copyDir := filepath.Join(tmp, extDir)
	if err := os.MkdirAll(copyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	private := regexp.MustCompile(`'gi://(Clutter|St|Meta|Shell|Mtk)'`)
	for _, name := range []string{"extension.js", "quickrestart.js"} {
		s := private.ReplaceAllStringFunc(read(t, name), func(m string) string {
			lib := private.FindStringSubmatch(m)[1]
			stub := filepath.Join(tmp, "gi-"+lib+".js")
			_ = os.WriteFile(stub, []byte("export default {EventType: {}, EVENT_PROPAGATE: false};\n"), 0o644)
			return strconv.Quote("file://" + stub)
		})
		if err := os.WriteFile(filepath.Join(copyDir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.Join(copyDir, "extension.js")
	loader := fmt.Sprintf(`import Gio from 'gi://Gio';
import System from 'system';
Gio.resources_register(Gio.Resource.load(%s));
try {
    const m = await import(%s);
    if (typeof m.default !== 'function' || typeof m.default.prototype.enable !== 'function' ||
        typeof m.default.prototype.disable !== 'function')
        throw new Error('the default export is not a class with enable() and disable()');
    print('linked');
} catch (e) {
    printerr(e.stack ? e + '\n' + e.stack : e);
    System.exit(1);
}
`, strconv.Quote(gres), strconv.Quote("file://"+abs))
	lf := filepath.Join(tmp, "loader.js")
	if err := os.WriteFile(lf, []byte(loader), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gjs, "-m", lf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "linked") {
		t.Fatalf("extension.js does not load as an ES module: %v\n%s", err, out)
	}
}

func TestMetadata(t *testing.T) {
	var md struct {
		UUID          string   `json:"uuid"`
		Name          string   `json:"name"`
		Description   string   `json:"description"`
		ShellVersion  []string `json:"shell-version"`
		GettextDomain string   `json:"gettext-domain"`
	}
	if err := json.Unmarshal([]byte(read(t, "metadata.json")), &md); err != nil {
		t.Fatal(err)
	}
	if md.UUID != extDir {
		t.Errorf("uuid %q, want the directory's name %q (GNOME Shell requires it)", md.UUID, extDir)
	}
	if md.GettextDomain != "rapidreboot" {
		t.Errorf("gettext-domain %q: the extension shares the product's catalog, rapidreboot", md.GettextDomain)
	}
	if md.Name == "" || md.Description == "" || len(md.ShellVersion) == 0 {
		t.Errorf("name, description and shell-version are required: %+v", md)
	}
	for _, v := range md.ShellVersion {
		n, err := strconv.Atoi(v)
		if err != nil || n < 45 {
			t.Errorf("shell-version %q: the extension is an ES module, GNOME 45 or later", v)
		}
	}
}

// TestNamesMatchTheHelpersAPI: the extension's copy of the D-Bus names.
func TestNamesMatchTheHelpersAPI(t *testing.T) {
	src := read(t, "quickrestart.js")
	for js, want := range map[string]string{
		"BUS_NAME":       busapi.BusName,
		"OBJECT_PATH":    busapi.ObjectPath,
		"INTERFACE":      busapi.Interface,
		"ERROR_PREFIX":   busapi.ErrorPrefix,
		"PLAN_SIGNATURE": busapi.PlanSignature,
	} {
		if !strings.Contains(src, fmt.Sprintf("export const %s = '%s';", js, want)) {
			t.Errorf("quickrestart.js: %s is not '%s' (backend/busapi)", js, want)
		}
	}
	for js, want := range map[string]string{
		"NotAuthorized":          busapi.ErrNotAuthorized,
		"AuthenticationRequired": busapi.ErrAuthenticationRequired,
	} {
		if busapi.ErrorPrefix+js != want {
			t.Errorf("quickrestart.js builds %s%s, busapi says %s", busapi.ErrorPrefix, js, want)
		}
	}
}

var reasonLine = regexp.MustCompile(`(?m)^\s+'([a-z-]+)': N_\('((?:[^'\\]|\\.)*)'\),$`)

// TestReasonsMatchTheHelpers: every reason code the helper can send has
// the same English sentence (the msgid) in the extension, and no other.
func TestReasonsMatchTheHelpers(t *testing.T) {
	js := map[reason.Code]string{}
	for _, m := range reasonLine.FindAllStringSubmatch(read(t, "quickrestart.js"), -1) {
		js[reason.Code(m[1])] = strings.ReplaceAll(m[2], `\'`, `'`)
	}
	for _, c := range reason.Codes() {
		if js[c] != reason.Template(c) {
			t.Errorf("reason %q: extension says %q, backend/reason says %q", c, js[c], reason.Template(c))
		}
		delete(js, c)
	}
	for c := range js {
		t.Errorf("reason %q is in the extension, not in backend/reason", c)
	}
}

var msgid = regexp.MustCompile(`\b(?:_|N_)\('((?:[^'\\]|\\.)*)'\)`)

// TestStringsAreInTheTemplate: every string the extension translates is in
// po/rapidreboot.pot (po/POTFILES lists the extension; make pot).
func TestStringsAreInTheTemplate(t *testing.T) {
	pot, err := os.ReadFile("../po/rapidreboot.pot")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"extension.js", "quickrestart.js"} {
		for _, m := range msgid.FindAllStringSubmatch(read(t, f), -1) {
			s := strings.ReplaceAll(m[1], `\'`, `'`)
			if !strings.Contains(string(pot), "msgid "+strconv.Quote(s)) && !strings.Contains(string(pot), strconv.Quote(s)) {
				t.Errorf("%s: %q is not in po/rapidreboot.pot (make pot)", f, s)
			}
		}
	}
}

// TestDocsGiveWhatTheShellTestUses: docs/desktops.md shows the dconf
// defaults the headless Shell test enables the extension with, line for
// line, and the one command for a user.
func TestDocsGiveWhatTheShellTestUses(t *testing.T) {
	doc, err := os.ReadFile("../docs/desktops.md")
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := os.ReadFile("test/dconf-defaults")
	if err != nil {
		t.Fatal(err)
	}
	indented := func(s string) string {
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			b.WriteString("    " + l + "\n")
		}
		return b.String()
	}
	for _, want := range []string{
		indented("# /etc/dconf/db/local.d/00-" + "rapidreboot\n" + string(defaults)),
		indented("user-db:user\nsystem-db:local"),
		"    gnome-extensions enable " + extDir + "\n",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/desktops.md does not show, as a code block:\n%s", want)
		}
	}
	run, err := os.ReadFile("test/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(run), `user-db:user\nsystem-db:local\n`) {
		t.Error("test/run.sh no longer writes the dconf profile docs/desktops.md shows")
	}
}

// TestInstalledNeverEnabled: make install (and so the package) lays out the
// extension's files where GNOME Shell looks for system extensions, and
// nothing that would enable it (a dconf database or profile, a GSettings
// override): enabling is the user's or the administrator's choice.
func TestInstalledNeverEnabled(t *testing.T) {
	out, err := exec.Command("make", "-s", "--no-print-directory", "-C", "..", "install-files", "PREFIX=/usr", "SYSCONFDIR=/etc").Output()
	if err != nil {
		t.Fatalf("make install-files: %v", err)
	}
	files := strings.Fields(string(out))
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
		if strings.Contains(f, "/dconf/") || strings.Contains(f, "glib-2.0/schemas") {
			t.Errorf("installs %s: the package must not enable the extension", f)
		}
	}
	entries, err := os.ReadDir(extDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		want := "/usr/share/gnome-shell/extensions/" + extDir + "/" + e.Name()
		if !have[want] {
			t.Errorf("make install does not install %s", want)
		}
	}
}
