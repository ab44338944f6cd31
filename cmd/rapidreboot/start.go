//go:build !rapidreboot_testhooks

package main

import (
	"io"

	"github.com/rapidreboot/rapidreboot/ui"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// start runs the dialog. The shipped program reads no test hook: the
// test build (start_testhooks.go) is another binary.
func start(opts ui.Options, cfg model.Config, errs []error, _ io.Writer) int {
	return ui.Run(opts, cfg, errs)
}
