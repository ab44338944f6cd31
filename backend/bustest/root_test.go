package bustest_test

import (
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

func TestTheHelperRootPlansItsOneKernelAndPassesPreflight(t *testing.T) {
	root := bustest.NewHelperRoot(t)
	live := "BOOT_IMAGE=" + bustest.RootKernel + " " + bustest.RootCmdline
	p, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{LiveCmdline: &live})
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	if p.Kernel != bustest.RootKernel || p.Version != bustest.RootVersion || len(p.Initrd) != 1 || p.Initrd[0] != bustest.RootInitrd {
		t.Errorf("plan = %+v", p)
	}
	if p.Cmdline != bustest.RootCmdline {
		t.Errorf("cmdline = %q, want %q", p.Cmdline, bustest.RootCmdline)
	}
	env := preflight.Env{Proc: filepath.Join(root, "proc"), Sys: filepath.Join(root, "sys"), Run: filepath.Join(root, "run"), Root: root}
	if err := preflight.Check(env); err != nil {
		t.Errorf("preflight: %v", err)
	}
}
