//go:build desktop

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDesktopXfceQuickRestart: in Xfce 4.20's real X11 session, the door of
// docs/desktops.md's Xfce section set up as written — the power key bound
// to rapidreboot with xfconf-query — then pressed (QEMU's own keyboard,
// XF86PowerOff); rapidreboot's dialog, Shift held → Quick Restart, its
// mnemonic (Alt+Shift+Q) → the guest back by kexec and the session again.
// The image has no xfce4-power-manager (the recipe's first step, "power
// button: do nothing", is its setting), so the test tells logind to ignore
// the key instead (HandlePowerKey=ignore): else logind powers off.
func TestDesktopXfceQuickRestart(t *testing.T) {
	g, d, out, t0 := desktopGuest(t, "xfce", "quick")
	ctx := context.Background()
	xfcePowerKeyDoor(t, g)
	settled(t, d, filepath.Join(out, "1-desktop.png"), 6*time.Minute)
	t.Logf("desktop settled %.0f s after power-on", time.Since(t0).Seconds())
	if err := d.Press("power"); err != nil {
		t.Fatal(err)
	}
	settled(t, d, filepath.Join(out, "2-power-key-dialog.png"), 3*time.Minute)
	o, _, _ := g.Root(ctx, "pgrep -a rapidreboot", time.Minute)
	t.Logf("after the power key: %s", o)
	if !strings.Contains(o, "rapidreboot") {
		t.Errorf("the power key did not start rapidreboot")
	}
	if err := d.KeyDown("shift"); err != nil {
		t.Fatal(err)
	}
	settled(t, d, filepath.Join(out, "3-shift-held.png"), 2*time.Minute)
	r, err := g.RestartWith(ctx, func() error {
		err := d.Press("alt", "q")
		d.KeyUp("shift")
		time.Sleep(10 * time.Second)
		d.Screendump(filepath.Join(out, "4-after-quick-restart.png"))
		return err
	})
	d.KeyUp("shift")
	if err != nil {
		t.Fatalf("the guest did not come back: %v", err)
	}
	t.Logf("Quick Restart from the power key in Xfce: %s (QMP RESET %d)", r, len(r.Resets))
	if !r.ByKexec() {
		t.Errorf("not a kexec: %s", r)
	}
	waitUserLoop(t, g, 15*time.Minute)
	settled(t, d, filepath.Join(out, "5-session-again.png"), 6*time.Minute)
	t.Logf("alice's Xfce session again %.0f s after the new boot's marker", time.Since(r.To.At).Seconds())
}

// xfcePowerKeyDoor sets up docs/desktops.md's Xfce door: logind ignores the
// power key (the image has no xfce4-power-manager, whose "Do nothing" is
// the recipe's first step) and xfconf-query binds XF86PowerOff to
// rapidreboot, as alice in her session.
func xfcePowerKeyDoor(t *testing.T, g *Guest) {
	t.Helper()
	ctx := context.Background()
	o, rc, _ := g.Root(ctx, `dpkg-query -W rapidreboot
mkdir -p /etc/systemd/logind.conf.d
printf '[Login]\nHandlePowerKey=ignore\n' >/etc/systemd/logind.conf.d/e2e-power-key.conf
systemctl kill -s HUP systemd-logind`, time.Minute)
	t.Logf("product, logind (rc %d):\n%s", rc, o)
	// docs/desktops.md, Xfce: the shortcut.
	o, rc, err := g.User(ctx, `xfconf-query -c xfce4-keyboard-shortcuts -p /commands/custom/XF86PowerOff -n -t string -s rapidreboot
xfconf-query -c xfce4-keyboard-shortcuts -p /commands/custom/XF86PowerOff`, time.Minute)
	t.Logf("xfconf-query (rc %d, %v):\n%s", rc, err, o)
	if rc != 0 {
		t.Fatal("xfconf-query failed")
	}
}

// TestDesktopXfceWhiskerMenuLogOut: docs/desktops.md's Whisker Menu door
// — its Log Out command set to rapidreboot — set up, then used. The image's
// panel is Debian's default, whose menu button is the Applications Menu
// plugin; the Whisker Menu is put in its place (what Add New Items does),
// and its Log Out command is set where the plugin keeps what its
// Properties → Commands page writes (xfconf, since Whisker Menu 2.8). The
// menu opened (xfce4-popup-whiskermenu, as its keyboard shortcut does),
// its Log Out button clicked → rapidreboot's dialog; Escape → nothing
// loaded, the same boot.
func TestDesktopXfceWhiskerMenuLogOut(t *testing.T) {
	g, d, out, t0 := desktopGuest(t, "xfce", "whisker")
	ctx := context.Background()
	settled(t, d, filepath.Join(out, "1-desktop.png"), 6*time.Minute)
	t.Logf("desktop settled %.0f s after power-on", time.Since(t0).Seconds())
	boot := guestBootID(t, g)
	o, rc, err := g.User(ctx, `set -e
id=$(xfconf-query -c xfce4-panel -lv | awk '$2 == "applicationsmenu" {print $1; exit}')
[ -n "$id" ] || { echo "no Applications Menu plugin on the panel"; exit 1; }
xfconf-query -c xfce4-panel -p "$id" -s whiskermenu
xfconf-query -c xfce4-panel -p "$id/command-logout" -n -t string -s rapidreboot
xfconf-query -c xfce4-panel -p "$id/show-command-logout" -n -t bool -s true
xfce4-panel -r
sleep 15
xfconf-query -c xfce4-panel -lv | grep -E "^$id( |/command-logout|/show-command-logout)"
dpkg-query -W xfce4-whiskermenu-plugin`, 2*time.Minute)
	t.Logf("the Whisker Menu set up (rc %d, %v):\n%s", rc, err, o)
	if rc != 0 {
		t.Fatal("cannot put the Whisker Menu on the panel")
	}
	settled(t, d, filepath.Join(out, "2-panel.png"), 2*time.Minute)
	o, rc, err = g.User(ctx, "setsid -f xfce4-popup-whiskermenu </dev/null >/dev/null 2>&1; echo opened", time.Minute)
	t.Logf("xfce4-popup-whiskermenu (rc %d, %v): %s", rc, err, o)
	settled(t, d, filepath.Join(out, "3-whisker-menu.png"), 2*time.Minute)
	bx, by := whiskerLogOutButton(d.W, d.H)
	clicked := time.Now()
	if err := d.ClickAt(bx, by, "left"); err != nil {
		t.Fatal(err)
	}
	dialog := waitForDialog(g, clicked)
	settled(t, d, filepath.Join(out, "4-dialog.png"), 2*time.Minute)
	if dialog == "" {
		t.Fatalf("no rapidreboot dialog within 60 s of the click on the Whisker Menu's Log Out (%d, %d): see 3-whisker-menu.png", bx, by)
	}
	t.Logf("the dialog (%.0f s after the click): %s", time.Since(clicked).Seconds(), dialog)
	escapeLeavesNothing(t, g, d, filepath.Join(out, "5-closed.png"), boot)
}

// whiskerLogOutButton is the Whisker Menu's Log Out button, the menu open
// under the panel's top-left menu button: the right end of the command
// buttons beside the user's name. Measured on the guest's 1280x800 screen
// on 2026-12-03 (Whisker Menu 2.9.2, build/desktop/xfce-whisker/
// 3-whisker-menu.png): (421, 50).
func whiskerLogOutButton(w, h int) (int, int) { return 421, 50 }
