package e2e

import (
	"fmt"
	"testing"
	"time"
)

// Scenario 6 and row 50: Quick Restarts in a row (10 in CI, 20 with
// `make soak`), every one by kexec, into the same kernel with the same
// command line.
func TestScenario6Row50QuickRestartsInARow(t *testing.T) {
	needProduct(t)
	g := guest(t)
	want := cold(t, g)
	var walls []time.Duration
	for i := 1; i <= suite.soak; i++ {
		r := quickRestart(t, g, fmt.Sprintf("Quick Restart %d/%d", i, suite.soak))
		checkKexecBoot(t, g, r, want)
		recordQuick(t, g, r)
		walls = append(walls, r.Wall())
		if t.Failed() {
			t.Fatalf("stopped after Quick Restart %d of %d", i, suite.soak)
		}
	}
	suite.figures.Note("soak: %d Quick Restarts in a row, all by kexec into %s; wall median %s", suite.soak, newest(t), fmtSeconds(median(walls)))
}
