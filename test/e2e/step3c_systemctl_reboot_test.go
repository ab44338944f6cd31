package e2e

import (
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// Issue 15, Required 3: from systemd 255 on, a plain `systemctl reboot`
// with any image loaded is systemd's own kexec (the hooks get the verb
// "kexec"). These tests run where the guest's systemd does that (Debian
// 13); each restart is told kexec from firmware by the QMP RESET count.
// On Debian 12 the same paths are `systemctl kexec` (step3b).

func needAutoKexec(t *testing.T) {
	t.Helper()
	if suite.release == "bookworm" {
		t.Skip("systemd 252's systemctl reboot never kexecs by itself (that is `systemctl kexec`, step3b)")
	}
}

// systemctlReboot is root's plain `systemctl reboot`, with the product's
// kernel-log lines raised to the console.
func systemctlReboot(t *testing.T, g *Guest, what string) Restart {
	t.Helper()
	mustRoot(t, g, "dmesg -n 6")
	return restart(t, g, what, func() error { return g.RootStart("systemctl reboot") })
}

func wantFirmware(t *testing.T, g *Guest, r Restart) {
	t.Helper()
	if len(r.Resets) != 1 || !r.Firmware {
		t.Errorf("want a firmware reboot: %d QMP RESET, firmware output %v; the product's lines:\n%s",
			len(r.Resets), r.Firmware, strings.Join(productLines(r), "\n"))
	}
	if got := kexecLoaded(t, g); got != "0" {
		t.Errorf("kexec_loaded = %s after the restart", got)
	}
}

func TestSystemctlRebootAfterArmKexecsIntoThePlannedKernel(t *testing.T) {
	needProduct(t)
	needAutoKexec(t)
	g := guest(t)
	want := cold(t, g)
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	r := systemctlReboot(t, g, "systemctl reboot after Arm")
	checkKexecBoot(t, g, r, want)
	if !consoleHas(r, "systemd-shutdown runs the kexec") {
		t.Errorf("the hook did not check and pass on the image on the verb kexec; the product's lines:\n%s", strings.Join(productLines(r), "\n"))
	}
}

func TestSystemctlRebootAfterArmThenDisarmIsAFirmwareReboot(t *testing.T) {
	needProduct(t)
	needAutoKexec(t)
	g := guest(t)
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	disarm(t, g)
	wantFirmware(t, g, systemctlReboot(t, g, "systemctl reboot after Arm and Disarm"))
}

// The kernel package upgraded after Arm: the file is replaced (same
// content, new inode), as dpkg does. The stop-time check (--verify) finds
// it changed and unloads; systemd-shutdown's kexec then finds nothing and
// reboots through the firmware.
func TestSystemctlRebootAfterArmAndAKernelUpgradeIsAFirmwareReboot(t *testing.T) {
	needProduct(t)
	needAutoKexec(t)
	g := guest(t)
	k := "/boot/vmlinuz-" + newest(t)
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	mustRoot(t, g, `set -e; cp -p `+k+` `+k+`.e2e && mv -f `+k+`.e2e `+k)
	r := systemctlReboot(t, g, "systemctl reboot after Arm and a kernel upgrade")
	wantFirmware(t, g, r)
	if !consoleHas(r, "rapidreboot: ") {
		t.Errorf("the product said nothing about declining the Quick Restart")
	}
}

// An arm past its expiry, with the helper killed so that nobody unloads it
// at expiry (row 39): the shutdown's checks refuse it on the verb kexec.
func TestSystemctlRebootAfterAnExpiredArmIsAFirmwareReboot(t *testing.T) {
	needProduct(t)
	needAutoKexec(t)
	g := guest(t)
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	mustRoot(t, g, `pid=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s `+busapi.BusName+` | cut -d' ' -f2)
kill -9 "$pid"; date -s '+11 minutes' >/dev/null; cat /sys/kernel/kexec_loaded`)
	wantFirmware(t, g, systemctlReboot(t, g, "systemctl reboot after the arm expired"))
}

// Root's own `kexec -s -l` of the older kernel, nothing armed: systemd's
// own behaviour, untouched — a kexec into root's image, and no line of the
// product's.
func TestSystemctlRebootWithRootsOwnImageIsSystemdsKexecUntouched(t *testing.T) {
	needProduct(t)
	needAutoKexec(t)
	g := guest(t)
	cmdline := cold(t, g)
	if len(suite.kernels) < 2 {
		t.Skip("the image has one kernel: nothing older to load")
	}
	old := suite.kernels[1]
	out := mustRoot(t, g, `test ! -e /run/rapidreboot/arm && test ! -e /run/rapidreboot/loaded
kexec -s -l /boot/vmlinuz-`+old+` --initrd=/boot/initrd.img-`+old+` --append=`+shellQuote(cmdline)+`
cat /sys/kernel/kexec_loaded`)
	if strings.TrimSpace(out) != "1" {
		t.Fatalf("root's kexec -s -l: kexec_loaded %q", out)
	}
	r := systemctlReboot(t, g, "systemctl reboot with root's own image loaded")
	if !r.ByKexec() {
		t.Errorf("systemd %s did not kexec root's image: %d QMP RESET", suite.release, len(r.Resets))
	}
	if r.To.Kernel != old {
		t.Errorf("came up running %s, want root's image %s", r.To.Kernel, old)
	}
	if l := productLines(r); len(l) > 0 {
		t.Errorf("the product spoke about root's own image:\n%s", strings.Join(l, "\n"))
	}
	// Back to the newest kernel through the firmware for the tests after.
	restart(t, g, "back to GRUB's default", func() error { return g.RootStart("SYSTEMCTL_SKIP_AUTO_KEXEC=1 systemctl reboot") })
}
