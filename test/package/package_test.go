// Package pkgtest checks what the built Debian package ships, unpacked by
// test/package/run.sh into $RAPIDREBOOT_PACKAGE_ROOT (dpkg-deb -x). Without
// that variable (make unit) the tests skip.
package pkgtest

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

func packageRoot(t *testing.T) string {
	t.Helper()
	root := os.Getenv("RAPIDREBOOT_PACKAGE_ROOT")
	if root == "" {
		t.Skip("run by test/package/run.sh on the unpacked .deb (RAPIDREBOOT_PACKAGE_ROOT)")
	}
	return root
}

// find returns the first of the paths that exists under root: Debian 12's
// package puts the hook under /lib, other layouts under /usr/lib.
func find(t *testing.T, root string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return filepath.Join(root, p)
		}
	}
	t.Fatalf("none of %v in the package", paths)
	return ""
}

// linkage is how an ELF file is linked: its program interpreter (PT_INTERP,
// "" for none) and its DT_NEEDED libraries.
type linkage struct {
	interp string
	needed []string
}

func (l linkage) static() bool { return l.interp == "" && len(l.needed) == 0 }

func (l linkage) String() string {
	if l.static() {
		return "static (no PT_INTERP, no DT_NEEDED)"
	}
	return fmt.Sprintf("dynamic (interpreter %q, needs %v)", l.interp, l.needed)
}

func linkageOf(path string) (linkage, error) {
	f, err := elf.Open(path)
	if err != nil {
		return linkage{}, fmt.Errorf("cannot read %s as ELF: %w", path, err)
	}
	defer f.Close()
	var l linkage
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return linkage{}, fmt.Errorf("cannot read the PT_INTERP of %s: %w", path, err)
		}
		l.interp = strings.TrimRight(string(b), "\x00")
		if l.interp == "" {
			l.interp = "(empty)"
		}
	}
	needed, err := f.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return linkage{}, fmt.Errorf("cannot read the DT_NEEDED of %s: %w", path, err)
	}
	l.needed = needed
	return l, nil
}

// TestThePackagedRootProgramsAreStaticAndTheDialogIsDynamic is issue 12
// item 10: the programs that run as root have no dynamic loader that
// LD_PRELOAD or GCONV_PATH could steer; the dialog links GTK.
func TestThePackagedRootProgramsAreStaticAndTheDialogIsDynamic(t *testing.T) {
	root := packageRoot(t)
	cases := []struct {
		name   string
		paths  []string
		static bool
	}{
		{"helper", []string{"usr/libexec/rapidreboot/rapidreboot-helper"}, true},
		{"shutdown hook", []string{"lib/systemd/system-shutdown/rapidreboot", "usr/lib/systemd/system-shutdown/rapidreboot"}, true},
		{"rapidrebootctl", []string{"usr/bin/rapidrebootctl"}, true},
		{"dialog", []string{"usr/bin/rapidreboot"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := find(t, root, c.paths...)
			l, err := linkageOf(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("/%s: %s", strings.TrimPrefix(p, root+"/"), l)
			if l.static() != c.static {
				t.Errorf("/%s is %s, want static=%v", strings.TrimPrefix(p, root+"/"), l, c.static)
			}
		})
	}
}

// TestTheLinkageCheckTellsDynamicFromStatic: the check itself, on this
// machine's /bin/sh (dynamic) and on a cgo-free Go program built here.
func TestTheLinkageCheckTellsDynamicFromStatic(t *testing.T) {
	if l, err := linkageOf("/bin/sh"); err != nil || l.static() || l.interp == "" || len(l.needed) == 0 {
		t.Errorf("/bin/sh: %v, %v; want dynamic with an interpreter and libraries", l, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode   string
		static bool
	}{{"exe", true}, {"pie", false}} {
		out := filepath.Join(dir, c.mode)
		cmd := exec.Command(goBin, "build", "-buildmode="+c.mode, "-o", out, src)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build -buildmode=%s: %v\n%s", c.mode, err, b)
		}
		l, err := linkageOf(out)
		if err != nil {
			t.Fatal(err)
		}
		// A cgo-free PIE has no DT_NEEDED but still a PT_INTERP: the loader
		// runs, and reads LD_PRELOAD. That is why the root programs are not
		// built as PIE.
		if l.static() != c.static {
			t.Errorf("CGO_ENABLED=0 -buildmode=%s: %v, want static=%v", c.mode, l, c.static)
		}
	}
}

// TestThePackagedUnitsScoreAtMost25 runs systemd-analyze security on the
// unit files as the package installs them (assets/units_test.go checks the
// sources in make unit).
func TestThePackagedUnitsScoreAtMost25(t *testing.T) {
	root := packageRoot(t)
	sa := testtool.Need(t, "systemd-analyze", "systemd")
	var units []string
	for _, d := range []string{"lib/systemd/system", "usr/lib/systemd/system", "usr/lib/systemd/user"} {
		m, _ := filepath.Glob(filepath.Join(root, d, "rapidreboot*.service"))
		for _, u := range m {
			// The init scripts' names are masked with links to /dev/null.
			if fi, err := os.Lstat(u); err == nil && fi.Mode().IsRegular() {
				units = append(units, u)
			}
		}
	}
	if len(units) < 3 {
		t.Fatalf("the package has units %v, want at least three", units)
	}
	re := regexp.MustCompile(`Overall exposure level for \S+: ([0-9]+\.[0-9])`)
	for _, u := range units {
		cmd := exec.Command(sa, "security", "--offline=yes", "--no-pager", "--threshold=25", u)
		cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0", "LC_ALL=C")
		out, err := cmd.CombinedOutput()
		m := re.FindSubmatch(out)
		if m == nil {
			t.Errorf("%s: no exposure level in:\n%s", u, out)
			continue
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s: exposure %.1f", filepath.Base(u), v)
		if err != nil || v > 2.5 {
			t.Errorf("%s: exposure %.1f (%v), want at most 2.5", filepath.Base(u), v, err)
		}
	}
}
