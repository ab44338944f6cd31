//go:build gui

package gui

import (
	"strings"
	"testing"
)

func TestTheDialogSpeaksTheUsersLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang, restart, quick, title string
	}{
		{"de", "Neu starten", "Schnellneustart", "Was möchten Sie tun?"},
		{"fr", "Redémarrer", "Redémarrage rapide", "Que voulez-vous faire ?"},
		{"es", "Reiniciar", "Reinicio rápido", "¿Qué quiere hacer?"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := newHarness(t)
			h.setenv("LANGUAGE=" + tc.lang)
			d := h.start()
			d.waitLabel(tc.restart)
			a := d.a11y()
			found := false
			for _, l := range a.Labels {
				found = found || strings.Contains(l.Name, tc.title)
			}
			if !found {
				t.Errorf("no title %q", tc.title)
			}
			release := hold(t, "Shift_L")
			d.waitLabel(tc.quick)
			if found, _, desc := d.a11y().button(tc.quick); !found || !strings.Contains(desc, "6.1.0-27-amd64") {
				t.Errorf("a screen reader sees %q found=%v description=%q", tc.quick, found, desc)
			}
			if tc.lang == "de" {
				t.Logf("German quick: %s", d.shot("quick-de"))
			}
			release()
		})
	}
}

// TestScreenshots keeps pictures of the dialog in the user's themes: the
// theme's colours, dark and high contrast, large text and HiDPI scaling
// must all come through (nothing in the dialog fixes a colour or a size).
func TestScreenshots(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"theme-dark", []string{"GTK_THEME=Adwaita:dark"}},
		{"theme-high-contrast", []string{"GTK_THEME=HighContrast"}},
		{"large-text", []string{"GDK_DPI_SCALE=1.5"}},
		{"hidpi", []string{"GDK_SCALE=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.setenv(tc.env...)
			d := h.start()
			hold(t, "Shift_L")
			d.waitLabel("Quick Restart")
			t.Logf("%s: %s", tc.name, d.shot("quick-"+tc.name))
		})
	}
}
