// Package threatmodel checks docs/threat-model.md against the code: the
// row numbers that comments and test names cite must be described there,
// and every test it names must exist, so that neither drifts from the
// other.
package threatmodel

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const doc = "docs/threat-model.md"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, doc)); err != nil {
		t.Fatalf("cannot find %s: %v", doc, err)
	}
	return root
}

// goFiles returns the repository's Go files, by path relative to root.
func goFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "build", "vendor", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	// What cites a row: a test named for it, a table case named for it,
	// or a comment that says "attack list row N" / "(row N)".
	citePatterns = []*regexp.Regexp{
		regexp.MustCompile(`func Test(?:Attack|Row)0*(\d+)`),
		regexp.MustCompile(`"Attack0*(\d+)_`),
		regexp.MustCompile(`(?i)attack[- ]list,? rows? (\d+)`),
		regexp.MustCompile(`\(rows? (\d+)\)`),
	}
	docRow      = regexp.MustCompile(`(?m)^\| (\d+) \|`)
	docTestName = regexp.MustCompile("`(Test[A-Za-z0-9_]+)(?:/([A-Za-z0-9_]+))?`")
)

func cited(files map[string]string) map[int][]string {
	rows := map[int][]string{}
	for name, src := range files {
		for _, re := range citePatterns {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				n, _ := strconv.Atoi(m[1])
				rows[n] = append(rows[n], name)
			}
		}
	}
	return rows
}

func TestEveryCitedRowIsDescribed(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	described := map[int]bool{}
	for _, m := range docRow.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		described[n] = true
	}
	if len(described) < 40 {
		t.Fatalf("%s describes %d rows; the table did not parse", doc, len(described))
	}
	files := goFiles(t, root)
	delete(files, "test/threatmodel/threatmodel_test.go") // its own self-test cites made-up rows
	for n, where := range cited(files) {
		if !described[n] {
			t.Errorf("row %d is cited (%s) but %s does not describe it", n, strings.Join(where, ", "), doc)
		}
	}
}

func TestEveryNamedTestExists(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	var tests strings.Builder
	for name, src := range goFiles(t, root) {
		if strings.HasSuffix(name, "_test.go") {
			tests.WriteString(src)
		}
	}
	all := tests.String()
	names := docTestName.FindAllStringSubmatch(string(b), -1)
	if len(names) < 40 {
		t.Fatalf("%s names %d tests; expected the table's", doc, len(names))
	}
	for _, m := range names {
		if !regexp.MustCompile(`func ` + m[1] + `\(`).MatchString(all) {
			t.Errorf("%s names %s, which no test file defines", doc, m[1])
			continue
		}
		if m[2] != "" && !strings.Contains(all, `"`+m[2]) {
			t.Errorf("%s names the case %s/%s, which no table defines", doc, m[1], m[2])
		}
	}
}

// The checks must be able to fail.
func TestTheCheckSeesACitationAndAMissingTest(t *testing.T) {
	got := cited(map[string]string{"a.go": "// see the attack list row 77\nfunc TestRow78X(t *testing.T) {}\n{\"Attack79_x\", ...} (row 80)"})
	for _, n := range []int{77, 78, 79, 80} {
		if len(got[n]) == 0 {
			t.Errorf("row %d not seen as cited: %v", n, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("cited %v; want only 77-80", got)
	}
}
