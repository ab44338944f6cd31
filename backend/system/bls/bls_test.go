package bls

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The order systemd documents for strverscmp_improved
// (src/fundamental/string-util-fundamental.c), oldest first.
var systemdOrder = []string{"122.1", "123~rc1-1", "123", "123-a", "123-a.1", "123-1", "123-1.1", "123^post1", "123.a-1", "123.1-1", "123a-1", "124-1"}

func TestVersionsCompareAsSystemdDocumentsThem(t *testing.T) {
	for i := range systemdOrder {
		for j := range systemdOrder {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := VersionCompare(systemdOrder[i], systemdOrder[j]); got != want {
				t.Errorf("VersionCompare(%q, %q) = %d, want %d", systemdOrder[i], systemdOrder[j], got, want)
			}
		}
	}
	// rpm's order for RHEL z-stream kernels, and leading zeros.
	if VersionCompare("3.10.0-514.26.2.el7.x86_64", "3.10.0-514.el7.x86_64") != 1 || VersionCompare("007", "7") != 0 {
		t.Error("rpm-style releases")
	}
}

func TestEntriesParseWithRepeatedKeysAndBootCounters(t *testing.T) {
	e, warns := Parse([]byte("# comment\ntitle  Fedora Linux (6.5.6) 39\nversion 6.5.6-300.fc39.x86_64\nmachine-id abc\nlinux\t/vmlinuz-6.5.6\ninitrd /intel-ucode.img\ninitrd /initramfs-6.5.6.img $tuned_initrd\noptions root=UUID=1 ro\noptions  rhgb quiet\ngrub_users $grub_users\nfrobnicate yes\n"),
		"abc-6.5.6-300.fc39.x86_64+2-1.conf")
	if e.ID != "abc-6.5.6-300.fc39.x86_64" || e.TriesLeft != 2 || e.Title != "Fedora Linux (6.5.6) 39" || e.Linux != "/vmlinuz-6.5.6" {
		t.Errorf("got %+v", e)
	}
	if !reflect.DeepEqual(e.Initrds, []string{"/intel-ucode.img", "/initramfs-6.5.6.img", "$tuned_initrd"}) || e.Options != "root=UUID=1 ro rhgb quiet" {
		t.Errorf("initrds %q options %q", e.Initrds, e.Options)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "frobnicate") {
		t.Errorf("warnings %q", warns)
	}
	if ParseLoader([]byte("timeout 3\n#default x\ndefault\tarch-*\n")).Default != "arch-*" {
		t.Error("loader.conf default")
	}
}

func ids(es []*Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestMenuOrderIsSystemdBoots(t *testing.T) {
	mk := func(id, sortKey, machine, version string, tries int) *Entry {
		return &Entry{ID: id, FileName: id + ".conf", SortKey: sortKey, MachineID: machine, Version: version, TriesLeft: tries}
	}
	es := []*Entry{
		mk("fedora-6.1", "", "", "", -1),
		mk("fedora-6.10", "", "", "", -1),
		mk("b-keyed-old", "fedora", "m1", "6.1", -1),
		mk("a-keyed-new", "fedora", "m1", "6.2", -1),
		mk("keyed-other-machine", "fedora", "m0", "1.0", -1),
		mk("arch", "arch", "m9", "1", -1),
		mk("fedora-9.9", "", "", "", 0), // no tries left
	}
	Sort(es)
	want := []string{"arch", "keyed-other-machine", "a-keyed-new", "b-keyed-old", "fedora-6.10", "fedora-6.1", "fedora-9.9"}
	if got := ids(es); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if i, ok := Default(es, "fedora-6.1*"); !ok || es[i].ID != "fedora-6.10" {
		t.Fatalf("default glob: %d %v", i, ok)
	}
	if i, ok := Default(es, "arch.conf"); !ok || i != 0 {
		t.Fatal("default with .conf")
	}
	if i, ok := Default(es, "@saved"); ok || i != 0 {
		t.Fatal("@saved")
	}
	if _, ok := Default(es, "[bad"); ok {
		t.Fatal("bad pattern matched")
	}
}

func TestBlscfgOrderIsNewestVersionFirst(t *testing.T) {
	es := []*Entry{{ID: "b-5.14.14-200.fc34", Version: "5.14.14-200.fc34"}, {ID: "a-6.0.12-100.fc35", Version: "6.0.12-100.fc35"}, {ID: "c-5.11.12-300.fc34", Version: "5.11.12-300.fc34"}}
	SortByVersion(es)
	if got := ids(es); !reflect.DeepEqual(got, []string{"a-6.0.12-100.fc35", "b-5.14.14-200.fc34", "c-5.11.12-300.fc34"}) {
		t.Fatalf("got %q", got)
	}
}

func FuzzParse(f *testing.F) {
	m, _ := filepath.Glob("../bootplan/testdata/*/root/boot/loader/entries/*.conf")
	for _, p := range m {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, filepath.Base(p))
		}
	}
	f.Add([]byte("title\n\t\noptions"), "x+1-2.conf")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		e, _ := Parse(b, name)
		if e == nil {
			t.Fatal("nil entry")
		}
		ParseLoader(b)
	})
}

func FuzzVersionCompare(f *testing.F) {
	for _, s := range systemdOrder {
		f.Add(s, "6.1.0-27.fc39")
	}
	f.Add("~~--..^^", "~-.^")
	f.Fuzz(func(t *testing.T, a, b string) {
		if VersionCompare(a, b) != -VersionCompare(b, a) {
			t.Fatalf("not antisymmetric: %q %q", a, b)
		}
		if VersionCompare(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
	})
}

func TestVersionCompareOnTenMegabytesFinishes(t *testing.T) {
	a := strings.Repeat("1.a-~^", 10<<20/6)
	VersionCompare(a, a+"x")
	Parse([]byte(strings.Repeat("options a\n", 1<<20)), "big.conf")
}
