//go:build desktop

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDesktopPoke boots the desktop image and takes commands from files,
// for looking at a session by hand (RAPIDREBOOT_DESKTOP_POKE=<dir>):
// <dir>/N.cmd holds one command — "root SCRIPT", "user SCRIPT", "shot
// NAME", "click X Y [BUTTON [HELD...]]", "keys K...", "down K", "up K",
// "type TEXT", "quit" — and its answer lands in <dir>/N.out.
func TestDesktopPoke(t *testing.T) {
	dir := os.Getenv("RAPIDREBOOT_DESKTOP_POKE")
	img := os.Getenv("RAPIDREBOOT_DESKTOP_IMAGE")
	if dir == "" || img == "" {
		t.Skip("RAPIDREBOOT_DESKTOP_POKE and RAPIDREBOOT_DESKTOP_IMAGE unset")
	}
	needQEMU(t)
	holdGuestSlot(t)
	shape, err := tcgShape("trixie")
	if err != nil {
		t.Fatal(err)
	}
	desktop := os.Getenv("RAPIDREBOOT_DESKTOP")
	if desktop == "" {
		desktop = "gnome"
	}
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	t0 := time.Now()
	g, err := Start(context.Background(), Config{
		Base: img, Dir: run, Accel: "tcg", MemMB: 3072, CPUs: shape.CPUs, Thread: shape.Thread,
		CPU: os.Getenv("RAPIDREBOOT_DESKTOP_CPU"), Tablet: true, Desktop: desktop, VGA: os.Getenv("RAPIDREBOOT_DESKTOP_VGA"), BootTimeout: 25 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	os.WriteFile(filepath.Join(dir, "booted"), []byte(time.Since(t0).String()+"\n"), 0o644)
	d := g.Display()
	for {
		cmds, _ := filepath.Glob(filepath.Join(dir, "*.cmd"))
		for _, c := range cmds {
			b, _ := os.ReadFile(c)
			os.Remove(c)
			line := strings.TrimSpace(string(b))
			verb, rest, _ := strings.Cut(line, " ")
			var out string
			var err error
			f := strings.Fields(rest)
			switch verb {
			case "root", "user":
				var o string
				var rc int
				if verb == "root" {
					o, rc, err = g.Root(context.Background(), rest, 5*time.Minute)
				} else {
					o, rc, err = g.User(context.Background(), rest, 5*time.Minute)
				}
				out = o + "\nrc " + strconv.Itoa(rc)
			case "shot":
				_, err = d.Screendump(filepath.Join(dir, rest+".png"))
				out = strconv.Itoa(d.W) + "x" + strconv.Itoa(d.H)
			case "click":
				x, _ := strconv.Atoi(f[0])
				y, _ := strconv.Atoi(f[1])
				btn := "left"
				if len(f) > 2 {
					btn = f[2]
				}
				var held []string
				if len(f) > 3 {
					held = f[3:]
				}
				err = d.ClickAt(x, y, btn, held...)
			case "move":
				x, _ := strconv.Atoi(f[0])
				y, _ := strconv.Atoi(f[1])
				err = d.MoveTo(x, y)
			case "keys":
				err = d.Press(f...)
			case "down":
				err = d.KeyDown(rest)
			case "up":
				err = d.KeyUp(rest)
			case "type":
				err = d.Type(rest)
			case "quit":
				return
			}
			if err != nil {
				out += "\nerror: " + err.Error()
			}
			os.WriteFile(strings.TrimSuffix(c, ".cmd")+".out", []byte(out+"\n"), 0o644)
		}
		if !g.Alive() {
			t.Fatal("the guest is gone")
		}
		time.Sleep(300 * time.Millisecond)
	}
}
