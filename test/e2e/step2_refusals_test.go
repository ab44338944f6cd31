package e2e

import (
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// Refusals that need no restart: each checks the typed refusal, that
// nothing is loaded or armed, and leaves the guest as it found it. The
// guest's logind, polkitd, dbus-daemon and kernel are the real ones.

func TestProductIsInstalledAndOffersAPlan(t *testing.T) {
	needProduct(t)
	g := guest(t)
	p := probeAsUser(t, g, "plan")
	if !p.OK || p.Plan == nil {
		t.Fatalf("GetPlan: %s", p)
	}
	if !p.Plan.Available {
		t.Fatalf("Quick Restart is not available in a plain %s guest: %s", releaseName(), p)
	}
	if p.Plan.Version != newest(t) || p.Plan.Kernel != "/boot/vmlinuz-"+newest(t) {
		t.Errorf("the plan names %s (%s), want the newest kernel %s", p.Plan.Kernel, p.Plan.Version, newest(t))
	}
	if want := cold(t, g); cmdlineWithoutBootImage(p.Plan.Cmdline) != want {
		t.Errorf("the plan's command line\n got %q\nwant %q", p.Plan.Cmdline, want)
	}
	out := mustUser(t, g, ctl+" plan")
	t.Logf("rapidrebootctl plan:\n%s", out)
}

// Row 1 and scenario 4: a caller polkit denies gets NotAuthorized, and
// nothing is loaded.
func TestRow1ArmFromACallerPolkitDeniesIsRefused(t *testing.T) {
	needProduct(t)
	g := guest(t)
	t.Run("polkit rule says no to the active user", func(t *testing.T) {
		mustRoot(t, g, `cat >/etc/polkit-1/rules.d/00-e2e-deny.rules <<'EOF'
// e2e row 1: polkit denies alice the Quick Restart actions.
polkit.addRule(function(action, subject) {
	if (action.id.indexOf("io.github.rapidreboot.") == 0 && subject.user == "alice")
		return polkit.Result.NO;
});
EOF
sleep 2`)
		t.Cleanup(func() { mustRoot(t, g, "rm -f /etc/polkit-1/rules.d/00-e2e-deny.rules; sleep 2") })
		wantRefused(t, g, probeAsUser(t, g, "arm"), busapi.ErrNotAuthorized, "not-authorized")
		wantRefused(t, g, probeAsUser(t, g, "quick"), busapi.ErrNotAuthorized, "not-authorized")
		out, rc := user(t, g, ctl+" arm")
		if rc == 0 || !strings.Contains(out, "not allowed") {
			t.Errorf("rapidrebootctl arm under a denying rule: exit %d, %q; want a failure saying the user is not allowed", rc, out)
		}
		if log := helperLog(t, g); !strings.Contains(log, "1000") {
			t.Errorf("the helper's log does not name the caller's uid 1000:\n%s", log)
		}
	})
	t.Run("scenario 4: a caller without an active session", func(t *testing.T) {
		// bob in a system service's process: no session, allow_any =
		// auth_admin_keep, no agent → refused without a password prompt.
		p := probeWithoutSession(t, g, "arm")
		if p.OK || p.Error == nil || (p.Error.Name != busapi.ErrNotAuthorized && p.Error.Name != busapi.ErrAuthenticationRequired) {
			t.Errorf("Arm from bob without a session: %s; want NotAuthorized or AuthenticationRequired", p)
		}
		wantRefused(t, g, p, "", "")
	})
}

// Row 12: only root may own the helper's bus name (the bus policy).
func TestRow12NonRootCannotOwnTheHelpersBusName(t *testing.T) {
	needProduct(t)
	g := guest(t)
	for _, who := range []struct {
		name  string
		probe func() probeResult
	}{
		{"the active tty1 user", func() probeResult { return probeAsUser(t, g, "own-name") }},
		{"bob without a session", func() probeResult { return probeWithoutSession(t, g, "own-name") }},
	} {
		p := who.probe()
		if p.OK || p.Error == nil || p.Error.Name != "org.freedesktop.DBus.Error.AccessDenied" {
			t.Errorf("%s asking to own %s: %s; want org.freedesktop.DBus.Error.AccessDenied", who.name, busapi.BusName, p)
		}
	}
	// The real helper still answers.
	if p := probeAsUser(t, g, "plan"); !p.OK {
		t.Errorf("GetPlan after the attempts: %s", p)
	}
}

// Row 26: a separate /boot that is not mounted looks like an empty
// directory.
func TestRow26BootNotMountedIsRefused(t *testing.T) {
	needProduct(t)
	g := guest(t)
	mustRoot(t, g, "mount -t tmpfs -o mode=0755,size=1m e2e-empty-boot /boot")
	t.Cleanup(func() { mustRoot(t, g, "umount /boot") })
	p := probeAsUser(t, g, "plan")
	if p.Plan == nil || p.Plan.Available || p.Plan.Reason != "kernel-missing" {
		t.Errorf("GetPlan with an empty /boot: %s; want unavailable, kernel-missing", p)
	}
	a := probeAsUser(t, g, "arm")
	wantRefused(t, g, a, "", "kernel-missing")
	out, rc := user(t, g, ctl+" restart --quick")
	if rc == 0 || !strings.Contains(out, "/boot") {
		t.Errorf("rapidrebootctl restart --quick with an empty /boot: exit %d, %q; want a refusal that names /boot", rc, out)
	}
	stillUp(t, g, g.Boot.ID)
}

// Row 33 and scenario 4: a package manager holding the dpkg frontend lock.
func TestRow33PackageManagerHoldingTheDpkgLockIsRefused(t *testing.T) {
	needProduct(t)
	g := guest(t)
	t.Run("real dpkg in a maintainer script", func(t *testing.T) {
		// A package whose preinst waits for a release file: dpkg holds
		// lock-frontend and lock (fcntl) all the while.
		mustRoot(t, g, slowDebScript+`
rm -f /run/e2e-release
systemd-run -q --unit=e2e-dpkg dpkg -i /var/tmp/e2e-slow.deb
for i in $(seq 60); do grep -q waiting /run/e2e-preinst 2>/dev/null && break; sleep 0.5; done
grep -q waiting /run/e2e-preinst`)
		t.Cleanup(func() {
			mustRoot(t, g, `touch /run/e2e-release
for i in $(seq 60); do systemctl -q is-active e2e-dpkg || break; sleep 0.5; done
dpkg --purge e2e-slow >/dev/null; rm -f /run/e2e-release /run/e2e-preinst`)
		})
		pid := strings.TrimSpace(mustRoot(t, g, "systemctl show -p MainPID --value e2e-dpkg"))
		p := probeAsUser(t, g, "arm")
		wantRefused(t, g, p, busapi.ErrUnavailable, "package-manager")
		if p.Error != nil && !strings.Contains(p.Error.Detail+p.Error.Message, pid) {
			t.Errorf("the refusal does not name the holder, dpkg pid %s: %s", pid, p)
		}
		if pl := probeAsUser(t, g, "plan"); pl.Plan == nil || pl.Plan.Available || pl.Plan.Reason != "package-manager" {
			t.Errorf("GetPlan while dpkg runs: %s; want unavailable, package-manager", pl)
		}
		out, rc := user(t, g, ctl+" restart --quick")
		if rc == 0 || !strings.Contains(out, "installed or removed") {
			t.Errorf("rapidrebootctl restart --quick while dpkg runs: exit %d, %q", rc, out)
		}
		stillUp(t, g, g.Boot.ID)
		if out := mustRoot(t, g, "systemctl is-active e2e-dpkg || true"); strings.TrimSpace(out) != "active" {
			t.Errorf("dpkg did not keep running (%s): the check must not take or break the lock", out)
		}
	})
	t.Run("flock holder", func(t *testing.T) {
		mustRoot(t, g, `systemd-run -q --unit=e2e-flock flock /var/lib/dpkg/lock-frontend sleep 600; sleep 1`)
		t.Cleanup(func() { mustRoot(t, g, "systemctl stop e2e-flock") })
		wantRefused(t, g, probeAsUser(t, g, "arm"), busapi.ErrUnavailable, "package-manager")
	})
	t.Run("fcntl holder", func(t *testing.T) {
		mustRoot(t, g, `systemd-run -q --unit=e2e-lockf /usr/local/lib/e2e/tools/hold-lock /var/lib/dpkg/lock-frontend; sleep 1`)
		t.Cleanup(func() { mustRoot(t, g, "systemctl stop e2e-lockf") })
		wantRefused(t, g, probeAsUser(t, g, "arm"), busapi.ErrUnavailable, "package-manager")
	})
	if p := probeAsUser(t, g, "plan"); p.Plan == nil || !p.Plan.Available {
		t.Errorf("Quick Restart is not available again after the package manager finished: %s", p)
	}
}

// slowDebScript builds /var/tmp/e2e-slow.deb: a package whose preinst says
// "waiting" and then waits (at most 5 minutes) for /run/e2e-release,
// ignoring SIGTERM like a package manager finishing its work at shutdown.
const slowDebScript = `set -e
if [ ! -e /var/tmp/e2e-slow.deb ]; then
	d=$(mktemp -d)
	mkdir -p "$d/DEBIAN"
	cat >"$d/DEBIAN/control" <<'EOF'
Package: e2e-slow
Version: 1
Architecture: all
Maintainer: e2e <e2e@localhost>
Description: rapidreboot e2e: a package that takes its time to install
EOF
	cat >"$d/DEBIAN/preinst" <<'EOF'
#!/bin/sh
trap '' TERM
echo waiting >/run/e2e-preinst
i=0
while [ ! -e /run/e2e-release ] && [ $i -lt 600 ]; do sleep 0.5; i=$((i+1)); done
echo done >/run/e2e-preinst
EOF
	chmod 0755 "$d/DEBIAN/preinst"
	dpkg-deb -b "$d" /var/tmp/e2e-slow.deb >/dev/null
	rm -rf "$d"
fi`

// Row 35 and scenario 4: a block inhibitor on shutdown.
func TestRow35BlockInhibitorIsRefusedNamingWhoAndWhy(t *testing.T) {
	needProduct(t)
	g := guest(t)
	for _, c := range []struct {
		name, as, mode string
	}{
		{"by another user", "--uid=bob", "block"},
		{"by root", "", "block"},
		{"block-weak", "", "block-weak"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.mode == "block-weak" {
				if _, rc := root(t, g, "systemd-inhibit --what=shutdown --mode=block-weak true"); rc != 0 {
					t.Skipf("logind in %s has no block-weak mode (it came with systemd 257)", releaseName())
				}
			}
			who := "e2e-row35-" + strings.ReplaceAll(c.name, " ", "-")
			if c.as != "" {
				// bob has no session here, and logind's default policy lets
				// only local sessions take a block inhibitor: a rule lets him,
				// as one would let a daemon's user.
				mustRoot(t, g, "cat >/etc/polkit-1/rules.d/00-e2e-inhibit.rules <<'RULE'\n"+
					"// e2e row 35: bob may take a block inhibitor without a session.\n"+
					"polkit.addRule(function(action, subject) {\n"+
					"\tif (action.id == \"org.freedesktop.login1.inhibit-block-shutdown\" && subject.user == \"bob\")\n"+
					"\t\treturn polkit.Result.YES;\n"+
					"});\nRULE\nsleep 2")
				t.Cleanup(func() { root(t, g, "rm -f /etc/polkit-1/rules.d/00-e2e-inhibit.rules") })
			}
			mustRoot(t, g, `systemd-run -q --unit=e2e-inhibit `+c.as+` systemd-inhibit --what=shutdown --mode=`+c.mode+
				` --who=`+who+` --why="testing row 35" sleep 600
for i in $(seq 40); do systemd-inhibit --list --no-legend | grep -q `+who+` && break; sleep 0.5; done
systemd-inhibit --list --no-legend | grep `+who+` || { journalctl -u e2e-inhibit -o cat --no-pager | tail; exit 1; }`)
			t.Cleanup(func() { root(t, g, "systemctl stop e2e-inhibit; systemctl reset-failed e2e-inhibit 2>/dev/null; true") })
			p := probeAsUser(t, g, "arm")
			if p.OK {
				// Never go on to QuickRestart: it would restart the guest.
				probeAsUser(t, g, "disarm")
				t.Fatalf("Arm went ahead past a %s inhibitor: %s", c.mode, p)
			}
			wantRefused(t, g, p, busapi.ErrUnavailable, "inhibited")
			if p.Error != nil && !(strings.Contains(p.Error.Detail, who) && strings.Contains(p.Error.Detail, "testing row 35")) {
				t.Errorf("the refusal does not name who (%s) and why: %s", who, p)
			}
			q := probeAsUser(t, g, "quick")
			if q.OK {
				t.Fatalf("QuickRestart went ahead past a %s inhibitor", c.mode)
			}
			wantRefused(t, g, q, "", "")
			out, rc := user(t, g, ctl+" restart --quick")
			if rc == 0 || !strings.Contains(out, who) {
				t.Errorf("rapidrebootctl restart --quick past a block inhibitor: exit %d, %q", rc, out)
			}
			stillUp(t, g, g.Boot.ID)
		})
	}
}

// Row 44: an installer's target: everything resolves inside --root, and
// the installer's own shutdown inhibitor is named.
func TestRow44InstallerTargetResolvesInsideRootAndNamesTheInhibitor(t *testing.T) {
	needProduct(t)
	g := guest(t)
	if len(suite.kernels) < 2 {
		t.Fatal("needs two kernels")
	}
	old := suite.kernels[1]
	// /target holds only the older kernel, with the absolute symlinks
	// Debian makes (/vmlinuz → boot/…, and an absolute one inside /boot),
	// no boot loader configuration, and its own fstab and default/grub.
	mustRoot(t, g, `set -e
rm -rf /target; mkdir -p /target/boot /target/etc/default /target/usr/lib/modules/`+old+` /target/proc
cp -p /boot/vmlinuz-`+old+` /boot/initrd.img-`+old+` /boot/config-`+old+` /target/boot/
ln -s usr/lib /target/lib
ln -s /boot/vmlinuz-`+old+` /target/vmlinuz
ln -s /boot/initrd.img-`+old+` /target/initrd.img
ln -s /boot/vmlinuz-`+old+` /target/boot/vmlinuz
echo 'UUID=0e2e0e2e-0000-4000-8000-000000000044 / ext4 errors=remount-ro 0 1' >/target/etc/fstab
printf 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="e2e.row=44"\n' >/target/etc/default/grub
mount -t proc proc /target/proc`)
	t.Cleanup(func() { mustRoot(t, g, "umount /target/proc; rm -rf /target") })

	out := mustRoot(t, g, ctl+" --root /target plan --json")
	var plan struct {
		Kernel, Version, Cmdline string
		Initrd                   []string
	}
	if err := jsonFromOutput(out, &plan); err != nil {
		t.Fatalf("rapidrebootctl --root /target plan --json: %v\n%s", err, out)
	}
	if plan.Version != old || plan.Kernel != "/boot/vmlinuz-"+old {
		t.Errorf("the target's plan names %s (%s), want the target's only kernel %s: %s", plan.Kernel, plan.Version, old, out)
	}
	if strings.Contains(out, newest(t)) {
		t.Errorf("the target's plan mentions the live system's kernel %s:\n%s", newest(t), out)
	}
	if !strings.Contains(plan.Cmdline, "root=UUID=0e2e0e2e-0000-4000-8000-000000000044") || !strings.Contains(plan.Cmdline, "e2e.row=44") {
		t.Errorf("the target's command line %q is not from its own fstab and default/grub", plan.Cmdline)
	}

	mustRoot(t, g, `systemd-run -q --unit=e2e-installer systemd-inhibit --what=shutdown --mode=block --who=e2e-installer --why="installing the system" sleep 600
for i in $(seq 20); do systemd-inhibit --list --no-legend | grep -q e2e-installer && break; sleep 0.5; done`)
	t.Cleanup(func() { mustRoot(t, g, "systemctl stop e2e-installer") })
	out, rc := root(t, g, ctl+" --root /target restart --quick")
	if rc == 0 || !strings.Contains(out, "e2e-installer") {
		t.Errorf("rapidrebootctl --root /target restart --quick past the installer's inhibitor: exit %d, %q; want a refusal naming it", rc, out)
	}
	if got := kexecLoaded(t, g); got != "0" {
		t.Errorf("kexec_loaded = %s after the refusal", got)
	}
	stillUp(t, g, g.Boot.ID)
}

// jsonFromOutput decodes the first JSON object in out (the CLI may print
// a warning line before it).
func jsonFromOutput(out string, v any) error {
	i := strings.Index(out, "{")
	if i < 0 {
		return errNoJSON
	}
	return jsonDecode(out[i:], v)
}

// Row 43: an encrypted root. The plan warns that the passphrase will be
// asked, and no key material is written anywhere. The guest's root is not
// encrypted: a LUKS image would cost a second image build and a typed
// passphrase at every boot, which the CI budget does not hold. A crypttab
// entry stands in for it (it is what the plan reads); the passphrase prompt
// after a kexec is not shown here.
func TestRow43EncryptedRootWarnsAboutThePassphrase(t *testing.T) {
	needProduct(t)
	g := guest(t)
	// The key's text is split in the scripts, so that the commands
	// themselves (which may be logged) never carry it.
	mustRoot(t, g, `k=E2E-KEY-; printf '%sMATERIAL' "$k" >/etc/e2e-data.key && chmod 600 /etc/e2e-data.key &&
printf 'cryptroot UUID=e2e-stand-in none luks,discard\ncryptdata UUID=e2e-data /etc/e2e-data.key luks\n' >/etc/crypttab`)
	defer mustRoot(t, g, `rm -f /etc/crypttab /etc/e2e-data.key`)

	p := probeAsUser(t, g, "plan")
	if !p.OK || p.Plan == nil {
		t.Fatalf("GetPlan: %s", p)
	}
	warns := strings.Join(p.Plan.Warnings, "\n")
	if !strings.Contains(warns, "cryptroot") || !strings.Contains(warns, "passphrase will be asked") {
		t.Errorf("the helper's plan does not warn about the passphrase: %q", p.Plan.Warnings)
	}
	if strings.Contains(warns, "cryptdata") {
		t.Errorf("a volume with a key file is named as asking for a passphrase: %q", p.Plan.Warnings)
	}
	if !p.Plan.Available {
		t.Errorf("an encrypted root must not make Quick Restart unavailable: %s", p)
	}
	if out := mustUser(t, g, ctl+" plan"); !strings.Contains(out, "passphrase will be asked") {
		t.Errorf("rapidrebootctl plan does not show the warning:\n%s", out)
	}
	out, _ := root(t, g, `k=E2E-KEY-; grep -rl -D skip "${k}MATERIAL" /run/rapidreboot /var/lib/rapidreboot 2>/dev/null; journalctl -b --no-pager | grep -c "${k}MATERIAL"`)
	if strings.TrimSpace(out) != "0" {
		t.Errorf("the key file's content turned up: %q", out)
	}
}
