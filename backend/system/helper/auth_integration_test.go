//go:build integration

package helper_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// Issue 12 items 1-4 on a private bus with the real helper binary. Other
// users are dbus-send run with their uid (rig.dbusSendAs); the polkit
// stand-in answers by action and by the subject's uid as the bus daemon
// names it.

// dbus-daemon refuses a connection from a uid the system cannot name, so
// the users of these tests are accounts every Debian system has: bin
// stands for a desktop user, daemon for another one, nobody for a user
// polkit refuses.
const (
	userUID  = 2 // bin
	otherUID = 1 // daemon
)

// denyUID answers no to every check about uid, yes to the rest.
func denyUID(uid int64) func(bustest.PolkitCheck) bustest.Answer {
	return func(c bustest.PolkitCheck) bustest.Answer {
		if c.SubjectUID == uid {
			return bustest.Deny
		}
		return bustest.Allow
	}
}

func TestIssue12Item1QuickRestartNeedsLogindsOwnRebootActionForTheSameCaller(t *testing.T) {
	r := newRig(t, rigOptions{})
	// A site rule: Quick Restart allowed (the package's default for the
	// seat's user), logind's reboot denied.
	r.polkit.ByAction(map[string]bustest.Answer{logind.ActionReboot: bustest.Deny}, bustest.Allow)

	_, err := r.client.Arm(r.ctx(), false)
	ce := callErr(t, err, busapi.ErrNotAuthorized, string(reason.RestartNotAllowed))
	if ce.Msg != "You are not allowed to restart this computer." {
		t.Errorf("message %q", ce.Msg)
	}
	err = r.client.QuickRestart(r.ctx(), false)
	callErr(t, err, busapi.ErrNotAuthorized, string(reason.RestartNotAllowed))
	if rb := r.logind.Reboots(); len(rb) != 0 {
		t.Errorf("logind was asked to reboot: %v", rb)
	}
	caller := r.conn.Names()[0]
	var login1 int
	for _, c := range r.polkit.Checks() {
		if c.Action == logind.ActionReboot {
			login1++
			if c.SubjectKind != "system-bus-name" || c.SubjectName != caller {
				t.Errorf("logind's action was checked for %s %q, want the caller %s", c.SubjectKind, c.SubjectName, caller)
			}
		}
	}
	if login1 != 2 {
		t.Errorf("%d checks of %s, want one per call", login1, logind.ActionReboot)
	}
	r.assertNothingLoaded()
	if l := r.log.WaitFor(5*time.Second, "Arm:", "action="+logind.ActionReboot, "refused"); l == "" {
		t.Errorf("no log line for the refusal; log: %q", r.log.Lines())
	}

	t.Run("another user's session: reboot-multiple-sessions, as logind", func(t *testing.T) {
		r.logind.SetSessions(bustest.StandInSession{ID: "3", UID: userUID, User: "alice", Seat: "seat0", Class: "user"})
		r.polkit.ByAction(map[string]bustest.Answer{logind.ActionRebootMultipleSessions: bustest.Deny}, bustest.Allow)
		_, err := r.client.Arm(r.ctx(), false)
		callErr(t, err, busapi.ErrNotAuthorized, string(reason.RestartNotAllowed))
		r.assertNothingLoaded()
		// Allowed that one, the plain reboot action is not asked (logind
		// asks it only when neither other sessions nor inhibitors apply).
		r.polkit.ByAction(map[string]bustest.Answer{logind.ActionReboot: bustest.Deny}, bustest.Allow)
		n := len(r.polkit.Checks())
		if _, err := r.client.Arm(r.ctx(), false); err != nil {
			t.Fatalf("Arm: %v", err)
		}
		var got []string
		for _, c := range r.polkit.Checks()[n:] {
			got = append(got, c.Action)
		}
		if strings.Join(got, " ") != busapi.ActionQuickRestartMultipleSessions+" "+logind.ActionRebootMultipleSessions {
			t.Errorf("checks %v", got)
		}
		if err := r.client.Disarm(r.ctx()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("as a user", func(t *testing.T) {
		r.logind.SetSessions()
		r.polkit.ByAction(map[string]bustest.Answer{logind.ActionReboot: bustest.Deny}, bustest.Allow)
		out, err := r.dbusSendAs(userUID, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+".Arm")
		if err == nil || !strings.Contains(out, busapi.ErrNotAuthorized) || !strings.Contains(out, "You are not allowed to restart this computer.") {
			t.Errorf("Arm as the user: %v\n%s", err, out)
		}
		r.assertDisarmed()
	})
}

// leaveDuring starts method from a connection of its own, waits until
// until() holds, then closes that connection: the caller leaves the bus
// while the helper works for it.
func (r *rig) leaveDuring(method string, until func(name string) bool) {
	r.t.Helper()
	leaver, err := r.bus.Conn()
	if err != nil {
		r.t.Fatal(err)
	}
	name := leaver.Names()[0]
	leaver.Object(busapi.BusName, busapi.ObjectPath).Go(busapi.Interface+"."+method, 0, make(chan *dbus.Call, 1))
	for deadline := time.Now().Add(15 * time.Second); !until(name); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			leaver.Close()
			r.t.Fatalf("%s never got that far; log: %q", method, r.log.Lines())
		}
	}
	leaver.Close()
}

func TestIssue12Item2ACallerThatLeavesTheBusWhilePolkitDecidesGetsNothing(t *testing.T) {
	for _, method := range []string{"Arm", "QuickRestart"} {
		t.Run(method, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			// polkit says yes, after 1 s: the caller is gone by then. (The
			// real polkitd should deny a vanished subject; the helper must
			// not depend on it.)
			r.allowAll()
			r.polkit.SetDelay(time.Second)
			r.leaveDuring(method, func(name string) bool {
				for _, c := range r.polkit.Checks() {
					if c.SubjectName == name {
						return true
					}
				}
				return false
			})
			if l := r.log.WaitFor(15*time.Second, method+":", "refused", "left the bus"); l == "" {
				t.Errorf("no refusal for the caller that left; log: %q", r.log.Lines())
			}
			r.assertNothingLoaded()
			if rb := r.logind.Reboots(); len(rb) != 0 {
				t.Errorf("logind was asked to reboot for a caller that left: %v", rb)
			}
		})
	}
}

func TestIssue12Item2ACallerThatLeavesTheBusWhileTheKernelLoadsGetsNothingArmed(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	gate := filepath.Join(r.root, "gate")
	if err := kexectest.WriteControl(r.root, kexectest.Control{Gate: gate}); err != nil {
		t.Fatal(err)
	}
	r.leaveDuring("Arm", func(string) bool { return kexectest.CountOp(r.calls(), kexectest.OpLoadStart) > 0 })
	// The helper learns of the departure only when it asks the bus.
	time.Sleep(100 * time.Millisecond)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if l := r.log.WaitFor(15*time.Second, "Arm:", "failed", "left the bus"); l == "" {
		t.Errorf("no failure for the caller that left; log: %q", r.log.Lines())
	}
	r.assertDisarmed()
	calls := r.calls()
	if kexectest.CountOp(calls, kexectest.OpLoad) != 1 || calls[len(calls)-1].Op != kexectest.OpUnload {
		t.Errorf("calls %+v, want the load undone", calls)
	}
}

func TestIssue12Item3DisarmIsRootsTheArmingUsersOrQuickRestartsOnly(t *testing.T) {
	r := newRig(t, rigOptions{})
	disarmAs := func(uid uint32) (string, error) {
		return r.dbusSendAs(uid, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+".Disarm")
	}
	armAsUser := func() {
		t.Helper()
		r.polkit.Always(bustest.Allow)
		if out, err := r.dbusSendAs(userUID, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+".Arm"); err != nil {
			t.Fatalf("Arm as the user: %v\n%s", err, out)
		}
		if !r.armed() || !r.loaded() {
			t.Fatal("not armed")
		}
	}
	stillArmed := func(who string) {
		t.Helper()
		if !r.armed() || !r.loaded() || !r.armFile() {
			t.Errorf("a refused Disarm by %s disarmed", who)
		}
	}

	armAsUser()
	r.polkit.Decide(denyUID(65534))
	n := len(r.polkit.Checks())
	out, err := disarmAs(65534)
	if err == nil || !strings.Contains(out, busapi.ErrNotAuthorized) {
		t.Errorf("Disarm as nobody: %v\n%s", err, out)
	}
	stillArmed("nobody")
	if c := r.polkit.Checks()[n:]; len(c) != 1 || c[0].Action != busapi.ActionQuickRestart || c[0].Flags != 0 || c[0].SubjectUID != 65534 {
		t.Errorf("checks for nobody's Disarm: %+v, want one non-interactive quick-restart", c)
	}
	if l := r.log.WaitFor(5*time.Second, "Disarm:", "uid=65534", "refused"); l == "" {
		t.Errorf("no log line for the refusal; log: %q", r.log.Lines())
	}

	// polkit now says no to everyone: the uid that armed still may.
	r.polkit.Always(bustest.Deny)
	if out, err := disarmAs(otherUID); err == nil || !strings.Contains(out, busapi.ErrNotAuthorized) {
		t.Errorf("Disarm as another user, denied: %v\n%s", err, out)
	}
	stillArmed("another user")
	if out, err := disarmAs(userUID); err != nil {
		t.Fatalf("Disarm by the uid that armed: %v\n%s", err, out)
	}
	r.assertDisarmed()

	// Another user polkit allows quick-restart.
	armAsUser()
	r.polkit.Decide(denyUID(userUID))
	if out, err := disarmAs(otherUID); err != nil {
		t.Fatalf("Disarm as another user, allowed quick-restart: %v\n%s", err, out)
	}
	r.assertDisarmed()

	// Root, with polkit saying no to everyone.
	armAsUser()
	r.polkit.Always(bustest.Deny)
	if err := r.client.Disarm(r.ctx()); err != nil {
		t.Fatalf("Disarm as root: %v", err)
	}
	r.assertDisarmed()
}

func TestIssue12Item4GetPlanGivesTheCommandLineOnlyToThoseAllowedQuickRestartOnTheBus(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.polkit.Decide(denyUID(65534))
	getPlanAs := func(uid uint32) string {
		t.Helper()
		out, err := r.dbusSendAs(uid, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+".GetPlan")
		if err != nil {
			t.Fatalf("GetPlan as %d: %v\n%s", uid, err, out)
		}
		return out
	}
	nobody := getPlanAs(65534)
	if strings.Contains(nobody, "root=") || strings.Contains(nobody, "quiet") || strings.Contains(nobody, "UUID") {
		t.Errorf("nobody reads the command line:\n%s", nobody)
	}
	if !strings.Contains(nobody, bustest.RootVersion) || !strings.Contains(nobody, "boolean true") {
		t.Errorf("nobody does not get the kernel version and availability:\n%s", nobody)
	}
	if user := getPlanAs(userUID); !strings.Contains(user, bustest.RootCmdline) {
		t.Errorf("a user allowed quick-restart does not get the command line:\n%s", user)
	}
	p, err := r.client.GetPlan(r.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if p.Cmdline != bustest.RootCmdline || len(p.Why) < 2 {
		t.Errorf("root's plan = %+v", p)
	}
	for _, c := range r.polkit.Checks() {
		if c.Action != busapi.ActionQuickRestart || c.Flags != 0 || c.SubjectUID == 0 {
			t.Errorf("GetPlan's check %+v, want non-interactive quick-restart for users only", c)
		}
	}
	r.assertNothingLoaded()
}
