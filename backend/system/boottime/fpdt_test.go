package boottime

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixChecksum makes an edited table sum to 0 again.
func fixChecksum(b []byte) []byte {
	b[9] = 0
	var s byte
	for _, c := range b {
		s += c
	}
	b[9] = -s
	return b
}

func TestParseFPDTOnConstructedTables(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Table
	}{
		{"fpdt-fbpt-s3.bin", Table{FBPT: 0x7ff4e000, S3PT: 0x7ff4f000}},
		{"fpdt-fbpt-only.bin", Table{FBPT: 0xbaf2d000}},
		{"fpdt-unknown-record.bin", Table{FBPT: 0x7ff4e000}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParseFPDT(fixture(t, tc.file))
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseFPDTRefusesDamagedTables(t *testing.T) {
	good := func() []byte { return fixture(t, "fpdt-fbpt-s3.bin") }
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"short", func(b []byte) []byte { return b[:20] }, "shorter than the ACPI header"},
		{"signature", func(b []byte) []byte { copy(b, "FACP"); return fixChecksum(b) }, "signature"},
		{"checksum", func(b []byte) []byte { b[40]++; return b }, "checksum"},
		{"length says more", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 200); return fixChecksum(b) }, "header says 200"},
		{"truncated", func(b []byte) []byte {
			b = b[:60]
			binary.LittleEndian.PutUint32(b[4:], 60)
			return fixChecksum(b)
		}, "length 16"},
		{"record length 0", func(b []byte) []byte { b[38] = 0; return fixChecksum(b) }, "length 0"},
		{"pointer record of 12 bytes", func(b []byte) []byte { b[38] = 12; return fixChecksum(b) }, "want 16"},
		{"stray bytes", func(b []byte) []byte {
			b = append(b, 0, 0)
			binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
			return fixChecksum(b)
		}, "stray"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFPDT(tc.edit(good()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseFBPTOnConstructedRecords(t *testing.T) {
	for _, tc := range []struct {
		file          string
		want          BootRecord
		span, loader  time.Duration
		spanErrNoRecd bool
	}{
		{"fbpt-basic.bin", BootRecord{0, 5812345678, 5913000000, 9120000000, 9135000000}, 9135 * time.Millisecond, 3222 * time.Millisecond, false},
		{"fbpt-unknown-then-basic.bin", BootRecord{1500000, 2000000000, 2100000000, 4000000000, 4010000000}, 4010 * time.Millisecond, 1910 * time.Millisecond, false},
		{"fbpt-zeros.bin", BootRecord{}, 0, 0, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParseFBPT(fixture(t, tc.file))
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			span, err := got.Span()
			if tc.spanErrNoRecd {
				if !errors.Is(err, ErrNoRecord) {
					t.Fatalf("Span: %v, %v; want ErrNoRecord", span, err)
				}
				return
			}
			if err != nil || span != tc.span || got.Loader() != tc.loader {
				t.Fatalf("Span %v, %v, Loader %v; want %v, %v", span, err, got.Loader(), tc.span, tc.loader)
			}
		})
	}
}

func TestParseFBPTRefusesDamagedTables(t *testing.T) {
	good := func() []byte { return fixture(t, "fbpt-basic.bin") }
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"short", func(b []byte) []byte { return b[:6] }, "shorter"},
		{"signature", func(b []byte) []byte { copy(b, "S3PT"); return b }, "signature"},
		{"length over the data", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 100); return b }, "header says 100"},
		{"length under the header", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 4); return b }, "header says 4"},
		{"record of 40 bytes", func(b []byte) []byte { b[10] = 40; return b }, "want 48"},
		{"record past the end", func(b []byte) []byte { b[10] = 60; return b }, "length 60"},
		{"no basic record", func(b []byte) []byte { b[8] = 7; return b }, "no basic boot record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFBPT(tc.edit(good()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSpanRefusesRecordsNoFirmwareWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    BootRecord
	}{
		{"exit 0", BootRecord{StartupStart: 5}},
		{"loader after exit", BootRecord{StartupStart: 9e9, ExitBootServicesExit: 8e9}},
		{"over an hour", BootRecord{ExitBootServicesExit: uint64(2 * time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.r.Span(); !errors.Is(err, ErrNoRecord) {
				t.Fatalf("Span: %v, want ErrNoRecord", err)
			}
		})
	}
}

func TestReadSysfsMatchesTheTable(t *testing.T) {
	got, err := ReadSysfs(filepath.Join("testdata", "sys"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ParseFBPT(fixture(t, "fbpt-basic.bin"))
	if got != want {
		t.Fatalf("sysfs %+v, table %+v", got, want)
	}
	if _, err := ReadSysfs(t.TempDir()); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("no fpdt directory: %v, want ErrNoRecord", err)
	}
}

func TestParseSysfsValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"9135000000\n", 9135000000, true},
		{"0\n", 0, true},
		{"18446744073709551615\n", 1<<64 - 1, true},
		{"18446744073709551616\n", 0, false},
		{"", 0, false},
		{"\n", 0, false},
		{"-1\n", 0, false},
		{" 5\n", 0, false},
		{"0x10\n", 0, false},
		{"5\n\n", 0, false},
	} {
		got, err := ParseSysfsValue([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseFPDT(f *testing.F) {
	for _, n := range []string{"fpdt-fbpt-s3.bin", "fpdt-fbpt-only.bin", "fpdt-unknown-record.bin"} {
		b, _ := os.ReadFile(filepath.Join("testdata", n))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseFPDT(b)
	})
}

func FuzzParseFBPT(f *testing.F) {
	for _, n := range []string{"fbpt-basic.bin", "fbpt-unknown-then-basic.bin", "fbpt-zeros.bin"} {
		b, _ := os.ReadFile(filepath.Join("testdata", n))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseFBPT(b)
		if err != nil {
			return
		}
		if s, err := r.Span(); err == nil && (s <= 0 || s > maxSpan || r.Loader() > s) {
			t.Fatalf("span %v, loader %v of %+v", s, r.Loader(), r)
		}
	})
}
