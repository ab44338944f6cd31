package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The image builder's helpers (image/lib.sh), run by bash on canned apt
// output: no root, chroot or archive. TestMain runs the TestUnit tests
// without a guest.

// libsh runs script in bash after sourcing image/lib.sh, with die and log
// as build.sh defines them, and returns stdout, stderr and the exit code.
func libsh(t *testing.T, script string, files map[string]string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lib, err := filepath.Abs("image/lib.sh")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", `set -euo pipefail
log() { printf 'e2e image: %s\n' "$*" >&2; }
die() { log "cannot build the guest image: $*"; exit 1; }
. "$LIB"
`+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LIB="+lib)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("bash: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the helper did not finish in 30 s (stderr: %s)", stderr.String())
	}
	return stdout.String(), stderr.String(), rc
}

func TestUnitImageOlderKernel(t *testing.T) {
	names := strings.Join([]string{
		"linux-image-6.1.0-50-amd64", "linux-image-6.1.0-56-amd64", "linux-image-6.1.0-9-amd64",
		"linux-image-6.1.0-56-rt-amd64", "linux-image-6.1.0-50-amd64-unsigned", "linux-image-6.1.0-50-amd64-dbg",
		"linux-image-6.12.107+deb13-amd64", "linux-image-6.12.117+deb13-amd64", "linux-image-6.12.9+deb13-amd64",
		"linux-image-6.12.118+deb13-amd64", "linux-image-6.12.117+deb13-rt-amd64",
		"linux-image-6.12.107+deb13-amd64-unsigned", "linux-image-6.12.107+deb13-cloud-amd64",
		"linux-image-amd64", "linux-image-cloud-amd64",
	}, "\n") + "\n"
	for _, c := range []struct{ newest, series, older string }{
		{"linux-image-6.1.0-56-amd64", `^linux-image-6\.1\.0-[0-9]+-amd64$`, "linux-image-6.1.0-50-amd64"},
		{"linux-image-6.1.0-50-amd64", `^linux-image-6\.1\.0-[0-9]+-amd64$`, "linux-image-6.1.0-9-amd64"},
		{"linux-image-6.1.0-9-amd64", `^linux-image-6\.1\.0-[0-9]+-amd64$`, ""},
		{"linux-image-6.12.118+deb13-amd64", `^linux-image-6\.12\.[0-9]+\+deb13-amd64$`, "linux-image-6.12.117+deb13-amd64"},
		// sort -V, not sort: 107 is above 9.
		{"linux-image-6.12.107+deb13-amd64", `^linux-image-6\.12\.[0-9]+\+deb13-amd64$`, "linux-image-6.12.9+deb13-amd64"},
		// the newest not among the names (apt lists only what it has)
		{"linux-image-6.12.110+deb13-amd64", `^linux-image-6\.12\.[0-9]+\+deb13-amd64$`, "linux-image-6.12.107+deb13-amd64"},
		{"linux-image-amd64", "", ""},
		{"linux-image-6.12-amd64", "", ""},
	} {
		t.Run(c.newest, func(t *testing.T) {
			series := c.series
			if series == "" {
				series = "no series"
			}
			want := series + "\n"
			if c.older != "" {
				want += c.older + "\n"
			}
			out, stderr, rc := libsh(t, `set -- `+shellQuote(c.newest)+`; kernel_series "$1" || echo "no series"; older_kernel "$1" <names`,
				map[string]string{"names": names})
			if rc != 0 || out != want {
				t.Errorf("kernel_series and older_kernel of %s (rc %d, %s):\n%s\nwant:\n%s", c.newest, rc, stderr, out, want)
			}
		})
	}
}

func TestUnitImagePackagesPerSuite(t *testing.T) {
	list := "# comment\nsystemd-sysv udev # two\n\nbookworm: libgtk-3-0\ntrixie: libgtk-3-0t64 polkitd\n  xvfb\n"
	for suite, want := range map[string]string{
		"bookworm": "systemd-sysv udev libgtk-3-0 xvfb",
		"trixie":   "systemd-sysv udev libgtk-3-0t64 polkitd xvfb",
		"sid":      "systemd-sysv udev xvfb",
	} {
		out, _, rc := libsh(t, `packages_for `+suite+` <list | tr '\n' ' '`, map[string]string{"list": list})
		if rc != 0 || strings.TrimSpace(out) != want {
			t.Errorf("packages_for %s: %q (rc %d), want %q", suite, out, rc, want)
		}
	}
	// The real list gives the renamed library to each suite.
	real, err := os.ReadFile("image/packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	for suite, gtk := range map[string]string{"bookworm": "libgtk-3-0", "trixie": "libgtk-3-0t64"} {
		out, _, _ := libsh(t, `packages_for `+suite+` <list`, map[string]string{"list": string(real)})
		names := strings.Fields(out)
		if !contains(names, gtk) || !contains(names, "linux-image-amd64") || !contains(names, "polkitd") {
			t.Errorf("packages.txt for %s: %v; want %s, linux-image-amd64, polkitd among them", suite, names, gtk)
		}
	}
}

// apt-cache policy as Debian 13's apt prints it for a real package, a
// virtual one and (nothing at all for) one that does not exist.
const trixiePolicy = `systemd-sysv:
  Installed: (none)
  Candidate: 257.9-1~deb13u1
  Version table:
     257.9-1~deb13u1 500
        500 http://deb.debian.org/debian trixie/main amd64 Packages
libgtk-3-0:
  Installed: (none)
  Candidate: (none)
  Version table:
linux-image-6.12.117+deb13-amd64:
  Installed: (none)
  Candidate: 6.12.117-1
  Version table:
     6.12.117-1 500
        500 http://deb.debian.org/debian trixie/main amd64 Packages
`

const trixieShowpkgGtk = `Package: libgtk-3-0
Versions: 

Reverse Depends: 
  libgtk-3-0t64,libgtk-3-0
Dependencies: 
Provides: 
Reverse Provides: 
libgtk-3-0t64 3.24.49-3 (= 3.24.49-3)
`

func TestUnitImageMissingPackages(t *testing.T) {
	out, _, rc := libsh(t, `missing_packages systemd-sysv libgtk-3-0 policykit-1 linux-image-6.12.117+deb13-amd64 <policy`,
		map[string]string{"policy": trixiePolicy})
	if rc != 0 || out != "libgtk-3-0\npolicykit-1\n" {
		t.Errorf("missing_packages: %q (rc %d), want libgtk-3-0 and policykit-1", out, rc)
	}
}

// check_packages fails the build at once, naming each missing package and
// who provides a virtual one; it never reaches apt-get install.
func TestUnitImageCheckPackagesFailsWithTheNames(t *testing.T) {
	fake := `apt_fake() {
	case $1 in
	policy) cat policy ;;
	showpkg) [ "$2" = libgtk-3-0 ] && cat showpkg; echo "N: Unable to locate package $2" >&2 ;;
	esac
}
suite=trixie
`
	files := map[string]string{"policy": trixiePolicy, "showpkg": trixieShowpkgGtk}
	t0 := time.Now()
	out, stderr, rc := libsh(t, fake+`pkgs="systemd-sysv libgtk-3-0 policykit-1"; older=linux-image-6.12.117+deb13-amd64
check_packages apt_fake
echo "went on to install"`, files)
	if rc != 1 || strings.Contains(out, "went on") {
		t.Fatalf("check_packages with missing packages: rc %d, stdout %q; want exit 1 before the install", rc, out)
	}
	for _, want := range []string{
		"not in the trixie sources: libgtk-3-0 (a virtual package; provided by: libgtk-3-0t64)",
		"not in the trixie sources: policykit-1\n",
		"cannot build the guest image: packages not found in the trixie sources: libgtk-3-0 policykit-1",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("check_packages took %v; a missing package must fail at once", d)
	}

	out, stderr, rc = libsh(t, fake+`pkgs="systemd-sysv"; older=linux-image-6.12.117+deb13-amd64
check_packages apt_fake
echo "went on to install"`, files)
	if rc != 0 || out != "went on to install\n" {
		t.Errorf("check_packages with every package there: rc %d, stdout %q, stderr %s", rc, out, stderr)
	}

	// No Packages index read at all (archive unreachable): every name is
	// missing, none is installed half-way.
	files["policy"] = ""
	_, stderr, rc = libsh(t, fake+`pkgs="systemd-sysv udev"; older=linux-image-6.12.117+deb13-amd64
check_packages apt_fake`, files)
	if rc != 1 || !strings.Contains(stderr, "packages not found in the trixie sources: systemd-sysv udev linux-image-6.12.117+deb13-amd64") {
		t.Errorf("check_packages with no index: rc %d, stderr:\n%s", rc, stderr)
	}
}

// pick_kernels on Debian 13's apt output: linux-image-amd64 of
// trixie-security depends on the newest, that of trixie on the older.
func TestUnitImagePickKernels(t *testing.T) {
	fake := `apt_fake() {
	case "$1 ${2:-}" in
	"show linux-image-amd64") echo "Depends: linux-image-6.12.118+deb13-amd64 (= 6.12.118-1)" ;;
	"show linux-image-amd64=6.12.118-1") echo "Depends: linux-image-6.12.118+deb13-amd64 (= 6.12.118-1)" ;;
	"show linux-image-amd64=6.12.117-1") echo "Depends: linux-image-6.12.117+deb13-amd64 (= 6.12.117-1)" ;;
	"madison linux-image-amd64") printf ' linux-image-amd64 | 6.12.118-1 | http://deb.debian.org/debian-security trixie-security/main amd64 Packages\n linux-image-amd64 | 6.12.117-1 | http://deb.debian.org/debian trixie/main amd64 Packages\n' ;;
	"pkgnames linux-image-") printf 'linux-image-6.12.118+deb13-amd64\nlinux-image-6.12.107+deb13-amd64\n' ;;
	esac
}
suite=trixie
`
	out, stderr, rc := libsh(t, fake+`pick_kernels apt_fake; echo "$newest $older"`, nil)
	if rc != 0 || out != "linux-image-6.12.118+deb13-amd64 linux-image-6.12.117+deb13-amd64\n" {
		t.Errorf("pick_kernels: %q (rc %d, %s)", out, rc, stderr)
	}
	// One linux-image-amd64 only: the older comes from the series.
	out, stderr, rc = libsh(t, strings.Replace(fake, `\n linux-image-amd64 | 6.12.117-1 | http://deb.debian.org/debian trixie/main amd64 Packages`, "", 1)+
		`pick_kernels apt_fake; echo "$newest $older"`, nil)
	if rc != 0 || out != "linux-image-6.12.118+deb13-amd64 linux-image-6.12.107+deb13-amd64\n" {
		t.Errorf("pick_kernels from the series: %q (rc %d, %s)", out, rc, stderr)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
