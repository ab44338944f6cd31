//go:build rapidreboot_testhooks

package main

import (
	"fmt"
	"io"
	"os"

	"github.com/rapidreboot/rapidreboot/ui"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// start is the test build's (make build-test-dialog: build tag
// rapidreboot_testhooks, never installed): the GUI tests, the benchmark
// and the guest's dialog scenario point it at a fake root for /run,
// /sys and /proc and read the trace of the events they wait for. The shipped
// program (start.go) has neither.
func start(opts ui.Options, cfg model.Config, errs []error, stderr io.Writer) int {
	if r := os.Getenv("RAPIDREBOOT_TEST_ROOT"); r != "" {
		opts.Root, opts.Sys, opts.Proc = r, r+"/sys", r+"/proc"
	}
	var trace io.Writer
	if t := os.Getenv("RAPIDREBOOT_TRACE"); t != "" {
		f, err := os.OpenFile(t, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintln(stderr, "rapidreboot: trace:", err)
			return 1
		}
		defer f.Close()
		trace = f
	}
	return ui.RunTraced(opts, cfg, errs, trace)
}
