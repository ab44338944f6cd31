package menulst

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMenuLstParsesAsGrubLegacyReadsIt(t *testing.T) {
	m := Parse([]byte(`# menu.lst
default=1
timeout 5
## ## Start Default Options ##
# kopt=root=UUID=abcd ro
# defoptions=quiet splash
## ## End Default Options ##
title		Debian GNU/Linux, kernel 2.6.26-2-686
root		(hd0,0)
kernel		--no-mem-option /boot/vmlinuz-2.6.26-2-686 root=/dev/hda1 ro quiet
initrd		/boot/initrd.img-2.6.26-2-686
title	Other
kernel (hd0,1)/kernel a=b   c
initrd /one
initrd /two
title Windows
rootnoverify (hd0,2)
chainloader +1
`))
	if m.Default != "1" || m.DefaultLine != 2 || m.Kopt != "root=UUID=abcd ro" || m.Defoptions != "quiet splash" || len(m.Entries) != 3 {
		t.Fatalf("got %+v", m)
	}
	e := m.Entries[0]
	if e.Title != "Debian GNU/Linux, kernel 2.6.26-2-686" || e.Root != "(hd0,0)" || e.Kernel != "/boot/vmlinuz-2.6.26-2-686" || e.Cmdline != "root=/dev/hda1 ro quiet" || !reflect.DeepEqual(e.Initrds, []string{"/boot/initrd.img-2.6.26-2-686"}) {
		t.Errorf("entry 0: %+v", e)
	}
	if e := m.Entries[1]; e.Kernel != "(hd0,1)/kernel" || e.Cmdline != "a=b   c" || !reflect.DeepEqual(e.Initrds, []string{"/two"}) {
		t.Errorf("entry 1: %+v", e)
	}
	if m.Entries[2].Loader != "chainloader" {
		t.Errorf("entry 2: %+v", m.Entries[2])
	}
	for saved, want := range map[string]int{"": 1} {
		if got := m.DefaultIndex(saved); got != want {
			t.Errorf("DefaultIndex = %d", got)
		}
	}
	m.Default = "saved"
	if m.DefaultIndex("2\n") != 2 || m.DefaultIndex("x") != 0 || m.DefaultIndex("7") != 0 {
		t.Error("saved default")
	}
}

func FuzzParse(f *testing.F) {
	m, _ := filepath.Glob("../bootplan/testdata/*/root/boot/grub/menu.lst")
	for _, p := range m {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("title\nkernel --x\ninitrd\ndefault=saved"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := Parse(b)
		if i := m.DefaultIndex(string(b)); i < 0 || len(m.Entries) > 0 && i >= len(m.Entries) {
			t.Fatalf("index %d of %d", i, len(m.Entries))
		}
	})
}

func TestTenMegabyteMenuLstFinishes(t *testing.T) {
	Parse([]byte(strings.Repeat("title x\nkernel --a --b /k a\n", 10<<20/26)))
	Parse([]byte(strings.Repeat("kernel "+strings.Repeat("--x ", 1000), 2500)))
}
