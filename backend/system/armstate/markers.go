package armstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Boot markers in StateDir (docs/reboot-design.md, attack list row 42).
const (
	// PendingFile: the helper armed a Quick Restart in the boot it names.
	// Written at Arm, removed at Disarm and expiry, and by the stop-time
	// check when it declines the arm.
	PendingFile = "pending"
	// BootingFile: a boot that followed an armed Quick Restart has started
	// (early boot saw PendingFile); removed once that boot came up.
	BootingFile = "booting"
	// FailedFile: a Quick Restart did not come up. preflight refuses while
	// it exists; a later boot that comes up removes it, so does the admin.
	FailedFile = "last-kexec-failed"
)

// MaxMarkerSize caps a marker file.
const MaxMarkerSize = 4 << 10

// Marker is the content of every marker file.
type Marker struct {
	BootID  string    `json:"boot_id"` // the boot that wrote it
	Time    time.Time `json:"time"`
	Kernel  string    `json:"kernel,omitempty"`
	Version string    `json:"version,omitempty"`
	Note    string    `json:"note,omitempty"` // one line for a person
}

// MarkPending records, durably, that a Quick Restart was armed in the boot
// m.BootID. The helper calls it at Arm, before the load.
func MarkPending(dir string, m Marker) error { return writeMarker(dir, PendingFile, m) }

// ClearPending is for Disarm and expiry.
func ClearPending(dir string) error { return removeMarker(dir, PendingFile) }

// ReadFailed returns the failure marker, or nil when there is none.
func ReadFailed(dir string) (*Marker, error) {
	m, err := readMarker(dir, FailedFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return m, err
}

// ClearFailed is the admin's way to switch Quick Restart back on.
func ClearFailed(dir string) error { return removeMarker(dir, FailedFile) }

// BootKind is how the running kernel was started.
type BootKind int

const (
	BootUnknown  BootKind = iota // this architecture or loader does not say
	BootFirmware                 // a boot loader started it
	BootKexec                    // kexec started it
)

func (k BootKind) String() string {
	return [...]string{"unknown", "firmware", "kexec"}[k]
}

// DetectBoot tells a kexec boot from a boot loader's by the x86 boot
// protocol's type_of_loader, which the kernel shows as the sysctl
// kernel.bootloader_type: kexec_file_load sets 0xD0
// (arch/x86/kernel/kexec-bzimage64.c), boot loaders their own id (GRUB
// 0x72). 0x00 and 0xFF say nothing. Other architectures have no such
// field: BootUnknown.
func DetectBoot(proc string) BootKind {
	b, err := os.ReadFile(filepath.Join(proc, "sys/kernel/bootloader_type"))
	if err != nil {
		return BootUnknown
	}
	return ParseBootloaderType(b)
}

// ParseBootloaderType maps the sysctl's text to a BootKind.
func ParseBootloaderType(b []byte) BootKind {
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 0, 16)
	if err != nil || v > 0xff {
		return BootUnknown
	}
	switch {
	case v>>4 == 0xD:
		return BootKexec
	case v == 0 || v == 0xff:
		return BootUnknown
	}
	return BootFirmware
}

// AtBoot runs early in every boot (rapidreboot-boot.service) and returns
// what it found, for the log ("" when nothing). In order:
//
//   - BootingFile from an earlier boot: that boot followed a Quick Restart
//     and started, but never came up (CameUp was not reached) → FailedFile.
//   - PendingFile from an earlier boot: a Quick Restart was armed before
//     this boot. If this is a kexec boot, or the kind is unknown, it is
//     renamed to BootingFile for CameUp to remove. If the firmware started
//     this boot, the kexec'd kernel never got this far (it hung and was
//     reset, or the hook declined after the stop-time check, or the
//     machine was turned off while armed) → FailedFile.
//   - PendingFile from this boot (soft-reboot, or a second run): removed.
func AtBoot(dir, bootID string, kind BootKind, now time.Time) (string, error) {
	var notes []string
	if b, err := readMarker(dir, BootingFile); err == nil {
		if b.BootID != bootID {
			f := Marker{BootID: bootID, Time: now, Kernel: b.Kernel, Version: b.Version,
				Note: fmt.Sprintf("the kernel %s started by Quick Restart (boot %s) did not finish booting", name(b), b.BootID)}
			if err := writeMarker(dir, FailedFile, f); err != nil {
				return "", err
			}
			if err := removeMarker(dir, BootingFile); err != nil {
				return "", err
			}
			notes = append(notes, f.Note)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}

	p, err := readMarker(dir, PendingFile)
	if errors.Is(err, os.ErrNotExist) {
		return strings.Join(notes, "; "), nil
	}
	if err != nil {
		return "", err
	}
	switch {
	case p.BootID == bootID:
		// Armed in this very boot, and still there at "boot": a soft-reboot
		// (same kernel, same boot id) or the unit run again by hand. Either
		// way the boot step has just dropped the arm and the image, so no
		// Quick Restart is pending any more.
		notes = append(notes, "dropped the pending mark of an arm made in this boot")
	case kind == BootFirmware:
		f := Marker{BootID: bootID, Time: now, Kernel: p.Kernel, Version: p.Version,
			Note: fmt.Sprintf("a Quick Restart into %s was armed, but this boot was started by the firmware", name(p))}
		if err := writeMarker(dir, FailedFile, f); err != nil {
			return "", err
		}
		notes = append(notes, f.Note)
	default:
		b := Marker{BootID: bootID, Time: now, Kernel: p.Kernel, Version: p.Version,
			Note: fmt.Sprintf("booting %s after a Quick Restart (%s boot)", name(p), kind)}
		if err := writeMarker(dir, BootingFile, b); err != nil {
			return "", err
		}
		notes = append(notes, b.Note)
	}
	if err := removeMarker(dir, PendingFile); err != nil {
		return "", err
	}
	return strings.Join(notes, "; "), nil
}

// CameUp runs once the boot reached multi-user.target: this boot is good.
// It removes this boot's BootingFile, and a FailedFile written by an
// earlier boot (a normal restart has since succeeded).
func CameUp(dir, bootID string) (string, error) {
	var notes []string
	if b, err := readMarker(dir, BootingFile); err == nil && b.BootID == bootID {
		if err := removeMarker(dir, BootingFile); err != nil {
			return "", err
		}
		notes = append(notes, fmt.Sprintf("%s came up after a Quick Restart", name(b)))
	}
	if f, err := readMarker(dir, FailedFile); err == nil && f.BootID != bootID {
		if err := removeMarker(dir, FailedFile); err != nil {
			return "", err
		}
		notes = append(notes, "a normal restart came up, Quick Restart is available again")
	}
	return strings.Join(notes, "; "), nil
}

func name(m *Marker) string {
	switch {
	case m.Version != "":
		return "Linux " + m.Version
	case m.Kernel != "":
		return m.Kernel
	}
	return "the new kernel"
}

func writeMarker(dir, file string, m Marker) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cannot encode %s: %w", file, err)
	}
	if len(b) > MaxMarkerSize {
		return fmt.Errorf("cannot write %s: %d bytes, over %d", file, len(b), MaxMarkerSize)
	}
	return writeFile(dir, file, append(b, '\n'))
}

// readMarker reads a marker. A marker that exists but cannot be parsed
// still counts: its existence is the message, and a failure marker must
// not disappear because it was damaged.
func readMarker(dir, file string) (*Marker, error) {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b, err := readFile(dir, file, MaxMarkerSize)
	if err != nil {
		return nil, err
	}
	return decodeMarker(b, file), nil
}

// decodeMarker decodes the marker file read as b; a damaged one is still a
// marker (readMarker).
func decodeMarker(b []byte, file string) *Marker {
	var m Marker
	if err := json.Unmarshal(b, &m); err != nil {
		return &Marker{Note: "the marker " + file + " is damaged"}
	}
	return &m
}

// removeMarker removes dir/file by its path, without the checks reading
// and writing make, deliberately: removing is the safe direction (a
// disarm or a cleared mark must never be blocked by an odd directory), and
// unlink removes a symlink at file itself, never what it points to.
func removeMarker(dir, file string) error {
	err := os.Remove(filepath.Join(dir, file))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot remove %s: %w", filepath.Join(dir, file), err)
	}
	if err == nil {
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}
