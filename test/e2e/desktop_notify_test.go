//go:build desktop

package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// kernelPkgRe is a Debian kernel package name as dpkg-query prints it.
var kernelPkgRe = regexp.MustCompile(`^linux-image-[0-9][0-9A-Za-z.+~-]*$`)

// TestDesktopGNOMENotificationAfterAKernelUpdate: in GNOME 48's real
// Wayland session, the product's watcher (the XDG autostart entry,
// `rapidrebootctl watch-reboot-required`, started by GNOME itself) sees
// the restart marker that a kernel package's installation leaves, and
// GNOME Shell's own notification offers "Quick Restart"; a click on it
// opens rapidreboot's dialog for the updates, and Escape there leaves
// nothing loaded.
//
// Stand-in, named as such: the guest has no package archive, so no kernel
// package is installed; root writes /run/reboot-required and
// /run/reboot-required.pkgs (naming the guest's newest installed kernel
// package) the way update-notifier's notify-reboot-required, which kernel
// packages call from their postinst, writes them. Everything after the
// marker — the watcher, the helper's answer, GNOME Shell's notification,
// the click, the dialog — is the real thing.
func TestDesktopGNOMENotificationAfterAKernelUpdate(t *testing.T) {
	g, d, out, t0 := desktopGuest(t, "gnome", "notify-kernel")
	ctx := context.Background()
	settled(t, d, filepath.Join(out, "1-desktop.png"), 8*time.Minute)
	t.Logf("desktop settled %.0f s after power-on", time.Since(t0).Seconds())
	boot := guestBootID(t, g)

	// The watcher is GNOME's to start (a systemd user service generated
	// from the autostart entry): wait for it rather than start it.
	var o string
	for deadline := time.Now().Add(4 * time.Minute); ; {
		o, _, _ = g.Root(ctx, "pgrep -u alice -a -f 'rapidrebootctl watch-reboot-required' | grep -v pgrep", time.Minute)
		if strings.Contains(o, "watch-reboot-required") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("GNOME did not start the reboot-required watcher from its autostart entry")
		}
		time.Sleep(10 * time.Second)
	}
	t.Logf("the watcher: %s", strings.TrimSpace(o))

	// The session starts in the overview: leave it. Then the pointer waits
	// where GNOME draws a banner (top centre, under the top bar): a banner
	// under the pointer stays up instead of sliding into the message list.
	if err := d.Press("esc"); err != nil {
		t.Fatal(err)
	}
	bx, by := d.W/2, 70
	if err := d.MoveTo(bx, by); err != nil {
		t.Fatal(err)
	}
	settled(t, d, filepath.Join(out, "2-before-update.png"), 2*time.Minute)

	o, _, _ = g.User(ctx, `rm -f /tmp/e2e-notify.log
setsid -f timeout 900 dbus-monitor --session "interface='org.freedesktop.Notifications'" </dev/null >/tmp/e2e-notify.log 2>&1
sleep 2; pgrep -a dbus-monitor`, time.Minute)
	t.Logf("dbus-monitor: %s", o)

	o, _, _ = g.Root(ctx, `dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 'linux-image-[0-9]*' | awk '$1 == "ii" {print $2}' | sort -V | tail -n 1`, time.Minute)
	pkg := strings.TrimSpace(o)
	if !kernelPkgRe.MatchString(pkg) {
		t.Fatalf("no kernel package name from dpkg-query: %q", o)
	}
	written := time.Now()
	mustRoot(t, g, `printf '*** System restart required ***\n' >/run/reboot-required
printf '%s\n' `+shellQuote(pkg)+` >>/run/reboot-required.pkgs`)
	t.Logf("stand-in for the kernel package's postinst: /run/reboot-required and .pkgs (%s)", pkg)

	// The watcher waits 2 s for the marker to settle and asks the helper.
	var notified bool
	for deadline := written.Add(90 * time.Second); !notified && time.Now().Before(deadline); {
		time.Sleep(3 * time.Second)
		o, _, _ = g.User(ctx, "grep -c 'member=Notify' /tmp/e2e-notify.log", 20*time.Second)
		notified = strings.TrimSpace(o) != "" && strings.TrimSpace(o) != "0"
	}
	t.Logf("Notify seen: %v (%.0f s after the marker)", notified, time.Since(written).Seconds())
	time.Sleep(4 * time.Second)
	d.Screendump(filepath.Join(out, "3-notification.png"))
	// GNOME 48 draws this banner without its buttons (seen 2026-12-03, with
	// the pointer resting on it and after moving it off and back; the
	// second run's click then missed the banner): the Quick Restart action
	// is checked in the Notify call below, the picture shows the banner.
	o, _, _ = g.User(ctx, "grep -A 30 'member=Notify' /tmp/e2e-notify.log | grep -E 'string \"' | head -n 20", 20*time.Second)
	t.Logf("the notification's strings:\n%s", o)
	if !notified {
		t.Fatal("no notification within 90 s of the restart marker")
	}
	if !strings.Contains(o, `"Quick Restart"`) {
		t.Errorf("the notification offers no Quick Restart")
	}
	if !strings.Contains(o, pkg) {
		t.Errorf("the notification does not name %s", pkg)
	}

	// A click on the banner's body: its default action, Restart… →
	// `rapidreboot --reason=updates`.
	clicked := time.Now()
	if err := d.ClickAt(bx, by, "left"); err != nil {
		t.Fatal(err)
	}
	dialog := waitForDialog(g, clicked)
	settled(t, d, filepath.Join(out, "4-dialog.png"), 2*time.Minute)
	o, _, _ = g.User(ctx, "grep -E 'member=(ActionInvoked|NotificationClosed)' -A 3 /tmp/e2e-notify.log | head -n 20", 20*time.Second)
	t.Logf("the server's answers:\n%s", o)
	if dialog == "" {
		t.Fatalf("no rapidreboot dialog within 60 s of the click on the notification")
	}
	t.Logf("the dialog (%.0f s after the click): %s", time.Since(clicked).Seconds(), dialog)
	if !strings.Contains(dialog, "--reason=updates") {
		t.Errorf("the dialog was not opened for the updates: %s", dialog)
	}

	escapeLeavesNothing(t, g, d, filepath.Join(out, "5-closed.png"), boot)
	t.Logf("done %.0f s after power-on", time.Since(t0).Seconds())
}
