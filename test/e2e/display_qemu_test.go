//go:build desktop

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A real QEMU gets the display's input events and screendumps: a bare
// machine (no disk, no network, the BIOS's screen only), no guest image.
// Built with -tags desktop (make check-desktops); it needs no
// RAPIDREBOOT_E2E=1 and holds a guest slot like every qemu of the tests.

func init() { noGuestRun = "^(TestUnit|TestDisplay)" }

// desktopOut is where the desktop tests leave their screenshots:
// RAPIDREBOOT_DESKTOP_OUT, else build/desktop of the repository.
func desktopOut(t *testing.T) string {
	dir := os.Getenv("RAPIDREBOOT_DESKTOP_OUT")
	if dir == "" {
		repo, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(repo, "build", "desktop")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDisplayBareQEMUTakesInputAndScreendumps(t *testing.T) {
	if os.Getenv("RAPIDREBOOT_E2E") == "1" {
		t.Skip("runs without the guest suite (make check-desktops): the suite holds the guest slot it would wait for")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if os.Getenv("RAPIDREBOOT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("qemu-system-x86_64 is missing: %v", err)
		}
		t.Skipf("qemu-system-x86_64 is not installed: %v", err)
	}
	cache := os.Getenv("RAPIDREBOOT_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "rapidreboot")
	}
	slotDir := filepath.Join(cache, "e2e")
	if err := os.MkdirAll(slotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := takeGuestSlotWithin(slotDir, os.Getenv("RAPIDREBOOT_E2E_SLOTS"), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	dir := t.TempDir()
	sock := filepath.Join(dir, "qmp.sock")
	args := append([]string{
		"-name", "rapidreboot-e2e-display",
		"-nodefaults", "-machine", "q35", "-accel", "tcg,thread=single", "-m", "128",
		"-vga", "std", "-display", "none",
		"-qmp", "unix:" + sock + ",server=on,wait=off",
	}, tabletArgs()...)
	cmd := exec.Command("qemu-system-x86_64", args...)
	qlog, err := os.Create(filepath.Join(dir, "qemu.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = qlog, qlog
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exit
	}()
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case err := <-exit:
			b, _ := os.ReadFile(qlog.Name())
			t.Fatalf("qemu exited at start: %v\n%s", err, b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(t0) > 30*time.Second {
			t.Fatal("qemu made no QMP socket in 30 s")
		}
	}
	q, err := dialQMP(sock, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	if ok, err := q.commandHasArg("screendump", "format"); err != nil || !ok {
		t.Errorf("QEMU's schema: screendump has a format argument %v (%v); the PPM fallback is used", ok, err)
	}

	d := newDisplay(q)
	out := desktopOut(t)
	// The BIOS's text screen is 80x25 cells of 9x16 pixels; before the
	// VGA BIOS sets it, QEMU shows a 640x480 "not initialized" picture.
	shot := func(name string) {
		t.Helper()
		path := filepath.Join(out, name)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			img, err := d.Screendump(path)
			if err != nil {
				t.Fatal(err)
			}
			if d.W == 720 && d.H == 400 && !uniform(img) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen is %dx%d (uniform %v) after 2 min, want the BIOS's 720x400 text screen; see %s", d.W, d.H, uniform(img), path)
			}
			time.Sleep(time.Second)
		}
		// The file on disk, read anew, is a PNG of that size.
		img, err := readPNG(path)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 720 || b.Dy() != 400 || uniform(img) {
			t.Fatalf("%s: %v, uniform %v", path, b, uniform(img))
		}
		st, _ := os.Stat(path)
		t.Logf("%s: 720x400 PNG, %d bytes, %.1f s after qemu started", path, st.Size(), time.Since(t0).Seconds())
	}
	shot("bare-qemu-bios.png")

	// Shift held while the pointer clicks, a chord, some typing, and the
	// other buttons: QEMU takes every event (the BIOS ignores them).
	d.Gap = 20 * time.Millisecond
	steps := []struct {
		what string
		do   func() error
	}{
		{"shift-click", func() error { return d.ClickAt(360, 200, "left", "shift") }},
		{"corners", func() error {
			if err := d.MoveTo(0, 0); err != nil {
				return err
			}
			return d.MoveTo(719, 399)
		}},
		{"right click", func() error { return d.Click("right") }},
		{"chord", func() error { return d.Press("ctrl", "alt", "t") }},
		{"typing", func() error { return d.Type("Quick Restart 1.\n") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Errorf("%s: %v", s.what, err)
		}
	}
	raw, err := q.command("query-status", nil, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Status string `json:"status"`
	}
	json.Unmarshal(raw, &st)
	if st.Status != "running" {
		t.Errorf("QEMU's status after the input: %q, want running", st.Status)
	}
	shot("bare-qemu-after-input.png")
}
