package notify

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestStoredKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"a written key reads back", "v1 6f0c2a3e-1b7e-4c1d-9a43-0c1f5b2d9e10 2049 1234\n", true},
		{"an empty file is nothing notified", "", false},
		{"another version is nothing notified", "v2 00 1 2", false},
		{"a boot id with spaces cannot hide in the fields", "v1 ab cd 1 2", false},
		{"a boot id with upper case or slashes is refused", "v1 ../AB 1 2", false},
		{"a negative inode is refused", "v1 00 1 -2", false},
		{"garbage is refused", "\x00\xff", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseKey(%q) = %v, %v", tc.in, k, err)
			}
			if tc.ok && k.String()+"\n" != tc.in {
				t.Errorf("round trip %q, want %q", k.String(), tc.in)
			}
		})
	}
}

func TestTheStoreKeepsTheLastKeyAndForgivesAMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "rapidreboot")
	s := store{dir}
	if _, ok := s.load(); ok {
		t.Fatal("a missing store has a key")
	}
	k := Key{BootID: "6f0c2a3e-1b7e-4c1d-9a43-0c1f5b2d9e10", Dev: 1, Ino: 2}
	if err := s.save(k); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.load(); !ok || got != k {
		t.Errorf("load = %v %v", got, ok)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v", st.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left %d files, want 1", len(ents))
	}
}

func TestAStoreThatCannotBeWrittenSaysSo(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	err := (store{filepath.Join(f, "sub")}).save(Key{BootID: "a"})
	if err == nil || !strings.HasPrefix(err.Error(), "cannot save the notified state") {
		t.Errorf("save = %v", err)
	}
}

func TestStateDirFollowsXDG(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		want, err string
	}{
		{"XDG_STATE_HOME wins", map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/rapidreboot", ""},
		{"a relative XDG_STATE_HOME is ignored, as the spec says", map[string]string{"XDG_STATE_HOME": "s", "HOME": "/h"}, "/h/.local/state/rapidreboot", ""},
		{"HOME alone gives the default", map[string]string{"HOME": "/h"}, "/h/.local/state/rapidreboot", ""},
		{"neither is an error", map[string]string{}, "", "cannot find the state directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StateDir(func(k string) string { return tc.env[k] })
			if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.err)) {
				t.Errorf("StateDir = %q, %v", got, err)
			}
		})
	}
}

func rec(mask uint32, name string, pad int) []byte {
	b := make([]byte, unix.SizeofInotifyEvent+len(name)+pad)
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(len(name)+pad))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

func TestInotifyRecords(t *testing.T) {
	join := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		in       []byte
		events   int
		relevant bool
		err      bool
	}{
		{"the marker's creation matters", rec(unix.IN_CREATE, "reboot-required", 1), 1, true, false},
		{"a padded .pkgs append matters", rec(unix.IN_CLOSE_WRITE, "reboot-required.pkgs", 12), 1, true, false},
		{"other files in /run do not", join(rec(unix.IN_CREATE, "utmp", 4), rec(unix.IN_DELETE, "reboot-required-x", 3)), 2, false, false},
		{"an overflow means look again", rec(unix.IN_Q_OVERFLOW, "", 0), 1, true, false},
		{"the second record counts too", join(rec(unix.IN_ATTRIB, "sudo", 4), rec(unix.IN_DELETE, "reboot-required", 1)), 2, true, false},
		{"a short header is an error", []byte{1, 2, 3}, 0, false, true},
		{"a name past the buffer is an error", rec(unix.IN_CREATE, "reboot-required", 1)[:20], 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := parseEvents(tc.in)
			if (err != nil) != tc.err || len(evs) != tc.events || relevant(evs) != tc.relevant {
				t.Errorf("parseEvents = %+v, %v; relevant %v", evs, err, relevant(evs))
			}
		})
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add(rec(unix.IN_CREATE, "reboot-required", 1))
	f.Add(append(rec(unix.IN_CREATE, "a", 3), rec(unix.IN_Q_OVERFLOW, "", 0)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _ := parseEvents(b)
		total := 0
		for _, e := range evs {
			total += unix.SizeofInotifyEvent + len(e.Name)
		}
		if total > len(b) {
			t.Fatalf("events cover %d bytes of %d", total, len(b))
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte("v1 6f0c2a3e-1b7e-4c1d-9a43-0c1f5b2d9e10 2049 1234\n"))
	f.Add([]byte("v1 a 1 2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKey(b)
		if err != nil {
			return
		}
		k2, err := ParseKey([]byte(k.String()))
		if err != nil || k2 != k {
			t.Fatalf("round trip of %v: %v %v", k, k2, err)
		}
	})
}
