package e2e

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The suite shares one booted guest across tests: a boot costs about 40 s
// and a firmware reboot 80 s under TCG. Tests run in file and declaration
// order; each leaves the guest booted and as it found it, or marks it
// broken so that the next test starts a fresh one from the base image.
var suite struct {
	ctx     context.Context
	repo    string
	work    string
	base    string
	accel   string
	shape   Shape // vCPUs and TCG threading (vcpu.go)
	payload string
	product Product
	kernels []string // newest first, from the image's /etc/e2e-kernels
	// release is the guest's Debian suite: bookworm (Debian 12, systemd
	// 252) or trixie (Debian 13, systemd 257), from RAPIDREBOOT_E2E_SUITE
	// (which also picks the image) or the image's manifest.
	release string
	figures *Figures
	rounds  int // figures: restarts of each kind (3 in CI, 5 with make e2e-figures)
	soak    int // scenario 6: Quick Restarts in a row (10 in CI, 20 with make soak)

	g      *Guest
	nGuest int
	broken bool
	// dirty names one-way kernel state a test left (lockdown,
	// kexec_load_disabled) that only a restart clears: the next test
	// restarts the guest normally first.
	dirty string
}

var keepWork = flag.Bool("e2e.keep", false, "keep the run directory (overlay, console logs)")

// noGuestRun is the -run of a run without RAPIDREBOOT_E2E=1: the tests
// that need no guest image. The desktop build tag adds its own
// (display_qemu_test.go: a bare qemu, no disk).
var noGuestRun = "^TestUnit"

// desktopRun says whether a -run names only the desktop build's own tests
// (TestUnit…, TestDisplay…, TestDesktop…). Each alternative at the top
// level must begin with one of those names; a group around the whole
// alternative is looked into, a group after the name is not (so
// "^TestDesktopGNOME(A|B)Cancel$" and "^(TestDesktopA|TestDesktopB)$"
// both are). Anything else is not: the run then gets noGuestRun, which
// runs every desktop test — a -run that is not understood costs time,
// never a guest test without its suite.
func desktopRun(r string) bool {
	alts := topLevelAlternatives(r)
	if len(alts) == 0 {
		return false
	}
	for _, alt := range alts {
		alt = strings.TrimSuffix(strings.TrimPrefix(alt, "^"), "$")
		if inner, ok := wholeGroup(alt); ok {
			if !desktopRun(inner) {
				return false
			}
			continue
		}
		if !strings.HasPrefix(alt, "TestUnit") && !strings.HasPrefix(alt, "TestDisplay") && !strings.HasPrefix(alt, "TestDesktop") {
			return false
		}
	}
	return true
}

// topLevelAlternatives splits r at the '|' outside any group ("" → none).
func topLevelAlternatives(r string) []string {
	if r == "" {
		return nil
	}
	var out []string
	start := 0
	for i := 0; i < len(r); i++ {
		switch r[i] {
		case '\\':
			i++
		case '(':
			i = groupEnd(r, i)
		case '|':
			out = append(out, r[start:i])
			start = i + 1
		}
	}
	return append(out, r[start:])
}

// wholeGroup returns the inside of s when one group spans all of s.
func wholeGroup(s string) (string, bool) {
	if s == "" || s[0] != '(' || groupEnd(s, 0) != len(s)-1 {
		return "", false
	}
	return strings.TrimPrefix(s[1:len(s)-1], "?:"), true
}

// groupEnd is the index of the ')' closing the '(' at open, past escaped
// characters; len(s) when it is never closed.
func groupEnd(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("RAPIDREBOOT_E2E") != "1" {
		fmt.Println("SKIP: the end-to-end tests boot a Debian 12 or 13 guest under qemu and take tens of minutes;" +
			" run them with `make test-e2e` or `make test-e2e-13` (or RAPIDREBOOT_E2E=1 [RAPIDREBOOT_E2E_SUITE=trixie]" +
			" go test -timeout 60m ./test/e2e/)")
		// The harness's own pure parts (the figures table) need no guest;
		// every other test needs the suite set up below, whatever -run says.
		// Under the desktop build tag a -run of its own tests (make
		// check-desktops E2E_RUN=…) is kept: they need no suite either.
		if r := flag.Lookup("test.run").Value.String(); noGuestRun != "^TestUnit" && desktopRun(r) {
			return m.Run()
		}
		if err := flag.Set("test.run", noGuestRun); err != nil {
			fmt.Println("e2e:", err)
			return 1
		}
		return m.Run()
	}
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Printf("e2e: %s is missing (scripts/deps/e2e.txt, make deps): %v\n", tool, err)
			return 1
		}
	}
	suite.ctx = context.Background()
	suite.repo, _ = filepath.Abs("../..")
	suite.rounds = envInt("RAPIDREBOOT_E2E_ROUNDS", 3)
	suite.soak = envInt("RAPIDREBOOT_E2E_SOAK", 10)
	suite.figures = NewFigures()
	suite.release = os.Getenv("RAPIDREBOOT_E2E_SUITE")
	if suite.release == "" {
		suite.release = "bookworm"
	}

	cache := os.Getenv("RAPIDREBOOT_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "rapidreboot")
	}
	if err := os.MkdirAll(filepath.Join(cache, "e2e"), 0o755); err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	// One guest per slot on this machine, whoever starts them: one slot
	// (the default) is one guest at a time; make check's lanes
	// (mk/e2e.mk) give two, one single-vCPU guest per core.
	lock, err := takeGuestSlot(filepath.Join(cache, "e2e"), os.Getenv("RAPIDREBOOT_E2E_SLOTS"))
	if err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	defer lock.Close()

	suite.work, err = os.MkdirTemp("", "rr-e2e-")
	if err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	if *keepWork || os.Getenv("RAPIDREBOOT_E2E_KEEP") != "" {
		fmt.Println("e2e: run directory kept:", suite.work)
	} else {
		defer os.RemoveAll(suite.work)
	}

	t0 := time.Now()
	if suite.base = os.Getenv("RAPIDREBOOT_E2E_IMAGE"); suite.base == "" {
		build := exec.Command(filepath.Join(suite.repo, "test/e2e/image/build.sh"), suite.release)
		build.Stderr = os.Stderr
		build.Env = append(os.Environ(), "RAPIDREBOOT_E2E_GUEST_LOCK_HELD=1")
		out, err := build.Output()
		if err != nil {
			fmt.Println("e2e: cannot get the guest image:", err)
			return 1
		}
		suite.base = strings.TrimSpace(string(out))
	}
	fmt.Printf("e2e: image %s (%.0f s)\n", suite.base, time.Since(t0).Seconds())
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(suite.base), "manifest")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, ok := strings.CutPrefix(l, "kernels "); ok {
				suite.kernels = strings.Fields(k)
			}
			// A given image (RAPIDREBOOT_E2E_IMAGE) says which it is.
			if s, ok := strings.CutPrefix(l, "suite "); ok && s != "" {
				suite.release = s
			}
		}
	}
	fmt.Printf("e2e: guest %s (%s)\n", releaseName(), suite.release)

	var why string
	suite.accel, why = ChooseAccel(suite.ctx, os.Getenv("RAPIDREBOOT_E2E_ACCEL"), suite.work)
	fmt.Printf("e2e: accelerator %s (%s)\n", suite.accel, why)
	suite.figures.Accel = suite.accel
	if suite.accel != "kvm" {
		if suite.shape, err = tcgShape(suite.release); err != nil {
			fmt.Println("e2e:", err)
			return 1
		}
		fmt.Printf("e2e: %s\n", suite.shape)
		suite.figures.Shape = suite.shape.String()
	}
	suite.figures.Release = releaseName()

	suite.product, err = FindProduct(suite.repo, suite.work)
	if err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	switch suite.product.How {
	case "deb":
		fmt.Printf("e2e: installing %s in the guest\n", strings.Join(suite.product.Debs, " "))
	case "":
		fmt.Println("e2e: no product built (no build/*.deb, no make install): only the harness tests run")
	default:
		fmt.Println("e2e: no .deb; installing the product through", suite.product.How)
	}
	tools, _ := fs.Sub(guestTools, "tools")
	probe := filepath.Join(suite.work, "rr-probe")
	build := exec.Command("go", "build", "-trimpath", "-o", probe, "./test/e2e/guestprobe")
	build.Dir = suite.repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Printf("e2e: cannot build the guest probe: %v\n%s", err, out)
		return 1
	}
	dialog, err := testDialog(suite.repo, suite.work)
	if err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	if suite.payload, err = MakePayload(suite.product, tools, map[string]string{"rr-probe": probe, "rapidreboot": dialog}, suite.work); err != nil {
		fmt.Println("e2e:", err)
		return 1
	}

	code := m.Run()
	if suite.g != nil {
		suite.g.Stop()
	}
	writeFigures()
	return code
}

func writeFigures() {
	var b strings.Builder
	suite.figures.Write(&b)
	fmt.Print("\n", b.String())
	path := os.Getenv("RAPIDREBOOT_E2E_FIGURES")
	if path == "" {
		// One file per release: make check runs both, Debian 12 last.
		name := "e2e-figures.txt"
		if suite.release == "trixie" {
			name = "e2e-figures-13.txt"
		}
		path = filepath.Join(suite.repo, "build", name)
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fmt.Println("e2e: cannot write the figures:", err)
		return
	}
	fmt.Println("e2e: figures written to", path)
}

// releaseName is the guest's release as people say it.
func releaseName() string {
	switch suite.release {
	case "bookworm":
		return "Debian 12"
	case "trixie":
		return "Debian 13"
	}
	return suite.release
}

// desktopReboot is the shell command the tty1 user runs for a normal
// restart "as a desktop's Restart button does". On Debian 12 that is
// `systemctl reboot` (systemd 252 asks logind for a plain reboot). From
// systemd 255 on, `systemctl reboot` asks logind for a kexec whenever an
// image is loaded (SD_LOGIND_REBOOT_VIA_KEXEC unless
// SYSTEMCTL_SKIP_AUTO_KEXEC=1), and the shutdown hooks get the verb
// "kexec"; desktops (gnome-session and the others) call logind's plain
// Reboot(b), which never sets that flag. So on Debian 13 the tests that
// stand for a desktop's restart call Reboot(true) themselves; systemd's
// own kexec path of `systemctl reboot` needs tests of its own (issue 15,
// Required 3).
func desktopReboot() string {
	if suite.release == "bookworm" {
		return "systemctl reboot"
	}
	return "busctl --system call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager Reboot b true"
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// guest returns the shared guest, booted and ready, starting a fresh one
// (and installing the product in it) when there is none or the last test
// left it broken.
func guest(t *testing.T) *Guest {
	t.Helper()
	if suite.g != nil && (suite.broken || !suite.g.Alive()) {
		t.Logf("replacing the guest left broken by an earlier test")
		suite.g.Kill()
		suite.g = nil
	}
	if suite.g != nil {
		if _, rc, err := suite.g.Root(suite.ctx, "true", 30*time.Second); err != nil || rc != 0 {
			t.Logf("the guest does not answer (%v); replacing it", err)
			suite.g.Kill()
			suite.g = nil
		}
	}
	if suite.g != nil && suite.dirty != "" {
		t.Logf("restarting the guest normally first: an earlier test left %s", suite.dirty)
		// A firmware restart whatever is loaded: systemd >= 255 would
		// otherwise kexec a loaded image (252 ignores the variable).
		if _, err := suite.g.RestartWith(suite.ctx, func() error { return suite.g.RootStart("SYSTEMCTL_SKIP_AUTO_KEXEC=1 systemctl reboot") }); err != nil {
			t.Logf("the guest did not come back (%v); replacing it", err)
			suite.g.Kill()
			suite.g = nil
		}
		suite.dirty = ""
	}
	if suite.g == nil {
		suite.nGuest++
		t0 := time.Now()
		g, err := Start(suite.ctx, Config{
			Base: suite.base, Dir: filepath.Join(suite.work, fmt.Sprintf("guest%d", suite.nGuest)),
			Accel: suite.accel, Payload: suite.payload,
			CPUs: suite.shape.CPUs, Thread: suite.shape.Thread,
		})
		if err != nil {
			t.Fatalf("cannot start the guest: %v", err)
		}
		suite.figures.Note("first boot of guest %d: %.0f s from qemu start to marker", suite.nGuest, time.Since(t0).Seconds())
		suite.g, suite.broken, suite.dirty = g, false, ""
		out, rc, err := g.Root(suite.ctx, `set -e
mkdir -p /mnt/payload
mount -o ro LABEL=payload /mnt/payload
sh /mnt/payload/install.sh
umount /mnt/payload`, 5*time.Minute)
		if err != nil || rc != 0 {
			suite.broken = true
			t.Fatalf("cannot install the product in the guest (rc %d, %v):\n%s", rc, err, out)
		}
		t.Logf("guest %d booted %s in %.0f s, product installed (%s)", suite.nGuest, g.Boot.Kernel, time.Since(t0).Seconds(), orNone(suite.product.How))
	}
	// An assertion that fails leaves the guest usable (each test cleans up
	// after itself); a harness failure (no answer, no boot) sets broken.
	g := suite.g
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console log: %s", g.ConsoleLog())
		}
	})
	return g
}

func orNone(s string) string {
	if s == "" {
		return "none: not built"
	}
	return s
}

// needProduct skips a test that needs the product when it was not built.
func needProduct(t *testing.T) {
	t.Helper()
	if suite.product.How == "" {
		t.Skip("the product is not built (no build/*.deb from make deb, no make install): nothing to test in the guest")
	}
}

// root runs script as root and returns its output and exit code; a harness
// failure (no answer) fails the test.
func root(t *testing.T, g *Guest, script string) (string, int) {
	t.Helper()
	out, rc, err := g.Root(suite.ctx, script, CommandTimeout)
	if err != nil {
		suite.broken = true
		t.Fatalf("root command failed in the harness: %v\nscript:\n%s\noutput:\n%s", err, script, out)
	}
	return out, rc
}

// mustRoot runs script as root and fails the test unless it exits 0.
func mustRoot(t *testing.T, g *Guest, script string) string {
	t.Helper()
	out, rc := root(t, g, script)
	if rc != 0 {
		t.Fatalf("root command exited %d:\n%s\noutput:\n%s", rc, script, out)
	}
	return out
}

// user runs script as alice in her active tty1 session.
func user(t *testing.T, g *Guest, script string) (string, int) {
	t.Helper()
	out, rc, err := g.User(suite.ctx, script, CommandTimeout)
	if err != nil {
		suite.broken = true
		t.Fatalf("user command failed in the harness: %v\nscript:\n%s\noutput:\n%s", err, script, out)
	}
	return out, rc
}

func mustUser(t *testing.T, g *Guest, script string) string {
	t.Helper()
	out, rc := user(t, g, script)
	if rc != 0 {
		t.Fatalf("user command exited %d:\n%s\noutput:\n%s", rc, script, out)
	}
	return out
}

// restart runs start, waits for the next boot and fails the test if the
// guest does not come back.
func restart(t *testing.T, g *Guest, what string, start func() error) Restart {
	t.Helper()
	r, err := g.RestartWith(suite.ctx, start)
	if err != nil {
		suite.broken = true
		t.Fatalf("%s: the guest did not come back: %v", what, err)
	}
	t.Logf("%s: %s", what, r)
	return r
}

// analyze returns systemd-analyze time of the current boot, waiting for
// the boot to finish.
func analyze(t *testing.T, g *Guest) Analyze {
	t.Helper()
	out := mustRoot(t, g, `for i in $(seq 120); do systemd-analyze time 2>/dev/null | grep -q 'Startup finished' && break; sleep 1; done; systemd-analyze time`)
	a, err := ParseAnalyze(out)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// kexecLoaded reads /sys/kernel/kexec_loaded.
func kexecLoaded(t *testing.T, g *Guest) string {
	t.Helper()
	return strings.TrimSpace(mustRoot(t, g, "cat /sys/kernel/kexec_loaded"))
}

// cmdlineWithoutBootImage drops GRUB's BOOT_IMAGE= token, which a kexec
// does not carry.
func cmdlineWithoutBootImage(s string) string {
	var keep []string
	for _, f := range strings.Fields(s) {
		if !strings.HasPrefix(f, "BOOT_IMAGE=") {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}

// testDialog is the dialog's test build (build tag rapidreboot_testhooks:
// it writes the trace the dialog scenarios follow; the packaged dialog
// reads no test hook): make's build/test/rapidreboot, else built here with
// the same flags, so the cgo build of GTK's bindings comes from the cache.
func testDialog(repo, work string) (string, error) {
	b := filepath.Join(repo, "build", "test", "rapidreboot")
	if _, err := os.Stat(b); err == nil {
		return b, nil
	}
	out := filepath.Join(work, "rapidreboot")
	build := exec.Command("go", "build", "-trimpath", "-buildmode=pie", "-tags", "rapidreboot_testhooks", "-o", out, "./cmd/rapidreboot")
	build.Dir = repo
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build the test dialog: %v\n%s", err, b)
	}
	return out, nil
}
