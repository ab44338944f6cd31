//go:build rapidreboot_testhooks

package ui

import (
	"io"

	"github.com/rapidreboot/rapidreboot/ui/model"
)

// RunTraced is Run with a trace of the events the tests and the benchmark
// wait for. It exists only in the test build (build tag
// rapidreboot_testhooks).
func RunTraced(opts Options, cfg model.Config, cfgErrs []error, trace io.Writer) int {
	return run(opts, cfg, cfgErrs, trace)
}
