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
				// Issue 16: Restart Apps Only, the recommended Quick
				// Restart's own button, the coldreboot check box.
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true; recommend(s, "soft") }),
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true; recommend(s, "soft"); s.Held = true }),
				state(func(s *State) { s.Caps.Hibernate = "yes"; s.Armed = true; recommend(s, "quick") }),
			} {
				// The expander's and the check box's mnemonics are matched
				// with the buttons'.
				seen := map[rune]string{Mnemonic(s.BootTitle()): s.BootTitle()}
				if s.ColdShown() {
					if other, dup := seen[Mnemonic(ColdLabel())]; dup {
						t.Errorf("%q and %q share a mnemonic", ColdLabel(), other)
					}
					seen[Mnemonic(ColdLabel())] = ColdLabel()
				}
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

// recommend gives s the helper's advice of kind, with a soft restart
// possible and Quick Restart available.
func recommend(s *State, kind string) {
	s.Quick = Available
	s.SoftPath = true
	s.Advice.Known = true
	s.Advice.Kind, s.Advice.Code = "quick", "userspace-update"
	if kind == "soft" {
		s.Advice.Kind = "soft"
	}
	s.Advice.QuickOffered, s.Advice.SoftAvailable = true, true
}
