package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// coldCase is one /etc/default/grub setting. setup runs before update-grub
// and after runs after it, as root, with $newest, $older (kernel releases)
// and $uuid (the root file system's, as grub-mkconfig writes it into ids)
// set; after also has $adv (the submenu's title) and $ent (the older
// kernel's normal entry title) from the grub.cfg update-grub wrote.
type coldCase struct {
	name   string
	setup  string
	after  string
	want   string // "newest" or "older": the kernel the setting is meant to start
	needs  string // a word 10_linux must contain (a setting newer GRUBs only know)
	oneoff bool   // grub-reboot: GRUB must have cleared next_entry when it booted
	// quick: in the short run (RAPIDREBOOT_E2E_COLD=quick, what make check
	// runs): each case is a firmware reboot and an update-grub, 2-3 min
	// under TCG, so CI takes one index path, one one-shot and the way back.
	quick bool
}

// The indices assume Debian's defaults: a submenu with a normal and a
// recovery entry per kernel, newest first ("1>2" is the older kernel's
// normal entry; flat, entry 2 is too).
var coldCases = []coldCase{
	{name: `GRUB_DEFAULT="1>2"`, setup: `echo 'GRUB_DEFAULT="1>2"'`, want: "older", quick: true},
	{name: "GRUB_DEFAULT=<id path>", setup: `echo "GRUB_DEFAULT=\"gnulinux-advanced-$uuid>gnulinux-$older-advanced-$uuid\""`, want: "older"},
	{name: "GRUB_DEFAULT=saved + grub-set-default <title path>", setup: `echo 'GRUB_DEFAULT=saved'`,
		after: `grub-set-default "$adv>$ent"`, want: "older"},
	{name: `GRUB_DEFAULT=saved + grub-reboot "1>2"`, setup: `echo 'GRUB_DEFAULT=saved'`,
		after: `grub-reboot "1>2"`, want: "older", oneoff: true, quick: true},
	{name: "GRUB_DISABLE_SUBMENU=y + GRUB_DEFAULT=2", setup: `echo 'GRUB_DISABLE_SUBMENU=y'; echo 'GRUB_DEFAULT=2'`, want: "older"},
	{name: "GRUB_TOP_LEVEL=<older kernel>", setup: `echo "GRUB_TOP_LEVEL=/boot/vmlinuz-$older"; echo 'GRUB_DEFAULT=0'`,
		want: "older", needs: "GRUB_TOP_LEVEL"},
	// Last: it boots the newest kernel, so no restart is needed afterwards.
	{name: "GRUB_DEFAULT=0", setup: `echo 'GRUB_DEFAULT=0'`, want: "newest", quick: true},
}

// TestPlanEqualsColdBoot is the test nothing can fool: for each setting,
// update-grub, record `rapidrebootctl plan --json`, restart through the
// firmware (nothing armed: GRUB chooses), and compare the plan with what
// booted — `uname -r` and /proc/cmdline without GRUB's BOOT_IMAGE= (whose
// path must be the plan's kernel). It uses whatever GRUB and kernels the
// image has, so it runs unchanged on Debian 12 (GRUB 2.06) and 13 (2.12;
// GRUB_TOP_LEVEL only there). The count goes into the figures table as
// "plan = cold boot: N of N".
func TestPlanEqualsColdBoot(t *testing.T) {
	needProduct(t)
	if len(suite.kernels) < 2 {
		t.Skip("the image's manifest names fewer than two kernels")
	}
	g := guest(t)
	newestV, olderV := suite.kernels[0], suite.kernels[1]
	vars := "newest=" + shellQuote(newestV) + "; older=" + shellQuote(olderV) + "; uuid=$(grub-probe --target=fs_uuid /)\n"
	mustRoot(t, g, `set -e
test -e /etc/default/grub.e2e-cold || cp -p /etc/default/grub /etc/default/grub.e2e-cold
test -e /boot/grub/grubenv || grub-editenv /boot/grub/grubenv create
test -e /boot/grub/grubenv.e2e-cold || cp -p /boot/grub/grubenv /boot/grub/grubenv.e2e-cold`)
	if kexecLoaded(t, g) != "0" {
		t.Fatal("a kexec image is loaded: the restarts would not go through the firmware")
	}
	t.Cleanup(func() {
		if suite.broken {
			return
		}
		// Debian's defaults back, and the newest kernel running again for
		// the tests after this one.
		mustRoot(t, g, `set -e
mv /etc/default/grub.e2e-cold /etc/default/grub
mv /boot/grub/grubenv.e2e-cold /boot/grub/grubenv
update-grub 2>&1 | tail -1`)
		if strings.TrimSpace(mustRoot(t, g, "uname -r")) != newestV {
			restart(t, g, "back to GRUB's default", func() error { return g.RootStart("systemctl reboot") })
		}
	})

	quick := os.Getenv("RAPIDREBOOT_E2E_COLD") == "quick"
	for _, c := range coldCases {
		t.Run(c.name, func(t *testing.T) {
			if quick && !c.quick {
				t.Skip("not in the short run (RAPIDREBOOT_E2E_COLD=quick); make e2e-plan runs every setting")
			}
			if c.needs != "" {
				if _, rc := root(t, g, "grep -q "+shellQuote(c.needs)+" /etc/grub.d/10_linux"); rc != 0 {
					t.Skipf("this GRUB's 10_linux does not know %s", c.needs)
				}
			}
			out := mustRoot(t, g, vars+`set -e
cp -p /etc/default/grub.e2e-cold /etc/default/grub
cp -p /boot/grub/grubenv.e2e-cold /boot/grub/grubenv
{ echo; echo '# e2e TestPlanEqualsColdBoot'; `+c.setup+`; } >>/etc/default/grub
update-grub >/tmp/e2e-update-grub.log 2>&1 || { cat /tmp/e2e-update-grub.log; exit 1; }
adv=$(sed -n "s/^submenu '\([^']*\)'.*/\1/p" /boot/grub/grub.cfg | head -n 1)
ent=$(sed -n "s/^[[:space:]]*menuentry '\([^']*, with Linux $older\)'.*/\1/p" /boot/grub/grub.cfg | head -n 1)
`+c.after+`
tail -n 4 /etc/default/grub; grub-editenv list`)
			t.Logf("settings and grubenv:\n%s", out)
			// As root: the helper gives a user the command line and the
			// warnings only once polkit has said yes within 5 s, and under
			// TCG (Debian 13, one vCPU) it once did not: the plan came
			// back redacted (cmdline "", no warnings). What is compared
			// here does not depend on the caller.
			planOut := mustRoot(t, g, ctl+" plan --json")
			var plan struct {
				Kernel, Version, Cmdline string
				Warnings                 []string
			}
			i, j := strings.Index(planOut, "{"), strings.LastIndex(planOut, "}")
			if i < 0 || j < i {
				t.Fatalf("rapidrebootctl plan --json printed no JSON:\n%s", planOut)
			}
			if err := json.Unmarshal([]byte(planOut[i:j+1]), &plan); err != nil {
				t.Fatalf("rapidrebootctl plan --json: %v\n%s", err, planOut)
			}
			t.Logf("plan: %s %s %q, warnings %q", plan.Kernel, plan.Version, plan.Cmdline, plan.Warnings)

			mustRoot(t, g, "dmesg -n 6")
			r := restart(t, g, "firmware reboot with "+c.name, func() error { return g.RootStart("systemctl reboot") })
			if r.ByKexec() {
				t.Fatalf("the restart was a kexec, not the firmware: GRUB did not choose (%s)", r)
			}
			got := mustRoot(t, g, "uname -r; cat /proc/cmdline; grub-editenv list")
			lines := strings.SplitN(got, "\n", 3)
			if len(lines) < 2 {
				t.Fatalf("cannot read uname -r and /proc/cmdline from %q", got)
			}
			release, cmdline := strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
			bootImage := ""
			for _, f := range strings.Fields(cmdline) {
				if v, ok := strings.CutPrefix(f, "BOOT_IMAGE="); ok {
					bootImage = v
				}
			}
			same := release == plan.Version && cmdlineWithoutBootImage(cmdline) == strings.Join(strings.Fields(plan.Cmdline), " ") &&
				bootImage == plan.Kernel
			suite.figures.AddPlanColdBoot(c.name, same)
			if !same {
				t.Errorf("the plan differs from the cold boot:\nplan:      %s %s %q\ncold boot: %s BOOT_IMAGE=%s %q",
					plan.Version, plan.Kernel, plan.Cmdline, release, bootImage, cmdlineWithoutBootImage(cmdline))
			}
			want := map[string]string{"newest": newestV, "older": olderV}[c.want]
			if release != want {
				t.Errorf("%s booted %s, but the setting is meant to start %s (the test's premise, not the plan, is wrong)", c.name, release, want)
			}
			if c.oneoff {
				if strings.Contains(lines[2], "next_entry=1") {
					t.Errorf("GRUB did not clear next_entry when it booted:\n%s", lines[2])
				}
				if !containsLine(plan.Warnings, "next_entry") {
					t.Errorf("the plan does not warn that next_entry is a one-shot: %q", plan.Warnings)
				}
			}
		})
	}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
