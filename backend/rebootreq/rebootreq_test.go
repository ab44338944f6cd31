package rebootreq

import (
	"reflect"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	tests := []struct {
		desc string
		root string
		want Status
	}{
		{"no marker means no restart is required", "testdata/none", Status{QuickEnough: true}},
		{"a marker without a package list is still a required restart", "testdata/nopkgs", Status{Required: true, QuickEnough: true}},
		{"kernel and library updates are finished by Quick Restart", "testdata/kernel", Status{
			Required: true, QuickEnough: true,
			Packages: []string{"libc6", "libssl3:amd64", "linux-image-6.1.0-27-amd64"},
		}},
		{"a shim update wants the firmware path", "testdata/shim", Status{
			Required: true, QuickEnough: false,
			Packages:  []string{"linux-base", "shim-signed"},
			NeedsCold: []string{"shim-signed"},
		}},
		{"a missing root reads as no marker", "testdata/does-not-exist", Status{QuickEnough: true}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := Read(tc.root)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		pkgs []string
		cold []string
	}{
		{"names repeat when several postinsts ask; each is listed once", "libc6\nlibc6\ndbus\n", []string{"dbus", "libc6"}, nil},
		{"blank lines, spaces and CRLF are ignored", "\n  dbus \r\n\n", []string{"dbus"}, nil},
		{"lines that are not package names are dropped", "rm -rf /\n<b>x</b>\nA\nok-pkg\n-x\n", []string{"ok-pkg"}, nil},
		{"a truncated last line without newline still counts", "libc6\nsystem", []string{"libc6", "system"}, nil},
		{"fwupd and shim variants need a normal restart", "fwupd-signed\nshim\nshimmer\n", []string{"fwupd-signed", "shim", "shimmer"}, []string{"fwupd-signed", "shim"}},
		{"an architecture qualifier is kept", "shim-signed:amd64\n", []string{"shim-signed:amd64"}, []string{"shim-signed:amd64"}},
		{"an empty architecture is not a name", "libc6:\n", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := Parse([]byte(tc.in), true)
			if !reflect.DeepEqual(got.Packages, tc.pkgs) || !reflect.DeepEqual(got.NeedsCold, tc.cold) {
				t.Errorf("got %q / %q, want %q / %q", got.Packages, got.NeedsCold, tc.pkgs, tc.cold)
			}
			if got.QuickEnough != (len(tc.cold) == 0) {
				t.Errorf("QuickEnough = %v with cold %q", got.QuickEnough, tc.cold)
			}
		})
	}
}

func TestParseCapsTheNumberOfNames(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString("pkg")
		b.WriteString(strings.Repeat("a", i%50))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("\n")
	}
	if got := Parse([]byte(b.String()), true); len(got.Packages) > maxNames {
		t.Errorf("%d names, want at most %d", len(got.Packages), maxNames)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"libc6\n", "shim-signed:amd64\nlinux-image-6.1.0-27-amd64\n", "\x00\xff\n::\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Parse(b, true)
		for _, p := range s.Packages {
			if !validName(p) {
				t.Fatalf("invalid name %q listed", p)
			}
		}
		if s.QuickEnough != (len(s.NeedsCold) == 0) {
			t.Fatal("QuickEnough disagrees with NeedsCold")
		}
	})
}
