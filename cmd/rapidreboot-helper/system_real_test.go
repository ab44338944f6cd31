//go:build !rapidreboot_fakekexec

package main

import (
	"flag"
	"reflect"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
)

func TestTheProductionBuildHasNoTestRootAndTheRealSyscalls(t *testing.T) {
	if flag.Lookup("test-root") != nil {
		t.Error("a build without the rapidreboot_fakekexec tag has --test-root")
	}
	p, sys, err := system()
	if err != nil || p.root != "/" || p.proc != "/proc" {
		t.Errorf("system() = %+v, %v", p, err)
	}
	// The real syscalls (compared by type: this test never calls them).
	if reflect.TypeOf(sys) != reflect.TypeOf(kexec.Real()) {
		t.Errorf("system() gives %T, not the real syscalls", sys)
	}
}
