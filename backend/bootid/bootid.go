// Package bootid reads the running kernel's boot id, the one reading of
// <proc>/sys/kernel/random/boot_id for the root side (armstate's records,
// the shutdown hook) and the session side (notify's "already told" state).
//
// The id is checked strictly, as the kernel writes it (a random UUID in
// lower-case hex, 8-4-4-4-12): it is stored in files and compared across
// boots, so anything else is refused rather than carried along.
package bootid

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File is where the id is, relative to /proc.
const File = "sys/kernel/random/boot_id"

// maxRead bounds the read: the file is 37 bytes.
const maxRead = 128

// Read returns the boot id in <proc>/sys/kernel/random/boot_id ("/proc"
// on a running system).
func Read(proc string) (string, error) {
	f, err := os.Open(filepath.Join(proc, File))
	if err != nil {
		return "", fmt.Errorf("cannot read the boot id: %w", err)
	}
	defer f.Close()
	b := make([]byte, maxRead)
	n, err := f.Read(b)
	if err != nil {
		return "", fmt.Errorf("cannot read the boot id: %w", err)
	}
	id := strings.TrimSpace(string(b[:n]))
	if !Valid(id) {
		return "", fmt.Errorf("cannot read the boot id: unexpected %q", id)
	}
	return id, nil
}

// Valid reports whether s has the form of a boot id: 36 characters,
// dashes at 8, 13, 18 and 23, lower-case hex digits elsewhere.
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}
