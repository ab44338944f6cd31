//go:build desktop

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A real QEMU gets the display's input events and screendumps: a bare
// machine (no disk, no network, the BIOS's screen only), no guest image.
// Built with -tags desktop (make check-desktops); it needs no
// RAPIDREBOOT_E2E=1 and holds a guest slot like every qemu of the tests.

func init() { noGuestRun = "^(TestUnit|TestDisplay|TestDesktop)" }

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

// needQEMU skips (or, under make check's RAPIDREBOOT_REQUIRE_TOOLS, fails)
// without qemu, and outside the guest suite only.
func needQEMU(t *testing.T) {
	t.Helper()
	if os.Getenv("RAPIDREBOOT_E2E") == "1" {
		t.Skip("runs without the guest suite (make check-desktops): the suite holds the guest slot it would wait for")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if os.Getenv("RAPIDREBOOT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("qemu-system-x86_64 is missing: %v", err)
		}
		t.Skipf("qemu-system-x86_64 is not installed: %v", err)
	}
}

func cacheDir() string {
	if c := os.Getenv("RAPIDREBOOT_CACHE"); c != "" {
		return c
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "rapidreboot")
}

// holdGuestSlot takes one of the guest slots every qemu of the tests holds
// (slots.go) for the rest of the test.
func holdGuestSlot(t *testing.T) {
	t.Helper()
	slotDir := filepath.Join(cacheDir(), "e2e")
	if err := os.MkdirAll(slotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := takeGuestSlotWithin(slotDir, os.Getenv("RAPIDREBOOT_E2E_SLOTS"), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
}

func TestDisplayBareQEMUTakesInputAndScreendumps(t *testing.T) {
	needQEMU(t)
	holdGuestSlot(t)

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

// TestDesktopSessionsStart boots the desktop image (test/e2e/desktop) once
// per desktop: GDM or LightDM logs alice in, her session starts the
// harness's user loop, and the test checks the session's kind, takes a
// screenshot of the desktop, clicks the desktop's own menu through the
// usb-tablet and takes another. Screenshots go to build/desktop/<desktop>/
// (boot-*.png: the screen every 20 s while the guest boots).
func TestDesktopSessionsStart(t *testing.T) {
	needQEMU(t)
	img := os.Getenv("RAPIDREBOOT_DESKTOP_IMAGE")
	if img == "" {
		t.Skip("no desktop image: make check-desktops builds it (test/e2e/desktop/build.sh) and sets RAPIDREBOOT_DESKTOP_IMAGE")
	}
	holdGuestSlot(t)
	shape, err := tcgShape("trixie")
	if err != nil {
		t.Fatal(err)
	}
	accel := "tcg"
	if a := os.Getenv("RAPIDREBOOT_E2E_ACCEL"); a == "kvm" {
		accel = a
	}
	for _, c := range []struct {
		desktop, kind, name string
		// menuAt is where the desktop's own menu opens on a click: GNOME's
		// system menu at the top bar's right end, Xfce's Applications
		// menu at the default panel's left end.
		menuAt func(w, h int) (int, int)
	}{
		{"gnome", "wayland", "GNOME", func(w, h int) (int, int) { return w - 40, 12 }},
		{"xfce", "x11", "XFCE", func(w, h int) (int, int) { return 12, 12 }},
	} {
		t.Run(c.desktop, func(t *testing.T) {
			out := filepath.Join(desktopOut(t), c.desktop)
			os.RemoveAll(out)
			dir := filepath.Join(out, "run")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			watch := filepath.Join(dir, "watch.sock")
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			watched := make(chan struct{})
			go func() { defer close(watched); watchScreen(ctx, watch, out) }()
			t0 := time.Now()
			g, err := Start(context.Background(), Config{
				Base: img, Dir: dir, Accel: accel, MemMB: 3072, CPUs: shape.CPUs, Thread: shape.Thread,
				CPU: desktopCPU, Tablet: true, Desktop: c.desktop, BootTimeout: 25 * time.Minute,
				ExtraArgs: []string{"-qmp", "unix:" + watch + ",server=on,wait=off"},
			})
			stop()
			<-watched
			if err != nil {
				t.Fatalf("the %s session did not start: %v (screens: %s)", c.name, err, out)
			}
			defer func() {
				g.Stop()
				os.Remove(filepath.Join(dir, "run.qcow2"))
			}()
			boot := time.Since(t0)
			t.Logf("%s: power-on to alice's session running the user loop: %.0f s (%s, %s)", c.name, boot.Seconds(), accel, shape)

			s, rc, err := g.User(context.Background(), `s=$(loginctl show-user alice -p Display --value)
loginctl show-session "$s" -p Type -p Desktop -p Active -p Seat -p Class -p Service
echo "env WAYLAND_DISPLAY=$WAYLAND_DISPLAY DISPLAY=$DISPLAY XDG_CURRENT_DESKTOP=$XDG_CURRENT_DESKTOP"`, time.Minute)
			if err != nil || rc != 0 {
				t.Fatalf("alice's session: rc %d, %v: %s", rc, err, s)
			}
			t.Logf("alice's session:\n%s", s)
			for _, want := range []string{"Type=" + c.kind, "Active=yes", "Seat=seat0", "Class=user"} {
				if !strings.Contains(s, want) {
					t.Errorf("alice's graphical session lacks %q", want)
				}
			}
			if !strings.Contains(strings.ToUpper(s), "DESKTOP="+c.name) {
				t.Errorf("alice's session is not %s's", c.name)
			}

			// The user loop starts from the session's autostart, before the
			// desktop has drawn anything: wait until the screen is not one
			// colour and has stopped changing.
			d := g.Display()
			var desk image.Image
			for deadline := time.Now().Add(6 * time.Minute); ; {
				desk, err = d.Settle(filepath.Join(out, "desktop.png"), 3*time.Minute)
				if err == nil && !uniform(desk) {
					break
				}
				if time.Now().After(deadline) {
					j, _, _ := g.Root(context.Background(), `loginctl list-sessions; journalctl -b --no-pager -k -g segfault; journalctl -b --no-pager -u gdm | tail -5`, time.Minute)
					t.Fatalf("the %s desktop is still one colour (or changing: %v) %.0f s after power-on (%s)\n%s", c.name, err, time.Since(t0).Seconds(), filepath.Join(out, "desktop.png"), j)
				}
				time.Sleep(5 * time.Second)
			}
			t.Logf("%s desktop: %dx%d, settled %.0f s after power-on", c.name, d.W, d.H, time.Since(t0).Seconds())
			x, y := c.menuAt(d.W, d.H)
			if err := d.ClickAt(x, y, "left"); err != nil {
				t.Fatal(err)
			}
			menu, err := d.Settle(filepath.Join(out, "menu.png"), 3*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if f := changed(desk, menu); f < 0.005 {
				t.Errorf("the click at (%d, %d) changed %.2f%% of the screen: no menu opened? (%s)", x, y, 100*f, out)
			} else {
				t.Logf("the click at (%d, %d) changed %.1f%% of the screen", x, y, 100*f)
			}
			if err := d.Press("esc"); err != nil {
				t.Error(err)
			}
		})
	}
}

// watchScreen saves the screen every 20 s into out/boot-NNNN.png (NNNN:
// seconds since it started) through its own QMP connection, until ctx
// ends: what the guest showed while it booted, for when it never gets
// there.
func watchScreen(ctx context.Context, sock, out string) {
	t0 := time.Now()
	var q *qmp
	for q == nil {
		if c, err := dialQMP(sock, 5*time.Second); err == nil {
			q = c
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	defer q.close()
	d := newDisplay(q)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Second):
		}
		d.Screendump(filepath.Join(out, fmt.Sprintf("boot-%04d.png", int(time.Since(t0).Seconds()))))
	}
}
