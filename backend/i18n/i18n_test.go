package i18n

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLanguages(t *testing.T) {
	tests := []struct {
		desc string
		env  map[string]string
		want []string
	}{
		{"nothing set means English", nil, nil},
		{"the C locale ignores LANGUAGE, as gettext does", map[string]string{"LANG": "C.UTF-8", "LANGUAGE": "de"}, nil},
		{"LANG with territory and codeset falls back to the language", map[string]string{"LANG": "de_AT.UTF-8"}, []string{"de_AT", "de"}},
		{"LC_ALL wins over LANG", map[string]string{"LANG": "fr_FR.UTF-8", "LC_ALL": "es_ES.UTF-8"}, []string{"es_ES", "es"}},
		{"LC_MESSAGES wins over LANG", map[string]string{"LANG": "fr_FR.UTF-8", "LC_MESSAGES": "de_DE.UTF-8"}, []string{"de_DE", "de"}},
		{"LANGUAGE is a list tried first", map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "fr:de_CH"}, []string{"fr", "de_CH", "de", "en_US", "en"}},
		{"a modifier is tried with and without", map[string]string{"LANG": "ca_ES.UTF-8@valencia"}, []string{"ca_ES@valencia", "ca_ES", "ca@valencia", "ca"}},
		{"path tricks in a locale name are ignored", map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "../../etc:de/x"}, []string{"en_US", "en"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := Languages(func(k string) string { return tc.env[k] })
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// compile writes a catalog with msgfmt (gettext is a build dependency).
func compile(t *testing.T, dir, lang, po string) {
	t.Helper()
	if _, err := exec.LookPath("msgfmt"); err != nil {
		t.Skip("msgfmt not installed (package gettext)")
	}
	d := filepath.Join(dir, lang, "LC_MESSAGES")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, lang+".po")
	if err := os.WriteFile(src, []byte(po), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("msgfmt", "-o", filepath.Join(d, Domain+".mo"), src).CombinedOutput(); err != nil {
		t.Fatalf("msgfmt: %v\n%s", err, out)
	}
}

const dePO = `msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "_Restart"
msgstr "_Neu starten"

msgid "%d application"
msgid_plural "%d applications"
msgstr[0] "%d Anwendung"
msgstr[1] "%d Anwendungen"
`

func TestInitTranslatesFromTheUsersCatalog(t *testing.T) {
	dir := t.TempDir()
	compile(t, dir, "de", dePO)
	t.Setenv(LocaleDirEnv, dir)
	t.Setenv("LANGUAGE", "")
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "de_DE.UTF-8")
	defer Use(nil)

	lang, err := Init("")
	if err != nil || lang != "de" {
		t.Fatalf("Init = %q, %v; want de", lang, err)
	}
	if got := G("_Restart"); got != "_Neu starten" {
		t.Errorf("G = %q", got)
	}
	if got := G("not in the catalog"); got != "not in the catalog" {
		t.Errorf("an unknown msgid came back as %q", got)
	}
	if got := NG("%d application", "%d applications", 3); got != "%d Anwendungen" {
		t.Errorf("NG(3) = %q", got)
	}
	if got := NG("%d application", "%d applications", 1); got != "%d Anwendung" {
		t.Errorf("NG(1) = %q", got)
	}
}

func TestInitWithoutACatalogKeepsEnglish(t *testing.T) {
	t.Setenv(LocaleDirEnv, t.TempDir())
	t.Setenv("LANG", "xx_YY.UTF-8")
	t.Setenv("LC_ALL", "")
	t.Setenv("LANGUAGE", "")
	defer Use(nil)
	Use(&Translator{G: func(string) string { return "stale" }, NG: func(string, string, int) string { return "stale" }})
	lang, err := Init("")
	if err != nil || lang != "" {
		t.Fatalf("Init = %q, %v", lang, err)
	}
	if G("_Restart") != "_Restart" || NG("a", "b", 2) != "b" {
		t.Error("strings are not English after Init found no catalog")
	}
}

func TestACorruptCatalogIsAnErrorNotACrash(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "de", "LC_MESSAGES")
	os.MkdirAll(d, 0o755)
	bad := []byte{0xde, 0x12, 0x04, 0x95, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0}
	os.WriteFile(filepath.Join(d, Domain+".mo"), bad, 0o644)
	if _, err := Load(dir, "de"); err == nil {
		t.Error("a corrupt catalog loaded without error")
	}
}

func FuzzParseMo(f *testing.F) {
	f.Add([]byte{0xde, 0x12, 0x04, 0x95, 0, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0, 44, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := parseMo(b, "fuzz")
		if err == nil {
			tr.G("x")
			tr.NG("x", "y", 2)
		}
	})
}
