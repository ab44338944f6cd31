package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leonelquinteros/gotext"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
)

// TestTranslatedButtonsKeepDistinctMnemonics loads every po/*.po and
// checks, in every layout, that each visible button has a mnemonic and
// that no two share one: msgfmt checks that each has one, not that they
// differ.
func TestTranslatedButtonsKeepDistinctMnemonics(t *testing.T) {
	files, _ := filepath.Glob("../../po/*.po")
	if len(files) == 0 {
		t.Skip("no translations")
	}
	defer i18n.Use(nil)
	for _, f := range files {
		lang := strings.TrimSuffix(filepath.Base(f), ".po")
		t.Run(lang, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			po := gotext.NewPo()
			po.Parse(b)
			get := po.Get
			i18n.Use(&i18n.Translator{G: func(s string) string { return get(s) }, NG: func(s, p string, n int) string { return p }})
			if G("_Restart") == "_Restart" {
				t.Fatalf("%s does not translate _Restart", f)
			}
			for _, s := range []State{
				state(func(s *State) { s.Caps.Hibernate = "yes" }),
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Held = true }),
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Config.QuickButton = true }),
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true }),
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true; s.Held = true }),
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true; s.Config.QuickButton = true }),
			} {
				// The expander's mnemonic is matched with the buttons'.
				seen := map[rune]string{Mnemonic(s.BootTitle()): s.BootTitle()}
				for _, b := range s.Buttons() {
					if !b.Visible {
						continue
					}
					m := Mnemonic(b.Label)
					if m == 0 {
						t.Errorf("%q has no mnemonic", b.Label)
					}
					if other, dup := seen[m]; dup {
						t.Errorf("%q and %q share the mnemonic %q", b.Label, other, m)
					}
					seen[m] = b.Label
				}
			}
		})
	}
}
