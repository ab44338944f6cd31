// Package rebootreq reads Debian/Ubuntu's "a restart is required" marker:
// /run/reboot-required (created by update-notifier-common's
// notify-reboot-required and by packages' postinst scripts) and
// /run/reboot-required.pkgs (one package name per line, appended by each
// package that asked, so names repeat).
//
// It also says whether Quick Restart is enough to finish the update. A
// kexec restart runs the whole boot of the new kernel and userspace again, so
// it finishes kernel, library and service updates alike; what it skips is the
// firmware and the boot loader, so updates that complete there (fwupd
// capsules, shim's SBAT/revocation step) want a normal restart.
package rebootreq

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files, relative to the root given to Read.
const (
	MarkerPath = "run/reboot-required"
	PkgsPath   = "run/reboot-required.pkgs"
)

// maxPkgs caps how much of the .pkgs file is read: it is world-readable
// and only appended to, but the dialog must stay fast whatever it holds.
const maxPkgs = 64 << 10

// maxNames caps the number of names shown.
const maxNames = 200

// Status is what the marker says.
type Status struct {
	Required bool     // the marker exists
	Packages []string // sorted, unique, valid Debian package names
	// QuickEnough is false when a package's update completes only in the
	// firmware or the boot loader, which Quick Restart skips.
	QuickEnough bool
	// NeedsCold names the packages that make QuickEnough false.
	NeedsCold []string
}

// Read reads the marker under root ("/" on a running system).
func Read(root string) (Status, error) {
	_, err := os.Stat(filepath.Join(root, MarkerPath))
	if errors.Is(err, fs.ErrNotExist) {
		return Status{QuickEnough: true}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("cannot read restart marker: %w", err)
	}
	f, err := os.Open(filepath.Join(root, PkgsPath))
	if errors.Is(err, fs.ErrNotExist) {
		return Parse(nil, true), nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("cannot read restart marker: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPkgs))
	if err != nil {
		return Status{}, fmt.Errorf("cannot read restart marker: %w", err)
	}
	return Parse(b, true), nil
}

// Parse turns the .pkgs file's bytes into a Status. Lines that are not
// package names (garbage, a truncated last line) are dropped, not shown.
func Parse(pkgs []byte, required bool) Status {
	s := Status{Required: required, QuickEnough: true}
	seen := map[string]bool{}
	for _, line := range bytes.Split(pkgs, []byte("\n")) {
		name := strings.TrimSpace(string(line))
		if !validName(name) || seen[name] {
			continue
		}
		seen[name] = true
		s.Packages = append(s.Packages, name)
		if len(s.Packages) == maxNames {
			break
		}
	}
	sort.Strings(s.Packages)
	for _, p := range s.Packages {
		if needsCold(p) {
			s.NeedsCold = append(s.NeedsCold, p)
		}
	}
	s.QuickEnough = len(s.NeedsCold) == 0
	return s
}

// validName follows Debian policy §5.6.1: lower case letters, digits, '+',
// '-', '.', at least two characters, starting with a letter or digit. An
// architecture qualifier (":amd64") is allowed.
func validName(s string) bool {
	name, arch, hasArch := strings.Cut(s, ":")
	if hasArch && (arch == "" || !isNameChars(arch, false)) {
		return false
	}
	if len(name) < 2 || len(name) > 128 {
		return false
	}
	c := name[0]
	if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
		return false
	}
	return isNameChars(name, true)
}

func isNameChars(s string, punct bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case punct && (c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// needsCold says whether the package's update finishes outside Linux.
// shim-signed applies SBAT revocations when the firmware starts it; fwupd
// flashes capsules on the way through the firmware.
func needsCold(pkg string) bool {
	name, _, _ := strings.Cut(pkg, ":")
	for _, p := range []string{"shim", "fwupd"} {
		if name == p || strings.HasPrefix(name, p+"-") {
			return true
		}
	}
	return false
}
