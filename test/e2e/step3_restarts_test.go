package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// Scenarios and attack-list rows that restart the guest for real: a
// Quick Restart must come back by kexec (no QMP RESET, no firmware output),
// anything else through the firmware.

// Scenarios 1 and 5 (row 41) share one Quick Restart: the tty1 user
// runs `rapidrebootctl restart --quick` right after writing a file it did
// not sync.
//
// Scenario 1: the guest comes back by kexec with a new boot id, the newest
// kernel, and the command line of a cold boot through GRUB. The guest runs
// the older kernel before (the harness's kexec left it there), so "newest"
// cannot be mistaken for "the running one".
//
// Scenario 5, row 41: nothing lost. The file (with periodic write-back
// switched off, so it is only in the page cache) is on disk after the
// Quick Restart, and the root file system needed no journal recovery.
func TestScenario1And5Row41QuickRestartBootsTheNewestKernelAndLosesNothing(t *testing.T) {
	needProduct(t)
	g := guest(t)
	want := cold(t, g)
	if g.Boot.Kernel == newest(t) {
		old := suite.kernels[1]
		mustRoot(t, g, `kexec -s -l /boot/vmlinuz-`+old+` --initrd=/boot/initrd.img-`+old+` --append=`+shellQuote(want))
		r := restart(t, g, "systemctl kexec into the older kernel", func() error { return g.RootStart("systemctl kexec") })
		if r.To.Kernel != old {
			t.Fatalf("running %s, want the older kernel %s before the Quick Restart", r.To.Kernel, old)
		}
	}
	mustRoot(t, g, "sysctl -q vm.dirty_writeback_centisecs=0 vm.dirty_expire_centisecs=360000")
	out := mustUser(t, g, `head -c 8M /dev/urandom >~/unsynced.bin
sha256sum <~/unsynced.bin | cut -d' ' -f1
grep -E '^Dirty:' /proc/meminfo`)
	sum := strings.Fields(out)[0]
	t.Logf("written, not synced: %s", strings.Join(strings.Fields(out), " "))
	r := quickRestart(t, g, "rapidrebootctl restart --quick, right after an unsynced write")
	recordQuick(t, g, r)
	t.Run("scenario 1: by kexec into the newest kernel with the cold boot's command line", func(t *testing.T) {
		checkKexecBoot(t, g, r, want)
		if total, beyond, ok := hookSpan(r); ok {
			t.Logf("the product's hook: %s from the start of the shutdown hooks to its kexec call, %s beyond its sibling", fmtSeconds(total), fmtSeconds(beyond))
		}
	})
	t.Run("scenario 5, row 41: the unsynced file is on disk and the root file system is clean", func(t *testing.T) {
		got := strings.TrimSpace(mustUser(t, g, `sha256sum <~/unsynced.bin | cut -d' ' -f1; rm -f ~/unsynced.bin`))
		if got != sum {
			t.Errorf("the unsynced file after the Quick Restart: sha256 %s, want %s", got, sum)
		}
		rec := mustRoot(t, g, `journalctl -b -o cat --no-pager | grep -i -E 'recovery complete|recovering journal|orphan inode|clean up orphan|was not properly unmounted' || true`)
		if strings.TrimSpace(rec) != "" {
			t.Errorf("the root file system needed recovery after the Quick Restart:\n%s", rec)
		}
	})
}

// Scenario 2: the dialog itself, under Xvfb in the tty1 user's session:
// hold Shift, click Quick Restart, and the guest comes back by kexec.
func TestScenario2DialogShiftClickQuickRestart(t *testing.T) {
	needProduct(t)
	g := guest(t)
	want := cold(t, g)
	// The dialog runs with its own session bus (no session manager on it:
	// it falls back to logind, as on a bare window manager).
	startXvfb(t, g, 5)
	d := startDialog(t, g, "/tmp/e2e-trace", "DISPLAY=:5 setsid -f dbus-run-session -- "+testDialogPath)
	click := d.shiftAndQuickRestart()
	r := restart(t, g, "Shift + click on Quick Restart", click)
	checkKexecBoot(t, g, r, want)
	recordQuickAs(t, g, r, KindDialogQuick)
}

// startXvfb starts a virtual display :n in alice's session, stopped (with
// everything else of hers started here) when the test ends.
func startXvfb(t *testing.T, g *Guest, n int) {
	t.Helper()
	mustUser(t, g, fmt.Sprintf(`setsid -f sh -c 'Xvfb :%[1]d -screen 0 1280x800x24 -nolisten tcp >/tmp/e2e-xvfb%[1]d.log 2>&1' </dev/null
for i in $(seq 100); do [ -e /tmp/.X11-unix/X%[1]d ] && break; sleep 0.2; done
[ -e /tmp/.X11-unix/X%[1]d ]`, n))
	t.Cleanup(func() {
		root(t, g, "pkill -u alice -x xdotool; pkill -u alice -x rapidreboot; pkill -u alice -x rr-probe; pkill -u alice -x mate-session; sleep 0.5; pkill -u alice -x Xvfb")
	})
}

// testDialogPath is the dialog's test build in the guest (testDialog): the
// packaged one, with its helper, polkit policy and desktop files, writes
// no trace. It differs from /usr/bin/rapidreboot only by that hook.
const testDialogPath = "/usr/local/lib/e2e/tools/rapidreboot"

// guestDialog is the dialog running in alice's session, tracing to a file
// (RAPIDREBOOT_TRACE of the test build): what it shows, where its buttons
// are, what it did.
type guestDialog struct {
	t     *testing.T
	g     *Guest
	env   string // DISPLAY and session bus of the dialog, for xdotool
	trace string
	from  int // wait() looks at the trace from this line on (mark())
	xid   string
}

// startDialog runs command (a shell command starting rapidreboot in the
// background) with the trace file set, and waits for a plan that allows
// Quick Restart.
func startDialog(t *testing.T, g *Guest, trace, command string) *guestDialog {
	t.Helper()
	mustUser(t, g, fmt.Sprintf("rm -f %[1]s %[1]s.log\nRAPIDREBOOT_TRACE=%[1]s %[2]s >%[1]s.log 2>&1 </dev/null", trace, command))
	env := regexp.MustCompile(`DISPLAY=\S+`).FindString(command)
	d := &guestDialog{t: t, g: g, env: env, trace: trace}
	if tr := d.wait("plan available="); !strings.Contains(tr, "plan available=true") {
		t.Fatalf("the dialog says Quick Restart is unavailable:\n%s", tr)
	}
	return d
}

// wait returns the trace from the mark on, once a line there matches the
// extended regexp what.
func (d *guestDialog) wait(what string) string {
	d.t.Helper()
	out, rc := user(d.t, d.g, fmt.Sprintf(`for i in $(seq 300); do tail -n +%[3]d %[2]s 2>/dev/null | grep -q -E -- %[1]s && break; sleep 0.2; done
tail -n +%[3]d %[2]s; tail -n +%[3]d %[2]s | grep -q -E -- %[1]s`, shellQuote(what), d.trace, d.from+1))
	if rc != 0 {
		log, _ := user(d.t, d.g, "cat "+d.trace+".log")
		d.t.Fatalf("the dialog's trace has no %q:\n%s\ndialog output:\n%s", what, out, log)
	}
	return out
}

// mark makes later waits look only at trace lines written from now on.
func (d *guestDialog) mark() {
	d.t.Helper()
	d.from = atoi(strings.TrimSpace(mustUser(d.t, d.g, "wc -l <"+d.trace)))
}

// shiftAndQuickRestart holds Shift down (one xdotool process keeps it down
// while it stays connected), waits for the Restart button to say Quick
// Restart, and returns the click on it, for restart() or to call directly.
func (d *guestDialog) shiftAndQuickRestart() func() error {
	d.t.Helper()
	if d.xid == "" {
		from := d.from
		d.from = 0
		tr := d.wait("xid=0x")
		d.from = from
		m := regexp.MustCompile(`xid=(0x[0-9a-f]+)`).FindStringSubmatch(tr)
		if m == nil {
			d.t.Fatalf("no window id in the trace:\n%s", tr)
		}
		d.xid = m[1]
	}
	xid := d.xid
	d.mark()
	mustUser(d.t, d.g, d.env+` setsid -f xdotool keydown shift sleep 600 </dev/null >/dev/null 2>&1`)
	d.wait(`state restart="_?Quick Restart"`)
	offered := time.Now()
	tr := d.wait(`geom shutdown `) // the end of a layout's geometry lines
	geo := regexp.MustCompile(`geom restart x=(-?\d+) y=(-?\d+) w=(\d+) h=(\d+) visible=true`).FindAllStringSubmatch(tr, -1)
	if geo == nil {
		d.t.Fatalf("no geometry of the Restart button in the trace:\n%s", tr)
	}
	last := geo[len(geo)-1]
	x, y := atoi(last[1])+atoi(last[3])/2, atoi(last[2])+atoi(last[4])/2
	// A person clicks a moment after the button reads Quick Restart, not
	// the instant it does: the click comes HumanReaction after that line
	// (issue 16: the dialog prepares while Quick Restart is on offer;
	// docs/e2e.md). Whether the Prepare finished by then is not looked at.
	if wait := HumanReaction - time.Since(offered); wait > 0 {
		time.Sleep(wait)
	}
	if tr, _ := user(d.t, d.g, "grep -E 'prepare (asked|done)' "+d.trace+" || true"); tr != "" {
		d.t.Logf("the dialog's Prepare at the click (%s after the offer):\n%s", HumanReaction, tr)
	}
	return func() error {
		return d.g.UserStart(suite.ctx, fmt.Sprintf(`%s xdotool mousemove --window %s %d %d click 1`, d.env, xid, x, y))
	}
}

// windowID returns the id of a visible window of class on display, taken
// only from a line of digits: xdotool prints X errors (BadWindow for a
// window that vanished while it searched) on the same output, and such a
// line pasted into the next command breaks the guest's shell. A search
// that races a window's life is tried again until timeout.
func windowID(t *testing.T, g *Guest, display, class string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, _ := user(t, g, `DISPLAY=`+display+` xdotool search --onlyvisible --class `+class+` 2>/dev/null`)
		if id := firstWindowID(out); id != "" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("no visible window of class %s on %s after %s; last output:\n%s", class, display, timeout, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// firstWindowID is the first line of out that is a window id (digits only).
func firstWindowID(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); windowIDPattern.MatchString(l) {
			return l
		}
	}
	return ""
}

var windowIDPattern = regexp.MustCompile(`^[0-9]{1,10}$`)

// releaseShift ends the xdotool process holding Shift and lets the key up.
func (d *guestDialog) releaseShift() {
	d.t.Helper()
	mustUser(d.t, d.g, `pkill -u alice -x xdotool; sleep 0.3; `+d.env+` xdotool keyup shift`)
}

// Scenario 3 and row 38: an Arm that is cancelled (Disarm) leaves nothing
// loaded, and the next normal restart goes through the firmware.
func TestScenario3Row38CancelledArmLeavesNothingLoadedAndRestartIsNormal(t *testing.T) {
	needProduct(t)
	g := guest(t)
	p := probeAsUser(t, g, "arm")
	if !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	if got := kexecLoaded(t, g); got != "1" {
		t.Errorf("after Arm /sys/kernel/kexec_loaded = %s, want 1", got)
	}
	if a := probeAsUser(t, g, "armed"); a.Armed == nil || !*a.Armed {
		t.Errorf("after Arm Armed = %s, want true", a)
	}
	disarm(t, g)
	if a := probeAsUser(t, g, "armed"); a.Armed == nil || *a.Armed {
		t.Errorf("after Disarm Armed = %s, want false", a)
	}
	r := fullReboot(t, g, "systemctl reboot after Arm + Disarm")
	if len(r.Resets) != 1 || !r.Firmware {
		t.Errorf("the normal restart after Arm + Disarm: %d QMP RESET, firmware output %v; want 1 and true", len(r.Resets), r.Firmware)
	}
	suite.figures.AddRestart(KindFirmware, RestartSample{r, analyze(t, g)})
	if got := kexecLoaded(t, g); got != "0" {
		t.Errorf("after the restart /sys/kernel/kexec_loaded = %s", got)
	}
}

// Rows 34 and 36 share one restart, armed before, asked for with
// systemctl by the tty1 user (the hook turns it into the kexec).
//
// Row 34: the dpkg lock taken after Arm, before the restart. The shutdown
// re-checks and waits (bounded) for the package manager to finish; here
// it finishes 20 s into the shutdown, so the package is fully installed
// and the restart is still a kexec.
//
// Row 36: a "delay" inhibitor (as unattended-upgrades takes) gets its
// PrepareForShutdown and its time, as in a normal restart.
func TestRow34And36DpkgAfterArmAndADelayInhibitorAreWaitedFor(t *testing.T) {
	needProduct(t)
	g := guest(t)
	want := cold(t, g)
	mustRoot(t, g, slowDebScript)
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	mustRoot(t, g, `rm -f /var/lib/e2e-delay-done /run/e2e-delay.log
systemd-run -q --unit=e2e-delay systemd-inhibit --what=shutdown --mode=delay --who=e2e-row36 --why="saving state" sh -c '
gdbus monitor --system --dest org.freedesktop.login1 --object-path /org/freedesktop/login1 >/run/e2e-delay.log 2>&1 & m=$!
while ! grep -q "PrepareForShutdown (true" /run/e2e-delay.log; do sleep 0.1; done
sleep 2
date +%s.%N >/var/lib/e2e-delay-done; sync
kill $m'
for i in $(seq 40); do systemd-inhibit --list --no-legend | grep -q e2e-row36 && grep -q . /run/e2e-delay.log 2>/dev/null && break; sleep 0.5; done
systemd-inhibit --list --no-legend | grep -q e2e-row36`)
	// dpkg in a service that ignores SIGTERM (as dpkg does while it
	// configures) and finishes about 20 s into the shutdown. The release
	// runs at once, not from a timer: a timer that has not fired when the
	// shutdown begins is stopped with it, and dpkg would wait for good.
	mustRoot(t, g, `rm -f /run/e2e-release /run/e2e-preinst
dpkg --purge e2e-slow >/dev/null 2>&1 || true
systemd-run -q --unit=e2e-dpkg -p TimeoutStopSec=120 sh -c 'trap "" TERM; dpkg -i /var/tmp/e2e-slow.deb'
for i in $(seq 60); do grep -q waiting /run/e2e-preinst 2>/dev/null && break; sleep 0.5; done
grep -q waiting /run/e2e-preinst
systemd-run -q --unit=e2e-release-later sh -c 'trap "" TERM; sleep 20; touch /run/e2e-release'
systemctl -q is-active e2e-release-later`)
	r := fullRebootKeepArm(t, g, "systemctl reboot while dpkg runs and a delay inhibitor is held, armed")
	t.Run("row 34: dpkg finished before the kexec", func(t *testing.T) {
		out := mustRoot(t, g, `dpkg-query -W -f='${Status}' e2e-slow; echo; journalctl -b -1 -o cat --no-pager | grep -i rapidreboot | tail -20; dpkg --purge e2e-slow >/dev/null`)
		if !strings.HasPrefix(out, "install ok installed") {
			t.Errorf("the package manager was cut short by the restart: %s", out)
		}
		if !r.ByKexec() {
			t.Logf("the restart went through the firmware (%d RESET); the log of the boot before:\n%s", len(r.Resets), out)
			if !strings.Contains(out, "package manager") {
				t.Errorf("a normal restart instead of the Quick Restart, without a message about the package manager")
			}
		} else {
			checkKexecBoot(t, g, r, want)
		}
	})
	t.Run("row 36: the delay inhibitor's holder got its time", func(t *testing.T) {
		if out, rc := root(t, g, "cat /var/lib/e2e-delay-done && rm /var/lib/e2e-delay-done"); rc != 0 {
			t.Errorf("the delay inhibitor's holder did not get its time before the restart: %s", out)
		}
	})
}

// fullRebootKeepArm asks for a normal restart as the tty1 user, as a
// desktop does (desktopReboot: systemctl on Debian 12, logind's
// Reboot(true) on 13): with a Quick Restart armed, the product's hook
// turns it into a kexec (docs/reboot-design.md).
func fullRebootKeepArm(t *testing.T, g *Guest, what string) Restart {
	t.Helper()
	mustRoot(t, g, "dmesg -n 6")
	return restart(t, g, what, func() error { return g.UserStart(suite.ctx, desktopReboot()) })
}

// Row 39: the helper killed with SIGKILL while armed. Nobody is left to
// expire the arm, so the shutdown must check it itself: an arm past its
// expiry (the guest's clock moved 11 minutes on) must never kexec, and the
// image is unloaded. An arm still within its time is what the user asked
// for and polkit allowed: the product keeps it (docs/reboot-design.md 4.2,
// docs/helper.md "Start"), so a restart right after the kill is still the
// Quick Restart, checked as scenario 1's.
func TestRow39HelperKilledWhileArmed(t *testing.T) {
	needProduct(t)
	g := guest(t)
	arm := func(t *testing.T) {
		t.Helper()
		if p := probeAsUser(t, g, "arm"); !p.OK {
			t.Fatalf("Arm: %s", p)
		}
		out := mustRoot(t, g, `pid=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s `+busapi.BusName+` | cut -d' ' -f2)
kill -9 "$pid"; echo "killed helper $pid"; cat /sys/kernel/kexec_loaded`)
		t.Logf("%s", strings.TrimSpace(out))
	}
	t.Run("and its arm expired", func(t *testing.T) {
		arm(t)
		mustRoot(t, g, `date -s '+11 minutes' >/dev/null`)
		r := fullRebootKeepArm(t, g, "systemctl reboot after the helper was killed and the arm expired")
		if r.ByKexec() {
			t.Errorf("an expired arm left by a killed helper still made the restart a kexec")
		} else {
			suite.figures.AddRestart(KindFirmware, RestartSample{r, analyze(t, g)})
		}
		if got := kexecLoaded(t, g); got != "0" {
			t.Errorf("kexec_loaded = %s after the restart", got)
		}
	})
	t.Run("restart right away: the arm is still valid and honoured", func(t *testing.T) {
		want := cold(t, g)
		arm(t)
		r := fullRebootKeepArm(t, g, "systemctl reboot right after the helper was killed")
		checkKexecBoot(t, g, r, want)
		if got := kexecLoaded(t, g); got != "0" {
			t.Errorf("kexec_loaded = %s after the restart", got)
		}
	})
}

// Row 29: under lockdown=integrity an unsigned kernel is refused as "not
// signed for this machine", and kexec_load is not tried instead.
func TestRow29LockdownRefusesAnUnsignedKernel(t *testing.T) {
	needProduct(t)
	g := guest(t)
	k := "/boot/vmlinuz-" + newest(t)
	if out, rc := root(t, g, "cat /sys/kernel/security/lockdown"); rc != 0 {
		t.Skipf("this kernel has no lockdown LSM: %s", out)
	}
	// The newest kernel without its signature, same path, same owner.
	mustRoot(t, g, `set -e
cp -p `+k+` /var/tmp/vmlinuz.signed
/usr/local/lib/e2e/tools/strip-pe-signature `+k+` /var/tmp/vmlinuz.unsigned
cat /var/tmp/vmlinuz.unsigned >`+k+`
touch -r /var/tmp/vmlinuz.signed `+k+` # else the initrd looks stale
echo integrity >/sys/kernel/security/lockdown
cat /sys/kernel/security/lockdown`)
	suite.dirty = "lockdown=integrity"
	t.Cleanup(func() {
		mustRoot(t, g, `cp -p /var/tmp/vmlinuz.signed `+k+` && rm -f /var/tmp/vmlinuz.signed /var/tmp/vmlinuz.unsigned`)
	})
	p := probeAsUser(t, g, "arm")
	wantRefused(t, g, p, "", "lockdown")
	out, rc := user(t, g, ctl+" restart --quick")
	if rc == 0 || !strings.Contains(out, "not signed") {
		t.Errorf("rapidrebootctl restart --quick with an unsigned kernel under lockdown: exit %d, %q", rc, out)
	}
	stillUp(t, g, g.Boot.ID)
	// Lockdown is one-way until the next boot. The signed kernel is put
	// back (Cleanup); the restart out of lockdown is row 28's, which comes
	// next and needs one for its own one-way switch (or the next test's).
}

// Row 28 and scenario 4: kexec_load_disabled=1 makes Quick Restart
// unavailable with its own reason, and a normal restart still works.
func TestRow28KexecLoadDisabledIsUnavailableAndNormalRestartWorks(t *testing.T) {
	needProduct(t)
	// This test's own normal restart clears what row 29 left (lockdown):
	// guest() must not restart for it first.
	left := suite.dirty
	suite.dirty = ""
	g := guest(t)
	mustRoot(t, g, "sysctl -q kernel.kexec_load_disabled=1")
	suite.dirty = strings.TrimPrefix(left+", kernel.kexec_load_disabled=1", ", ")
	p := probeAsUser(t, g, "plan")
	if p.Plan == nil || p.Plan.Available || p.Plan.Reason != "kexec-disabled" {
		t.Errorf("GetPlan with kexec_load_disabled=1: %s; want unavailable, kexec-disabled", p)
	}
	wantRefused(t, g, probeAsUser(t, g, "arm"), busapi.ErrUnavailable, "kexec-disabled")
	out, rc := user(t, g, ctl+" restart --quick")
	if rc == 0 || !strings.Contains(out, "switched off") {
		t.Errorf("rapidrebootctl restart --quick with kexec disabled: exit %d, %q", rc, out)
	}
	stillUp(t, g, g.Boot.ID)
	// The switch is one-way until the next boot (as row 29's lockdown
	// before it): the normal restart.
	mustRoot(t, g, "dmesg -n 6")
	r := restart(t, g, "rapidrebootctl restart (normal)", func() error { return g.UserStart(suite.ctx, ctl+" restart") })
	if len(r.Resets) != 1 || !r.Firmware {
		t.Errorf("the normal restart with kexec disabled: %d QMP RESET, firmware output %v; want 1 and true", len(r.Resets), r.Firmware)
	}
	suite.dirty = ""
	suite.figures.AddRestart(KindFirmware, RestartSample{r, analyze(t, g)})
}

// Row 42: a kexec'd kernel that hangs. The newest kernel's initramfs gets
// a script that stops for good when the command line has no BOOT_IMAGE=
// (so only a kexec'd boot hangs, a GRUB boot passes); after the Quick
// Restart hangs the harness presses reset, and the firmware boot must
// switch Quick Restart off with its reason, until cleared.
func TestRow42HungKexecBootSwitchesQuickRestartOff(t *testing.T) {
	needProduct(t)
	g := guest(t)
	v := newest(t)
	// An archive appended to the initramfs (the kernel unpacks them all,
	// later files win) replaces /init with a gate in front of the real
	// one: update-initramfs takes minutes under TCG. klibc's shell has no
	// grep: the command line is matched with case.
	mustRoot(t, g, `set -e
i=/boot/initrd.img-`+v+`
cp -p $i /var/tmp/initrd.good
d=$(mktemp -d)
cp /usr/share/initramfs-tools/init $d/init.real
cat >$d/init <<'EOF'
#!/bin/sh
# rapidreboot e2e, attack-list row 42: a kexec'd boot (no BOOT_IMAGE=) hangs here.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mkdir -p /proc
mount -t proc proc /proc
read -r cmdline </proc/cmdline
case " $cmdline " in
*" BOOT_IMAGE="*) ;;
*)
	echo "@@HANG the kexec'd initramfs stops here (row 42)"
	while :; do sleep 3600; done
	;;
esac
umount /proc
exec /init.real "$@"
EOF
chmod 0755 $d/init $d/init.real
# An uncompressed archive must start 4-byte aligned.
pad=$(( (4 - $(stat -c %s $i) % 4) % 4 ))
head -c $pad /dev/zero >>$i
(cd $d && printf 'init\ninit.real\n' | cpio -o -H newc --quiet) >>$i
rm -rf $d`)
	t.Cleanup(func() {
		mustRoot(t, g, `cp -p /var/tmp/initrd.good /boot/initrd.img-`+v+` && rm -f /var/tmp/initrd.good`)
	})
	if p := probeAsUser(t, g, "arm"); !p.OK {
		t.Fatalf("Arm: %s", p)
	}
	mustRoot(t, g, "dmesg -n 6")
	r := restart(t, g, "Quick Restart into a kernel that hangs, then reset", func() error {
		mark := g.ConsoleMark()
		if err := g.UserStart(suite.ctx, desktopReboot()); err != nil {
			return err
		}
		if _, err := g.WaitConsole(&mark, RestartTimeout, "the hang script's line", func(s string) bool {
			return strings.Contains(s, "@@HANG")
		}); err != nil {
			return err
		}
		time.Sleep(10 * time.Second) // hung: no marker comes
		return g.Reset()
	})
	if len(r.Resets) != 1 {
		t.Errorf("%d QMP RESET events, want exactly the harness's one", len(r.Resets))
	}
	p := probeAsUser(t, g, "plan")
	if p.Plan == nil || p.Plan.Available || p.Plan.Reason != "last-kexec-failed" {
		t.Errorf("GetPlan after the hung Quick Restart: %s; want unavailable, last-kexec-failed", p)
	}
	out, rc := user(t, g, ctl+" restart --quick")
	if rc == 0 || !strings.Contains(out, "did not come up") {
		t.Errorf("rapidrebootctl restart --quick after the hung Quick Restart: exit %d, %q", rc, out)
	}
	stillUp(t, g, g.Boot.ID)
	mustRoot(t, g, ctl+" clear-failed")
	if p := probeAsUser(t, g, "plan"); p.Plan == nil || !p.Plan.Available {
		t.Errorf("GetPlan after clear-failed: %s; want available", p)
	}
}

// Row 37: an unsaved document in the session. A real session manager,
// MATE's mate-session (it keeps GNOME's org.gnome.SessionManager API and
// its "Some programs are still running" prompt), runs on an Xvfb display
// in alice's seat0 session, alone (the image's gschema override starts no
// window manager or panel), and an "editor" (rr-probe session-inhibit)
// holds its logout inhibitor as an editor does while a document is
// unsaved. Shift + click on Quick Restart arms the kexec and asks the
// session manager to restart; the session manager asks the user, who
// cancels: the dialog hears of it at once (MATE's SessionRunning signal),
// nothing stays armed and the guest stays up. Once the document is
// closed (the inhibitor released), the same click restarts the guest by
// kexec, through the session manager.
func TestRow37SessionManagerInhibitorAsksTheUser(t *testing.T) {
	needProduct(t)
	g := guest(t)
	want := cold(t, g)
	startXvfb(t, g, 6)
	bus := startMateSession(t, g, 6)
	mustUser(t, g, bus+` setsid -f /usr/local/lib/e2e/tools/rr-probe session-inhibit >/tmp/e2e-inhibit.out 2>&1 </dev/null
for i in $(seq 100); do grep -q cookie /tmp/e2e-inhibit.out && break; sleep 0.2; done
cat /tmp/e2e-inhibit.out; `+bus+` `+mateSM+`IsInhibited 1 | grep -q true`)

	// The dialog's grace period is set to its longest, 600 s, so that an
	// answer within wait()'s minute can only come from the session
	// manager's signal, not from the grace period running out.
	mustUser(t, g, `mkdir -p /tmp/e2e-cfg37/rapidreboot && printf '[dialog]\nquick-restart-grace = 600\n' >/tmp/e2e-cfg37/rapidreboot/dialog.conf`)
	d := startDialog(t, g, "/tmp/e2e-trace37", "DISPLAY=:6 XDG_CURRENT_DESKTOP=MATE XDG_CONFIG_HOME=/tmp/e2e-cfg37 "+bus+" setsid -f "+testDialogPath)
	if tr := d.wait(`session manager=`); !strings.Contains(tr, `session manager="MATE"`) {
		t.Fatalf("the dialog did not find the MATE session manager:\n%s", tr)
	}
	boot := g.Boot.ID
	click := d.shiftAndQuickRestart()
	d.mark()
	if err := click(); err != nil {
		t.Fatal(err)
	}
	// The session manager's prompt, while the kexec image waits, armed.
	prompt := windowID(t, g, ":6", "mate-session", 2*time.Minute)
	if got := kexecLoaded(t, g); got != "1" {
		t.Errorf("while the session manager asks, /sys/kernel/kexec_loaded = %s, want 1 (armed)", got)
	}
	d.releaseShift()
	// Escape closes a GtkDialog, which MATE's prompt takes as Cancel. With
	// no window manager, keys go to the focus window, or the one under the
	// pointer: both are the prompt.
	if out, rc := user(t, g, `DISPLAY=:6 xdotool mousemove --window `+prompt+` 20 20 windowfocus --sync `+prompt+` sleep 0.5 key Escape
for i in $(seq 100); do DISPLAY=:6 xdotool search --onlyvisible --class mate-session >/dev/null || exit 0; sleep 0.2; done
echo "the prompt is still there; focus: $(DISPLAY=:6 xdotool getwindowfocus getwindowname)"; exit 1`); rc != 0 {
		t.Fatalf("cannot cancel the session manager's prompt: %s", out)
	}
	t0 := time.Now()
	tr := d.wait(`result quick-restart done=`)
	t.Logf("the dialog's answer %.1f s after Cancel in the session manager's prompt", time.Since(t0).Seconds())
	if !strings.Contains(tr, "was cancelled") {
		t.Errorf("the dialog after Cancel in the session manager's prompt:\n%s", tr)
	}
	if got := kexecLoaded(t, g); got != "0" {
		t.Errorf("after the cancel /sys/kernel/kexec_loaded = %s, want 0", got)
	}
	if p := probeAsUser(t, g, "armed"); p.Armed == nil || *p.Armed {
		t.Errorf("the helper after the cancel: %s; want not armed", p)
	}
	stillUp(t, g, boot)

	// The document closed, the same click goes through.
	mustUser(t, g, "pkill -u alice -x rr-probe; sleep 0.5; "+bus+" "+mateSM+"IsInhibited 1 | grep -q false")
	click = d.shiftAndQuickRestart()
	r := restart(t, g, "Quick Restart through the MATE session manager", click)
	checkKexecBoot(t, g, r, want)
	recordQuickAs(t, g, r, KindDialogQuick)
}

// mateSM is the start of a gdbus call to the session manager of the
// MATE session (org.gnome.SessionManager's interface).
const mateSM = `gdbus call --session -d org.gnome.SessionManager -o /org/gnome/SessionManager -m org.gnome.SessionManager.`

// startMateSession starts mate-session (the real one) as alice on the
// virtual display :n with a session bus of its own, waits for its running
// phase, and returns the shell assignment of that bus's address for the
// commands that talk to it.
func startMateSession(t *testing.T, g *Guest, n int) string {
	t.Helper()
	busFile := fmt.Sprintf("/tmp/e2e-mate-bus%d", n)
	mustUser(t, g, fmt.Sprintf(`rm -f %[2]s /tmp/e2e-mate%[1]d.log
DISPLAY=:%[1]d XDG_CURRENT_DESKTOP=MATE setsid -f dbus-run-session -- sh -c 'echo "$DBUS_SESSION_BUS_ADDRESS" >%[2]s; exec mate-session' >/tmp/e2e-mate%[1]d.log 2>&1 </dev/null
for i in $(seq 600); do
	[ -s %[2]s ] && DBUS_SESSION_BUS_ADDRESS=$(cat %[2]s) %[3]sIsSessionRunning 2>/dev/null | grep -q true && exit 0
	sleep 0.5
done
echo "mate-session did not reach its running phase:"; cat /tmp/e2e-mate%[1]d.log; exit 1`, n, busFile, mateSM))
	return "DBUS_SESSION_BUS_ADDRESS=$(cat " + busFile + ")"
}

func atoi(s string) int {
	n := 0
	neg := strings.HasPrefix(s, "-")
	for _, c := range strings.TrimPrefix(s, "-") {
		n = n*10 + int(c-'0')
	}
	if neg {
		return -n
	}
	return n
}
