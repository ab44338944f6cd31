package preflight

import (
	"os"
	"path/filepath"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// NvidiaLoaded reports whether the NVIDIA proprietary driver is loaded:
// the module directory /sys/module/nvidia exists (nouveau, the free
// driver, is another name and survives a kexec). Anyone may read it.
func NvidiaLoaded(sys string) bool {
	fi, err := os.Stat(filepath.Join(sys, "module/nvidia"))
	return err == nil && fi.IsDir()
}

// Advisories are the warnings with a reason code that a Quick Restart
// should come with on this host (the plan's own, such as an encrypted
// disk, are bootplan's). The code lets the dialog and the restart
// decision branch (reason.NvidiaDriver: suggest a normal Restart).
func Advisories(env Env) []*reason.Error {
	var out []*reason.Error
	if NvidiaLoaded(env.Sys) {
		out = append(out, reason.New(reason.NvidiaDriver, ""))
	}
	return out
}
