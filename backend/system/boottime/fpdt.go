// Package boottime measures what a Quick Restart saves on this machine:
// the firmware and boot loader time that a kexec skips. Three sources, in
// the order they are trusted (docs/boottime.md):
//
//   - fpdt: the ACPI Firmware Performance Data Table's basic boot record,
//     as Linux shows it in /sys/firmware/acpi/fpdt/boot/ (since 5.12), or
//     as raw FPDT and FBPT bytes;
//   - systemd: the Manager's FirmwareTimestampMonotonic (systemd fills it
//     from the boot loader's EFI variables or from the same FPDT record);
//   - measured: the gap between the end of each shutdown and the start of
//     the next kernel, kept per kind of restart in a small root-owned
//     history (history.go); what Quick Restart saves is the median gap of
//     firmware restarts minus that of Quick Restarts.
//
// Every parser here is a pure function over bytes; the readers around them
// are thin.
package boottime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoRecord: the source has no usable record (no FPDT table, a firmware
// that logs zeros, a record out of range). Callers treat it as "not
// measured", never as a failure.
var ErrNoRecord = errors.New("no firmware boot performance record")

// BootRecord is the ACPI Firmware Basic Boot Performance Data Record
// (ACPI 6.5 §5.2.24.7, type 0x0002, revision 2). Each field is a timestamp
// in nanoseconds of the platform's timer, which starts at (or near) the
// reset.
type BootRecord struct {
	ResetEnd              uint64 // the firmware's image started running
	LoadStart             uint64 // OS loader LoadImage start
	StartupStart          uint64 // OS loader StartImage start
	ExitBootServicesEntry uint64
	ExitBootServicesExit  uint64 // the OS (kernel's EFI stub or loader) owns the machine
}

// maxSpan bounds a believable firmware + loader time. systemd refuses the
// record above one hour (src/shared/acpi-fpdt.c); so does this package.
const maxSpan = time.Hour

// Span is the time from the reset to the end of ExitBootServices: the
// firmware and the boot loader, including any boot menu the loader waited
// on, all of which a kexec skips. This is what systemd takes as its
// FirmwareTimestamp from the same record.
func (r BootRecord) Span() (time.Duration, error) {
	switch {
	case r.ExitBootServicesExit == 0:
		return 0, fmt.Errorf("%w: ExitBootServices exit is 0", ErrNoRecord)
	case r.StartupStart > r.ExitBootServicesExit:
		return 0, fmt.Errorf("%w: the loader started (%d ns) after ExitBootServices ended (%d ns)", ErrNoRecord, r.StartupStart, r.ExitBootServicesExit)
	case r.ExitBootServicesExit > uint64(maxSpan):
		return 0, fmt.Errorf("%w: ExitBootServices ended %d ns after the reset, over %s", ErrNoRecord, r.ExitBootServicesExit, maxSpan)
	}
	return time.Duration(r.ExitBootServicesExit), nil
}

// Loader is the boot loader's part of Span: from StartImage of the OS
// loader to the end of ExitBootServices (menu timeout included), or 0
// when the record does not say.
func (r BootRecord) Loader() time.Duration {
	if r.StartupStart == 0 || r.StartupStart > r.ExitBootServicesExit {
		return 0
	}
	return time.Duration(r.ExitBootServicesExit - r.StartupStart)
}

// ACPI layout constants.
const (
	acpiHeaderLen = 36 // signature, length, revision, checksum, OEM ids…

	recFBPTPointer = 0x0000 // Firmware Basic Boot Performance Pointer Record
	recS3Pointer   = 0x0001 // S3 Performance Table Pointer Record
	recBasicBoot   = 0x0002 // Firmware Basic Boot Performance Data Record

	pointerRecLen = 16 // type u16, length u8, revision u8, reserved u32, address u64
	basicBootLen  = 48 // type u16, length u8, revision u8, reserved u32, 5 × u64
	fbptHeaderLen = 8  // "FBPT", length u32

	// MaxTableSize caps the raw table read: an FPDT is 36 + 16·n bytes
	// and an FBPT a few hundred.
	MaxTableSize = 64 << 10
)

// Table is what the FPDT table itself holds: where the boot performance
// table (FBPT) and the S3 table are in physical memory. The FBPT is not a
// file; Linux maps it and shows its basic boot record in sysfs.
type Table struct {
	FBPT uint64 // physical address, 0 when the table has no pointer record
	S3PT uint64
}

// ParseFPDT parses the raw ACPI table (/sys/firmware/acpi/tables/FPDT):
// the standard header with signature "FPDT", a length equal to len(b) and
// a checksum that sums to 0, then performance records, each at least 4
// bytes, within the table. Records of other types are skipped, as the
// spec asks of an OS that does not know them.
func ParseFPDT(b []byte) (Table, error) {
	var t Table
	if len(b) < acpiHeaderLen {
		return t, fmt.Errorf("FPDT: %d bytes, shorter than the ACPI header", len(b))
	}
	if string(b[:4]) != "FPDT" {
		return t, fmt.Errorf("FPDT: signature %q", b[:4])
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if uint64(n) != uint64(len(b)) {
		return t, fmt.Errorf("FPDT: header says %d bytes, the table has %d", n, len(b))
	}
	var sum byte
	for _, c := range b {
		sum += c
	}
	if sum != 0 {
		return t, fmt.Errorf("FPDT: checksum off by %d", sum)
	}
	for off := acpiHeaderLen; off < len(b); {
		if len(b)-off < 4 {
			return t, fmt.Errorf("FPDT: %d stray bytes at offset %d", len(b)-off, off)
		}
		typ := binary.LittleEndian.Uint16(b[off:])
		l := int(b[off+2])
		if l < 4 || off+l > len(b) {
			return t, fmt.Errorf("FPDT: record at offset %d has length %d", off, l)
		}
		switch typ {
		case recFBPTPointer, recS3Pointer:
			if l != pointerRecLen {
				return t, fmt.Errorf("FPDT: pointer record at offset %d has length %d, want %d", off, l, pointerRecLen)
			}
			a := binary.LittleEndian.Uint64(b[off+8:])
			if typ == recFBPTPointer {
				t.FBPT = a
			} else {
				t.S3PT = a
			}
		}
		off += l
	}
	return t, nil
}

// ParseFBPT parses the Firmware Basic Boot Performance Table (as read from
// the physical address in the FPDT): header "FBPT" and its length, then
// records; it returns the basic boot record. A table without one is
// ErrNoRecord.
func ParseFBPT(b []byte) (BootRecord, error) {
	var r BootRecord
	if len(b) < fbptHeaderLen {
		return r, fmt.Errorf("FBPT: %d bytes, shorter than its header", len(b))
	}
	if string(b[:4]) != "FBPT" {
		return r, fmt.Errorf("FBPT: signature %q", b[:4])
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if n < fbptHeaderLen || uint64(n) > uint64(len(b)) {
		return r, fmt.Errorf("FBPT: header says %d bytes, %d given", n, len(b))
	}
	b = b[:n]
	for off := fbptHeaderLen; off < len(b); {
		if len(b)-off < 4 {
			return r, fmt.Errorf("FBPT: %d stray bytes at offset %d", len(b)-off, off)
		}
		typ := binary.LittleEndian.Uint16(b[off:])
		l := int(b[off+2])
		if l < 4 || off+l > len(b) {
			return r, fmt.Errorf("FBPT: record at offset %d has length %d", off, l)
		}
		if typ == recBasicBoot {
			if l != basicBootLen {
				return r, fmt.Errorf("FBPT: basic boot record at offset %d has length %d, want %d", off, l, basicBootLen)
			}
			u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[off+8+8*i:]) }
			return BootRecord{ResetEnd: u(0), LoadStart: u(1), StartupStart: u(2),
				ExitBootServicesEntry: u(3), ExitBootServicesExit: u(4)}, nil
		}
		off += l
	}
	return r, fmt.Errorf("%w: the FBPT has no basic boot record", ErrNoRecord)
}

// sysfsFields are the files of /sys/firmware/acpi/fpdt/boot/ (Linux
// drivers/acpi/acpi_fpdt.c), each "%llu\n" in nanoseconds.
var sysfsFields = []string{"reset_end", "load_start", "startup_start", "exitbootservice_start", "exitbootservice_end"}

// ParseSysfsValue parses one of those files.
func ParseSysfsValue(b []byte) (uint64, error) {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" || len(s) > 20 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a decimal count of nanoseconds: %q", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a count of nanoseconds: %w", err)
	}
	return v, nil
}

// ReadSysfs reads the basic boot record Linux found (sys is "/sys"). No
// directory (no FPDT, or a kernel before 5.12) is ErrNoRecord.
func ReadSysfs(sys string) (BootRecord, error) {
	dir := filepath.Join(sys, "firmware/acpi/fpdt/boot")
	var v [5]uint64
	for i, name := range sysfsFields {
		p := filepath.Join(dir, name)
		b, err := readSmall(p, 64)
		if errors.Is(err, os.ErrNotExist) {
			return BootRecord{}, fmt.Errorf("%w: %s", ErrNoRecord, p)
		}
		if err != nil {
			return BootRecord{}, err
		}
		if v[i], err = ParseSysfsValue(b); err != nil {
			return BootRecord{}, fmt.Errorf("%s: %w", p, err)
		}
	}
	return BootRecord{v[0], v[1], v[2], v[3], v[4]}, nil
}

// readSmall reads at most max bytes of a sysfs or proc file.
func readSmall(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, max+1)
	n, err := f.Read(b)
	if n == 0 && err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	if int64(n) > max {
		return nil, fmt.Errorf("%s: over %d bytes", p, max)
	}
	return b[:n], nil
}
