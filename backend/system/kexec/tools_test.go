package kexec_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
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

func TestLoadDisabled(t *testing.T) {
	tests := []struct {
		desc    string
		content *string // nil: the kernel has no such sysctl
		want    bool
	}{
		{"no sysctl", nil, false},
		{"allowed", ptr("0\n"), false},
		{"switched off", ptr("1\n"), true},
		{"anything else counts as off", ptr("2\n"), true},
		{"empty counts as off", ptr(""), true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			proc := t.TempDir()
			if tc.content != nil {
				p := filepath.Join(proc, "sys/kernel/kexec_load_disabled")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := kexec.LoadDisabled(proc)
			if err != nil || got != tc.want {
				t.Fatalf("LoadDisabled = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	// A directory where the file should be is an error, not "allowed".
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "sys/kernel/kexec_load_disabled"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := kexec.LoadDisabled(proc); err == nil {
		t.Fatal("a directory read as a value")
	}
}

func ptr(s string) *string { return &s }
