// Package uki tells a unified kernel image (UKI: an EFI PE application
// that carries the kernel in a .linux section, the initrd in .initrd, the
// command line in .cmdline) from a plain kernel image, from the first
// bytes of the file. kexec_file_load takes the kernel itself (on x86 a
// bzImage, whose EFI stub is also a PE but has no .linux section), so a
// plan whose kernel is a UKI cannot be loaded and says so before any load.
package uki

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// HeadSize is how much of a file Sections needs at most: the DOS header,
// the PE headers and the section table all sit in the first few KiB of a
// real image; 64 KiB leaves room for odd linkers.
const HeadSize = 64 << 10

const (
	dosMagic      = "MZ"
	lfanewOffset  = 0x3c
	peMagic       = "PE\x00\x00"
	coffLen       = 20
	sectionLen    = 40
	maxSections   = 96 // the PE format allows 96 sections in an image
	linuxSection  = ".linux"
	lfanewMaximum = HeadSize
)

// ErrNotPE is returned by Sections for bytes that are not a PE image (an
// arm64 Image without EFI stub, a gzip'd kernel, ...). Such a kernel is not
// a UKI.
var ErrNotPE = errors.New("not a PE image")

// Sections returns the section names of the PE image whose first bytes are
// head. Names are the 8-byte short names with the NUL padding removed (a
// long name "/4" is returned as is: UKI tools use short names).
func Sections(head []byte) ([]string, error) {
	if len(head) < lfanewOffset+4 || string(head[:2]) != dosMagic {
		return nil, ErrNotPE
	}
	pe := int64(binary.LittleEndian.Uint32(head[lfanewOffset:]))
	if pe < lfanewOffset+4 || pe > lfanewMaximum || pe+4+coffLen > int64(len(head)) {
		return nil, fmt.Errorf("%w: PE header at %d, %d bytes read", ErrNotPE, pe, len(head))
	}
	if string(head[pe:pe+4]) != peMagic {
		return nil, ErrNotPE
	}
	coff := head[pe+4:]
	n := int(binary.LittleEndian.Uint16(coff[2:]))
	opt := int64(binary.LittleEndian.Uint16(coff[16:]))
	if n > maxSections {
		return nil, fmt.Errorf("PE image with %d sections, over %d", n, maxSections)
	}
	table := pe + 4 + coffLen + opt
	if end := table + int64(n)*sectionLen; end > int64(len(head)) {
		return nil, fmt.Errorf("PE section table ends at %d, past the %d bytes read", end, len(head))
	}
	names := make([]string, 0, n)
	for i := 0; i < n; i++ {
		raw := head[table+int64(i)*sectionLen:][:8]
		names = append(names, strings.TrimRight(string(raw), "\x00"))
	}
	return names, nil
}

// IsUKI reports whether head starts a unified kernel image: a PE image
// with a .linux section. Bytes that are no PE image are not a UKI; a PE
// image whose headers are damaged is an error.
func IsUKI(head []byte) (bool, error) {
	names, err := Sections(head)
	if errors.Is(err, ErrNotPE) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == linuxSection {
			return true, nil
		}
	}
	return false, nil
}
