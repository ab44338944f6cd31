package kexec_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/kexec"
)

func TestFindKexecTools(t *testing.T) {
	tests := []struct {
		desc  string
		files map[string]os.FileMode // path → mode; ModeDir for a directory
		want  string
	}{
		{"none installed", nil, ""},
		{"merged /usr", map[string]os.FileMode{"usr/sbin/kexec": 0o755}, "/usr/sbin/kexec"},
		{"unmerged /sbin", map[string]os.FileMode{"sbin/kexec": 0o755}, "/sbin/kexec"},
		{"both: /usr/sbin first", map[string]os.FileMode{"usr/sbin/kexec": 0o755, "sbin/kexec": 0o755}, "/usr/sbin/kexec"},
		{"a directory is not kexec", map[string]os.FileMode{"usr/sbin/kexec": os.ModeDir | 0o755, "sbin/kexec": 0o755}, "/sbin/kexec"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			for p, mode := range tc.files {
				full := filepath.Join(root, p)
				if mode.IsDir() {
					if err := os.MkdirAll(full, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte("#!/bin/false\n"), mode); err != nil {
					t.Fatal(err)
				}
			}
			if got := kexec.FindKexecToolsIn(root); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
