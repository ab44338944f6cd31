package e2e

import (
	"strings"
	"testing"
)

// The harness's own proofs, independent of the product: the guest boots
// the way a PC does, the console and the tty1 session carry commands, the
// tty1 user is the active local user polkit trusts, and QMP RESET events
// tell a firmware reboot from a kexec.

func TestHarnessBootsTheNewestKernelAndRunsCommands(t *testing.T) {
	g := guest(t)
	if len(suite.kernels) > 0 && g.Boot.Kernel != suite.kernels[0] {
		t.Errorf("GRUB booted %s, want the newest kernel %s", g.Boot.Kernel, suite.kernels[0])
	}
	if len(suite.kernels) < 2 || suite.kernels[0] == suite.kernels[1] {
		t.Errorf("the image must hold two kernel versions, has %v", suite.kernels)
	}
	out, rc := root(t, g, "echo to-stdout; echo to-stderr >&2; printf 'tab\\there\\n'; exit 3")
	if rc != 3 || !strings.Contains(out, "to-stdout") || !strings.Contains(out, "to-stderr") || !strings.Contains(out, "tab\there") {
		t.Errorf("root job: rc %d, output %q; want 3 and both streams", rc, out)
	}
	cmdline := mustRoot(t, g, "cat /proc/cmdline")
	if !strings.HasPrefix(cmdline, "BOOT_IMAGE=/boot/vmlinuz-") || !strings.Contains(cmdline, "root=UUID=") {
		t.Errorf("the boot did not come through GRUB with root=UUID=: %q", cmdline)
	}
	if got := mustRoot(t, g, "grep -E '^GRUB_TIMEOUT=' /etc/default/grub"); strings.TrimSpace(got) != "GRUB_TIMEOUT=5" {
		t.Errorf("GRUB's timeout is %q, want Debian's default 5 s", got)
	}
}

func TestHarnessTty1UserIsTheActiveLocalUserPolkitTrusts(t *testing.T) {
	g := guest(t)
	out := mustUser(t, g, `id -un
loginctl show-session "$XDG_SESSION_ID" -p Seat -p Active -p Remote -p TTY`)
	for _, want := range []string{"alice", "Seat=seat0", "Active=yes", "Remote=no", "TTY=tty1"} {
		if !strings.Contains(out, want) {
			t.Errorf("tty1 user's session lacks %q:\n%s", want, out)
		}
	}
	if out, rc := user(t, g, `pkcheck --action-id org.freedesktop.login1.reboot --process $$`); rc != 0 {
		t.Errorf("polkit does not let the active tty1 user reboot (rc %d): %s", rc, out)
	}
	// A user outside any session (a system service's process) is not
	// trusted: polkit wants authentication, as for an ssh user.
	out, rc := root(t, g, `systemd-run -q --wait --pipe --uid=bob sh -c 'pkcheck --action-id org.freedesktop.login1.reboot --process $$'`)
	if rc == 0 {
		t.Errorf("polkit lets bob without a session reboot: %s", out)
	}
}

// A kexec shows no QMP RESET and no firmware output. The kexec goes into
// the older kernel, so that scenario 1's Quick Restart then starts from it
// (and "newest" cannot be mistaken for "the running one") without a
// restart of its own. That a firmware reboot shows exactly one RESET and
// OVMF's output is checked by every normal restart the scenarios make
// (scenario 3, rows 28, 39): a separate one here would only cost time.
func TestHarnessTellsAKexecByItsMissingReset(t *testing.T) {
	g := guest(t)
	cmdline := cold(t, g) // the GRUB boot's command line, for the scenarios
	k := g.Boot.Kernel
	if len(suite.kernels) > 1 {
		k = suite.kernels[1]
	}
	flushes, ferr := g.FlushCount()
	mustRoot(t, g, `kexec -s -l /boot/vmlinuz-`+k+` --initrd=/boot/initrd.img-`+k+` --append=`+shellQuote(cmdline))
	r := restart(t, g, "systemctl kexec", func() error { return g.RootStart("systemctl kexec") })
	if !r.ByKexec() {
		t.Errorf("systemctl kexec: %d QMP RESET events, firmware output %v; want none", len(r.Resets), r.Firmware)
	}
	if r.To.Kernel != k {
		t.Errorf("systemctl kexec into %s came up running %s", k, r.To.Kernel)
	}
	if r.HookAt.IsZero() {
		t.Errorf("no @@SHUTDOWN-HOOK line from systemd-shutdown's hooks")
	}
	// The harness empties QEMU's translation cache when a kernel is left
	// (see tbflush.go); QEMU's own count shows it happened.
	if n, err := g.FlushCount(); err != nil || ferr != nil {
		t.Errorf("cannot read QEMU's flush count: %v, %v", ferr, err)
	} else if n == flushes && g.tbf != nil {
		t.Errorf("QEMU's translation cache was not flushed across the kexec (TB flush count %d before and after; %s)", n, g.TBFlushes())
	} else {
		t.Logf("QEMU's TB flush count %d → %d; %s", flushes, n, g.TBFlushes())
	}
	suite.figures.AddRestart(KindSystemd, RestartSample{r, analyze(t, g)})
}
