//go:build rapidreboot_fakekexec

package main

import (
	"errors"
	"flag"
	"path/filepath"

	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// A build for the integration tests (mk/helper.mk, backend/bustest): the
// kexec syscalls are kexectest.NewMirrored, which records calls in files, and
// every path is under --test-root. Never installed.
var testRoot = flag.String("test-root", "", "fake root for /, /proc, /sys and /run (test builds only)")

func system() (paths, kexec.Syscalls, error) {
	if *testRoot == "" || !filepath.IsAbs(*testRoot) {
		return paths{}, nil, errors.New("a test build needs --test-root DIR (absolute)")
	}
	r := filepath.Clean(*testRoot)
	startStats()
	p := paths{root: r, proc: filepath.Join(r, "proc"), sys: filepath.Join(r, "sys"), run: filepath.Join(r, "run")}
	return p, kexectest.NewMirrored(r), nil
}
