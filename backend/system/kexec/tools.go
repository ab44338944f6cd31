package kexec

import (
	"os"
	"path/filepath"
)

// kexecToolsPaths are where kexec-tools installs its kexec binary (Debian:
// /usr/sbin since the /usr merge, /sbin before), in the order tried.
var kexecToolsPaths = []string{"/usr/sbin/kexec", "/sbin/kexec"}

// FindKexecTools returns the path of kexec-tools' kexec on the running
// system, for Loader.KexecTools, or "" when none is installed. The helper
// and rapidrebootctl both take it from here. The paths are fixed: nothing
// a caller says (PATH included) chooses the binary that runs as root.
func FindKexecTools() string { return findKexecTools("/") }

// findKexecTools looks for the paths under root (a test's fixture dir).
// Only a regular file counts: a directory or a device there is no kexec.
func findKexecTools(root string) string {
	for _, p := range kexecToolsPaths {
		if st, err := os.Stat(filepath.Join(root, p)); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
