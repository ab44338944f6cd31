package uki

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func head(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIsUKIOnConstructedHeaders(t *testing.T) {
	for _, tc := range []struct {
		file     string
		uki      bool
		sections string
	}{
		{"bzimage-efistub.head", false, ".setup .reloc .compat .text"},
		{"uki-ukify.head", true, ".text .rodata .data .sbat .sdmagic .reloc .osrel .cmdline .uname .linux .initrd"},
		{"arm64-image-efistub.head", false, ".text .data"},
		{"vmlinuz-gzip.head", false, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := head(t, tc.file)
			got, err := IsUKI(b)
			if err != nil || got != tc.uki {
				t.Fatalf("IsUKI = %v, %v; want %v", got, err, tc.uki)
			}
			names, err := Sections(b)
			if tc.sections == "" {
				if !errors.Is(err, ErrNotPE) {
					t.Fatalf("Sections of no PE: %v, %v", names, err)
				}
				return
			}
			if err != nil || strings.Join(names, " ") != tc.sections {
				t.Fatalf("Sections = %v, %v", names, err)
			}
		})
	}
}

func TestDamagedHeadersAreErrorsNotPanics(t *testing.T) {
	good := func() []byte { return head(t, "uki-ukify.head") }
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
		want string // "" : not a PE (no error from IsUKI, false)
	}{
		{"truncated before e_lfanew", func(b []byte) []byte { return b[:40] }, ""},
		{"e_lfanew past the head", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[0x3c:], 1<<20); return b }, ""},
		{"e_lfanew inside the DOS header", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[0x3c:], 8); return b }, ""},
		{"no PE signature", func(b []byte) []byte { b[0x40] = 'X'; return b }, ""},
		{"too many sections", func(b []byte) []byte { binary.LittleEndian.PutUint16(b[0x46:], 97); return b }, "over 96"},
		{"section table past the head", func(b []byte) []byte { return b[:0x200] }, "past the"},
		{"optional header of 64 KiB", func(b []byte) []byte { binary.LittleEndian.PutUint16(b[0x54:], 0xffff); return b }, "past the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IsUKI(tc.edit(good()))
			if tc.want == "" {
				if err != nil || got {
					t.Fatalf("IsUKI = %v, %v; want false, nil", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("IsUKI = %v, %v; want an error with %q", got, err, tc.want)
			}
		})
	}
}

func FuzzSections(f *testing.F) {
	for _, n := range []string{"bzimage-efistub.head", "uki-ukify.head", "arm64-image-efistub.head", "vmlinuz-gzip.head"} {
		f.Add(head(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := Sections(b)
		if err == nil && len(names) > maxSections {
			t.Fatalf("%d sections", len(names))
		}
		_, _ = IsUKI(b)
	})
}
