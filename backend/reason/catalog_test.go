package reason_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// TestEveryCodeIsListedOnceAndHasASentence checks the code list against the
// sentences both ways: a code without a sentence would reach a person as
// the generic fallback, a sentence without a listed code is dead.
func TestEveryCodeIsListedOnceAndHasASentence(t *testing.T) {
	seen := map[reason.Code]bool{}
	for _, c := range reason.Codes() {
		if c == reason.OK {
			t.Errorf("OK is listed as a code")
		}
		if seen[c] {
			t.Errorf("code %q is listed twice", c)
		}
		seen[c] = true
		if reason.Template(c) == "" {
			t.Errorf("code %q has no sentence", c)
		}
	}
	for _, c := range reason.CodesWithSentences() {
		if !seen[c] {
			t.Errorf("sentence of %q belongs to no listed code", c)
		}
	}
}

// TestEveryCodeIsTranslatedInEveryLanguage reads each catalog named in
// po/LINGUAS: every code's sentence must have a msgstr there that is not
// empty and not fuzzy (gettext shows a fuzzy entry's msgid).
func TestEveryCodeIsTranslatedInEveryLanguage(t *testing.T) {
	po := filepath.Join("..", "..", "po")
	langs := linguas(t, filepath.Join(po, "LINGUAS"))
	if len(langs) == 0 {
		t.Fatal("po/LINGUAS names no language")
	}
	for _, lang := range langs {
		cat := readPO(t, filepath.Join(po, lang+".po"))
		for _, c := range reason.Codes() {
			if reason.Template(c) != "" && cat[reason.Template(c)] == "" {
				t.Errorf("%s.po: code %q: no translation of %q", lang, c, reason.Template(c))
			}
		}
	}
}

func linguas(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		out = append(out, strings.Fields(l)...)
	}
	return out
}

// readPO returns msgid → msgstr of a catalog's translated, non-fuzzy
// singular entries. It reads the subset of the PO format msgmerge writes.
func readPO(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	var id, str string
	var fuzzy bool
	var cur *string
	flush := func() {
		if id != "" && str != "" && !fuzzy {
			out[id] = str
		}
		id, str, fuzzy, cur = "", "", false, nil
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		unquote := func(q string) string {
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			return s
		}
		switch {
		case l == "":
			flush()
		case strings.HasPrefix(l, "#,"):
			fuzzy = fuzzy || strings.Contains(l, "fuzzy")
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "msgid "):
			id, cur = unquote(strings.TrimPrefix(l, "msgid ")), &id
		case strings.HasPrefix(l, "msgstr "):
			str, cur = unquote(strings.TrimPrefix(l, "msgstr ")), &str
		case strings.HasPrefix(l, `"`) && cur != nil:
			*cur += unquote(l)
		default:
			cur = nil // msgid_plural, msgstr[n], msgctxt: not a reason sentence
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return out
}
