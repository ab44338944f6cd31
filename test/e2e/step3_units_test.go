package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The boot units run sandboxed (issue 12 item 11: ProtectSystem=strict, a
// private /dev with /dev/kmsg, a syscall filter with kexec_file_load and
// no kexec_load, CAP_SYS_BOOT only). These tests show, in a real systemd,
// that each step still does its work: ExecStop (--verify) checks an arm
// and logs through /dev/kmsg, unloads an image whose arm no longer holds,
// ExecStart (--boot) and rapidreboot-boot-done.service (--came-up) move the
// boot markers, and the live units score what assets/units_test.go says.

var exposureRE = regexp.MustCompile(`Overall exposure level for (\S+): ([0-9]+\.[0-9])`)

// unitState returns systemctl show's Key=Value lines for unit.
func unitState(t *testing.T, g *Guest, unit string) map[string]string {
	t.Helper()
	out := mustRoot(t, g, "systemctl show --no-pager -p ActiveState -p Result -p ExecMainStatus -p ExecMainExitTimestampMonotonic "+unit)
	kv := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// waitCameUp waits until rapidreboot-boot-done.service has run in this boot
// (it is ordered after multi-user.target and graphical.target).
func waitCameUp(t *testing.T, g *Guest) {
	t.Helper()
	mustRoot(t, g, `for i in $(seq 120); do
  [ "$(systemctl show -p ExecMainExitTimestampMonotonic --value rapidreboot-boot-done.service)" != 0 ] && exit 0
  sleep 1
done
echo "rapidreboot-boot-done.service has not run after 120 s"; systemctl status --no-pager rapidreboot-boot-done.service; exit 1`)
}

// checkUnitsSucceeded checks both boot units' results in this boot.
func checkUnitsSucceeded(t *testing.T, g *Guest) {
	t.Helper()
	waitCameUp(t, g)
	for unit, active := range map[string]string{
		"rapidreboot-boot.service":      "active", // RemainAfterExit: its ExecStop is still to run
		"rapidreboot-boot-done.service": "inactive",
	} {
		st := unitState(t, g, unit)
		if st["Result"] != "success" || st["ExecMainStatus"] != "0" || st["ActiveState"] != active {
			out, _ := root(t, g, "systemctl status --no-pager "+unit+"; journalctl -b -o cat --no-pager -u "+unit+" | tail -20")
			t.Errorf("%s in this boot: %v, want Result=success ExecMainStatus=0 ActiveState=%s\n%s", unit, st, active, out)
		}
	}
	if out, rc := root(t, g, `ls -a /var/lib/rapidreboot; stat -c '%a %U' /run/rapidreboot /var/lib/rapidreboot; test ! -e /var/lib/rapidreboot/booting`); rc != 0 {
		t.Errorf("after rapidreboot-boot-done.service the booting marker is still there:\n%s", out)
	}
}

// unitsKmsg returns the product's kernel-log lines of a restart as the
// serial console printed them (quickRestart and fullRebootKeepArm set the
// console level so that the product's notices show). The guest's journal
// is not kept across boots, so the console is the record: a "checked" or
// "cancelled" line there was written by ExecStop (--verify) through the
// /dev/kmsg bound into its sandbox, before the systemd-shutdown hook's own
// lines.
func unitsKmsg(r Restart) string {
	var b strings.Builder
	for _, l := range r.Lines {
		if i := strings.Index(l.Text, "rapidreboot: "); i >= 0 {
			b.WriteString(l.Text[i:])
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestUnitsHardenedBootUnitsCheckTheArmUnloadAndMoveTheMarkers(t *testing.T) {
	needProduct(t)
	g := guest(t)
	want := cold(t, g)

	t.Run("the live units score at most 2.5", func(t *testing.T) {
		out := mustRoot(t, g, `for u in rapidreboot-boot.service rapidreboot-boot-done.service rapidreboot-helper.service; do
  systemd-analyze security --no-pager $u | tail -1; done`)
		ms := exposureRE.FindAllStringSubmatch(out, -1)
		if len(ms) != 3 {
			t.Fatalf("systemd-analyze security in the guest:\n%s", out)
		}
		for _, m := range ms {
			v, _ := strconv.ParseFloat(m[2], 64)
			t.Logf("%s: %.1f in the guest's systemd", m[1], v)
			if v > 2.5 {
				t.Errorf("%s: exposure %.1f in the guest, want at most 2.5", m[1], v)
			}
		}
	})

	// A Quick Restart: ExecStop checks the arm (and logs it to /dev/kmsg),
	// the hook kexecs, ExecStart and --came-up move the markers.
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	// The Arm ran in the helper under its bounds (MemoryMax=256M, TasksMax=64,
	// no kexec_load in its filter); what it used, for docs/helper.md.
	t.Run("the helper armed within its bounds", func(t *testing.T) {
		out := mustRoot(t, g, "systemctl show --no-pager -p MemoryMax -p TasksMax -p MemoryCurrent -p TasksCurrent rapidreboot-helper.service")
		t.Logf("after Arm: %s", strings.Join(strings.Fields(out), " "))
		if !strings.Contains(out, "MemoryMax=268435456") || !strings.Contains(out, "TasksMax=64") {
			t.Errorf("the helper's unit in the guest: %s, want MemoryMax=268435456 and TasksMax=64", out)
		}
	})
	r := quickRestart(t, g, "rapidrebootctl restart --quick through the sandboxed boot unit")
	t.Run("Quick Restart: ExecStop checked the arm, the hook kexec'd, the markers moved", func(t *testing.T) {
		checkKexecBoot(t, g, r, want)
		kmsg := unitsKmsg(r)
		t.Logf("the product's kernel-log lines of the restart:\n%s", kmsg)
		if !regexp.MustCompile(`rapidreboot: Quick Restart into \S+ checked`).MatchString(kmsg) {
			t.Errorf("no \"Quick Restart into … checked\" line from ExecStop (--verify) in the kernel log of the boot before")
		}
		// --verify also tested the dpkg locks (/var/lib/dpkg, /proc/locks),
		// read /boot and asked systemctl for the shutdown job: an operation
		// the sandbox refused shows as an error line.
		if m := regexp.MustCompile(`(?i)rapidreboot: .*(cannot|permission denied|read-only file system|operation not permitted).*`).FindString(kmsg); m != "" {
			t.Errorf("a boot unit step failed in its sandbox: %s", m)
		}
		checkUnitsSucceeded(t, g)
	})

	// An arm whose kernel file changed after Arm: ExecStop must cancel it
	// and unload the image (kexec_file_load with KEXEC_FILE_UNLOAD through
	// the unit's syscall filter and CAP_SYS_BOOT), and the restart goes
	// through the firmware.
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	kernel := "/boot/vmlinuz-" + newest(t)
	old := strings.TrimSpace(mustRoot(t, g, "stat -c %Y "+kernel))
	mustRoot(t, g, "touch -m "+kernel)
	t.Cleanup(func() { root(t, g, "touch -m -d @"+old+" "+kernel) })
	r = fullRebootKeepArm(t, g, "systemctl reboot, armed, the kernel file touched after Arm")
	mustRoot(t, g, "touch -m -d @"+old+" "+kernel)
	t.Run("changed kernel: ExecStop cancelled and unloaded, the restart went through the firmware", func(t *testing.T) {
		if r.ByKexec() {
			t.Errorf("the restart was a kexec although the kernel file changed after Arm")
		}
		kmsg := unitsKmsg(r)
		t.Logf("the product's kernel-log lines of the restart:\n%s", kmsg)
		if !strings.Contains(kmsg, "Quick Restart cancelled") {
			t.Errorf("no \"Quick Restart cancelled\" line from ExecStop (--verify) in the kernel log of the boot before")
		}
		// ExecStop logs a failed unload before its "cancelled" line.
		if strings.Contains(kmsg, "cannot unload") {
			t.Errorf("ExecStop could not unload the image in its sandbox")
		}
		checkUnitsSucceeded(t, g)
	})
}
