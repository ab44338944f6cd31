// Package kexecstate is the one reading of <sys>/kernel/kexec_loaded, for
// the root side (the helper, the shutdown hook, rapidrebootctl --root) and
// the session side (the dialog checks that a Quick Restart's kernel is
// still loaded before it asks the session manager). It is apart from
// backend/system/kexec, which makes the kexec syscalls, so that the dialog reads
// the state without linking the loader.
package kexecstate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Loaded reads <sys>/kernel/kexec_loaded: whether an image is loaded.
func Loaded(sys string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(sys, "kernel/kexec_loaded"))
	if err != nil {
		return false, fmt.Errorf("cannot read kexec state: %w", err)
	}
	switch string(bytes.TrimSpace(b)) {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("cannot read kexec state: unexpected %q", bytes.TrimSpace(b))
}
