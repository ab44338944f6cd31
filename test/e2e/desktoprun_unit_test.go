package e2e

import "testing"

// A -run that names only desktop tests keeps them; anything else is
// replaced (main_test.go). Seen 2026-12-03: "^TestDesktopGNOME(A|B)Cancel$"
// was split at its inner '|' and taken for a guest run, so every desktop
// test ran instead of two.
func TestUnitDesktopRun(t *testing.T) {
	for _, c := range []struct {
		r    string
		want bool
	}{
		{"", false},
		{"^TestDesktopGNOMEQuickRestart$", true},
		{"^TestDesktopGNOME(UnsavedDocument|QuickRestart)Cancel$", true},
		{"^TestDesktopXfce(UnsavedDocumentCancel|OwnRestartAsksNothing)$", true},
		{"^(TestDesktopGNOMEUnsavedDocumentCancel|TestDesktopGNOMEQuickRestartCancel)$", true},
		{"^(?:TestDesktopA|TestDisplayB)$", true},
		{"TestUnitX|TestDesktopY", true},
		{"^(TestDesktopA|TestRow1Arm)$", false},
		{"TestDesktopA|TestRow1Arm", false},
		{"^Test(DesktopA|Row1Arm)$", false},
		{"^(TestDesktopA)|(TestFigures)$", false},
		{"Desktop", false},
		{".*", false},
		{"^TestDesktop\\(|TestRow1$", false},
	} {
		if got := desktopRun(c.r); got != c.want {
			t.Errorf("desktopRun(%q) = %v, want %v", c.r, got, c.want)
		}
	}
}
