package bootid_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/bootid"
)

const id = "6f0c2a3e-1b7e-4c1d-9a43-0c1f5b2d9e10"

func TestRead(t *testing.T) {
	tests := []struct {
		desc    string
		content *string // nil: no file
		want    string
		wantErr bool
	}{
		{"the kernel's form, with its newline", ptr(id + "\n"), id, false},
		{"no file", nil, "", true},
		{"empty", ptr(""), "", true},
		{"nonsense", ptr("nonsense\n"), "", true},
		{"36 characters and four dashes but not hex", ptr("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz\n"), "", true},
		{"upper case", ptr(strings.ToUpper(id) + "\n"), "", true},
		{"a short id", ptr("0123abcd\n"), "", true},
		{"dashes in the wrong places", ptr("6f0c2a3e1-b7e-4c1d-9a43-0c1f5b2d9e10\n"), "", true},
		{"path characters", ptr("../../../etc/passwd-aaaa-bbbb-cccccc\n"), "", true},
		{"a long file", ptr(id + strings.Repeat("0", 4096)), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			proc := t.TempDir()
			if tc.content != nil {
				p := filepath.Join(proc, bootid.File)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := bootid.Read(proc)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Read = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "cannot read the boot id") {
				t.Fatalf("error without context: %v", err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func FuzzValid(f *testing.F) {
	f.Add(id)
	f.Add("0123abcd")
	f.Fuzz(func(t *testing.T, s string) {
		if !bootid.Valid(s) {
			return
		}
		if len(s) != 36 || strings.Count(s, "-") != 4 || strings.ToLower(s) != s || strings.ContainsAny(s, " /.\n") {
			t.Fatalf("Valid(%q)", s)
		}
	})
}
