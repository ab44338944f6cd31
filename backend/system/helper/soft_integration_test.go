//go:build integration

// Issue 16 on the real helper binary: GetAdvice, SoftRestart, the
// coldreboot flag. systemd's service manager and logind are stand-ins on
// the private bus; nothing reboots.
package helper_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/advice"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/coldreboot"
)

// Debian 13's and Debian 12's service managers, as the probe sees them.
func systemd257(t *testing.T, r *rig) {
	bustest.NewSystemdStandIn(t, r.bus, "257.9-1~deb13u1", map[string]string{"systemd-soft-reboot.service": "static"})
}

func systemd252(t *testing.T, r *rig) {
	bustest.NewSystemdStandIn(t, r.bus, "252.39-1~deb12u1", nil)
	r.logind.WithoutSoftReboot()
}

func writeRootFile(t *testing.T, r *rig, rel, content string) {
	t.Helper()
	p := filepath.Join(r.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSoftRestartOnSystemd257AsksLogindForASoftRebootThatHonoursInhibitors(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	a, err := r.client.GetAdvice(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if !a.SoftAvailable || a.SystemdVersion != "257.9-1~deb13u1" {
		t.Errorf("advice = %+v, want soft available on 257", a)
	}
	if err := r.client.SoftRestart(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	want := []string{"RebootWithFlags(0x5) uid=0"} // ROOT_CHECK_INHIBITORS | SOFT_REBOOT
	if got := r.logind.Reboots(); !reflect.DeepEqual(got, want) {
		t.Errorf("logind got %q, want %q", got, want)
	}
	r.assertNothingLoaded()
}

func TestSoftRestartIsAbsentOnSystemd252AndNeverTried(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd252(t, r)
	r.allowAll()
	a, err := r.client.GetAdvice(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if a.SoftAvailable {
		t.Errorf("advice = %+v, want no soft restart on 252", a)
	}
	err = r.client.SoftRestart(r.ctx(), false)
	ce := callErr(t, err, busapi.ErrUnavailable, string(reason.SoftUnavailable))
	if ce.Detail != "252.39-1~deb12u1" {
		t.Errorf("detail = %q", ce.Detail)
	}
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
}

func TestSoftRestartWithoutAServiceManagerToAskIsUnavailable(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	err := r.client.SoftRestart(r.ctx(), false)
	callErr(t, err, busapi.ErrUnavailable, string(reason.SoftUnavailable))
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
}

func TestSoftRestartIsRefusedWhileABlockInhibitorIsHeldNamingIt(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.logind.SetInhibitors(bustest.StandInInhibitor{What: "shutdown:sleep", Who: "Backup", Why: "Copying files", Mode: "block", UID: 1000, PID: 42})
	err := r.client.SoftRestart(r.ctx(), false)
	ce := callErr(t, err, busapi.ErrUnavailable, string(reason.Inhibited))
	if !strings.Contains(ce.Detail, "Backup") {
		t.Errorf("detail = %q", ce.Detail)
	}
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
}

// The same polkit rule as a reboot: logind's own action decides, and the
// product's quick-restart action is not needed (nor asked).
func TestSoftRestartIsAuthorisedByLogindsRebootActionOnly(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.polkit.Decide(func(c bustest.PolkitCheck) bustest.Answer {
		if c.Action == logind.ActionReboot {
			return bustest.Deny
		}
		return bustest.Allow
	})
	err := r.client.SoftRestart(r.ctx(), false)
	callErr(t, err, busapi.ErrNotAuthorized, string(reason.RestartNotAllowed))
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}

	r.polkit.Decide(func(c bustest.PolkitCheck) bustest.Answer {
		if strings.HasPrefix(c.Action, "io.github.rapidreboot.") {
			return bustest.Deny
		}
		return bustest.Allow
	})
	if err := r.client.SoftRestart(r.ctx(), false); err != nil {
		t.Fatalf("allowed to reboot, denied quick-restart: %v", err)
	}
	for _, c := range r.polkit.Checks() {
		if strings.HasPrefix(c.Action, "io.github.rapidreboot.") {
			t.Errorf("asked %s for a soft restart", c.Action)
		}
	}
}

func TestSoftRestartWithOtherUsersLoggedInNeedsRebootMultipleSessions(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.logind.SetSessions(bustest.StandInSession{ID: "7", UID: 1001, User: "bob", Seat: "seat0", Class: "user"})
	r.polkit.Decide(func(c bustest.PolkitCheck) bustest.Answer {
		if c.Action == logind.ActionRebootMultipleSessions {
			return bustest.Deny
		}
		return bustest.Allow
	})
	err := r.client.SoftRestart(r.ctx(), false)
	callErr(t, err, busapi.ErrNotAuthorized, string(reason.RestartNotAllowed))
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
}

func TestSoftRestartDisarmsAQuickRestartFirst(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	if err := r.client.SoftRestart(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	r.assertDisarmed()
	if got := r.logind.Reboots(); len(got) != 1 || got[0] != "RebootWithFlags(0x5) uid=0" {
		t.Errorf("logind got %q", got)
	}
}

func TestLogindRefusingTheSoftRebootIsAFailure(t *testing.T) {
	r := newRig(t, rigOptions{})
	// The version says 257 but logind refuses the flag (a half-upgraded
	// system): the refusal is reported, nothing else happens.
	bustest.NewSystemdStandIn(t, r.bus, "257.9-1~deb13u1", map[string]string{"systemd-soft-reboot.service": "static"})
	r.logind.WithoutSoftReboot()
	r.allowAll()
	err := r.client.SoftRestart(r.ctx(), false)
	callErr(t, err, busapi.ErrFailed, string(reason.Internal))
	r.assertNothingLoaded()
}

func TestColdRebootFlagDisarmsBlocksArmingAndIsCleared(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	if err := r.client.SetColdReboot(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	r.assertDisarmed()
	if set, err := coldreboot.IsSet(filepath.Join(r.root, "run/rapidreboot")); !set || err != nil {
		t.Errorf("flag in the root: %v %v", set, err)
	}
	p, err := r.client.GetPlan(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if p.Available || p.Reason != reason.ColdReboot {
		t.Errorf("plan while set: available %v, reason %q", p.Available, p.Reason)
	}
	_, err = r.client.Arm(r.ctx(), false)
	callErr(t, err, busapi.ErrUnavailable, string(reason.ColdReboot))
	err = r.client.QuickRestart(r.ctx(), false)
	callErr(t, err, busapi.ErrUnavailable, string(reason.ColdReboot))
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
	a, err := r.client.GetAdvice(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if !a.ColdReboot || a.Kind != advice.Full || a.Code != advice.ColdReboot || a.QuickOffered {
		t.Errorf("advice while set = %+v", a)
	}
	// Only the first Arm's load: none while the flag is set.
	if n := r.loads(); n != 1 || r.loaded() {
		t.Errorf("%d loads, loaded %v; want the first Arm's only, unloaded", n, r.loaded())
	}

	if err := r.client.ClearColdReboot(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatalf("Arm after clearing: %v", err)
	}
	if !r.armed() {
		t.Error("not armed after clearing the flag")
	}
}

func TestDebiansNoKexecRebootFileIsHonoured(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	writeRootFile(t, r, coldreboot.DebianFile, "")
	_, err := r.client.Arm(r.ctx(), false)
	callErr(t, err, busapi.ErrUnavailable, string(reason.ColdReboot))
	r.assertNothingLoaded()
}

func TestColdRebootFromACallerPolkitDeniesIsRefused(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.polkit.Always(bustest.Deny)
	for _, m := range []string{"SetColdReboot", "ClearColdReboot"} {
		out, err := r.dbusSendAs(65534, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+"."+m)
		if err == nil || !strings.Contains(out, busapi.ErrNotAuthorized) {
			t.Errorf("%s as nobody: %v\n%s", m, err, out)
		}
	}
	if set, _ := coldreboot.IsSet(filepath.Join(r.root, "run/rapidreboot")); set {
		t.Error("nobody set the flag")
	}
}

func TestAdviceFollowsTheRestartMarker(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	writeRootFile(t, r, "run/reboot-required", "*** System restart required ***\n")
	writeRootFile(t, r, "run/reboot-required.pkgs", "libc6\ndbus\nlibc6\n")
	a, err := r.client.GetAdvice(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != advice.Soft || a.Code != advice.Userspace || a.Detail != "dbus, libc6" || !a.QuickOffered {
		t.Errorf("libraries: %+v", a)
	}
	if w := a.Why(nil); !strings.Contains(w, "dbus, libc6") {
		t.Errorf("why = %q", w)
	}
	writeRootFile(t, r, "run/reboot-required.pkgs", "libc6\nshim-signed\n")
	a, err = r.client.GetAdvice(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != advice.Full || a.Code != advice.BootLoader || a.Detail != "shim-signed" || a.QuickOffered {
		t.Errorf("shim: %+v", a)
	}
}
