package testtool_test

import (
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

// recorder is a testing.TB that records how a test would have ended.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = format
	panic(r)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	panic(r)
}

func ending(t *testing.T, f func(tb testing.TB)) (r *recorder) {
	r = &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
	}()
	f(r)
	return r
}

func TestAMissingToolSkipsByHandAndFailsUnderMakeCheck(t *testing.T) {
	const name = "rapidreboot-no-such-tool"
	t.Setenv(testtool.RequireEnv, "")
	if r := ending(t, func(tb testing.TB) { testtool.Need(tb, name, "none") }); r.skipped == "" || r.failed != "" {
		t.Errorf("by hand: skipped=%q failed=%q, want a skip", r.skipped, r.failed)
	}
	t.Setenv(testtool.RequireEnv, "1")
	r := ending(t, func(tb testing.TB) { testtool.Need(tb, name, "none") })
	if r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, "make check") {
		t.Errorf("under make check: skipped=%q failed=%q, want a failure", r.skipped, r.failed)
	}
}

func TestAToolThatIsThereIsFound(t *testing.T) {
	t.Setenv(testtool.RequireEnv, "1")
	if p := testtool.Need(t, "sh", "dash"); p == "" {
		t.Error("sh not found")
	}
}
