package e2e

import (
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// Issue 12 item 1 in the real guest: a site rule that denies logind's
// reboot to the seat0 user holds for Quick Restart too, by every door —
// the helper's Arm and QuickRestart (which reboot through logind as root)
// and rapidrebootctl — and a normal restart is refused by logind itself.
func TestIssue12Item1ARuleDenyingLogindsRebootAlsoDeniesQuickRestart(t *testing.T) {
	needProduct(t)
	g := guest(t)
	mustRoot(t, g, `cat >/etc/polkit-1/rules.d/00-e2e-no-reboot.rules <<'EOF'
// e2e issue 12 item 1: a kiosk-style rule, alice may not restart.
polkit.addRule(function(action, subject) {
	if (action.id.indexOf("org.freedesktop.login1.reboot") == 0 && subject.user == "alice")
		return polkit.Result.NO;
});
EOF`)
	t.Cleanup(func() { mustRoot(t, g, "rm -f /etc/polkit-1/rules.d/00-e2e-no-reboot.rules; sleep 2") })

	// Wait until the rule is in force: logind itself tells alice she may
	// not reboot (CanReboot asks polkit about her bus name, as Reboot
	// would, without restarting anything). polkitd reloads its rules on
	// inotify.
	canReboot := "busctl --system call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager CanReboot"
	for i := 0; ; i++ {
		out, _ := user(t, g, canReboot)
		if strings.Contains(out, `"no"`) {
			break
		}
		if i == 30 {
			pk, _ := user(t, g, "pkcheck --action-id org.freedesktop.login1.reboot --process $$; echo rc=$?")
			t.Fatalf("the rule is not in force after 30 s: CanReboot for alice = %q; pkcheck: %q", out, pk)
		}
		mustRoot(t, g, "sleep 1")
	}
	// Quick Restart stays allowed to her by its own action...
	if out, rc := user(t, g, "pkcheck --action-id "+busapi.ActionQuickRestart+" --process $$"); rc != 0 {
		t.Errorf("alice is not allowed Quick Restart's own action (%d): %s", rc, out)
	}
	// ...but no door lets her restart.
	wantRefused(t, g, probeAsUser(t, g, "arm"), busapi.ErrNotAuthorized, "restart-not-allowed")
	wantRefused(t, g, probeAsUser(t, g, "quick"), busapi.ErrNotAuthorized, "restart-not-allowed")
	for _, cmd := range []string{ctl + " arm", ctl + " restart --quick"} {
		out, rc := user(t, g, cmd)
		if rc == 0 || !strings.Contains(out, "You are not allowed to restart this computer.") {
			t.Errorf("%s under the rule: exit %d, %q; want the refusal sentence", cmd, rc, out)
		}
	}
	if log := helperLog(t, g); !strings.Contains(log, "action=org.freedesktop.login1.reboot") || !strings.Contains(log, "uid=1000") {
		t.Errorf("the helper's log does not record the refusal of logind's action for uid 1000:\n%s", log)
	}
	// logind refuses her normal restart too: CanReboot said "no" above,
	// and a real Reboot is refused.
	if out, rc := user(t, g, "systemctl reboot --no-ask-password"); rc == 0 {
		t.Errorf("logind let alice restart under the rule: %s", out)
	}
	stillUp(t, g, g.Boot.ID)
}
