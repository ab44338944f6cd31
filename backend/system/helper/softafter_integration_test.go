//go:build integration

// SoftRestartAfterLogout on the real helper binary: the soft restart the
// helper carries past the end of the caller's session. logind, polkit and
// systemd's service manager are stand-ins on the private bus (the logind
// stand-in's own session is the caller's: GetSessionByPID answers it for
// every process); nothing reboots.
package helper_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// softAsked is the one request the helper makes at the session's end:
// ROOT_CHECK_INHIBITORS | SOFT_REBOOT, from root.
var softAsked = []string{"RebootWithFlags(0x5) uid=0"}

// waitReboots waits up to d for logind's stand-in to have got want.
func waitReboots(r *rig, d time.Duration, want []string) []string {
	deadline := time.Now().Add(d)
	for {
		got := r.logind.Reboots()
		if reflect.DeepEqual(got, want) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) softPending() bool {
	r.t.Helper()
	v, err := r.client.SoftRestartPending(r.ctx())
	if err != nil {
		r.t.Fatalf("SoftRestartPending: %v", err)
	}
	return v
}

func (r *rig) scheduleSoft() {
	r.t.Helper()
	if err := r.client.SoftRestartAfterLogout(r.ctx(), false); err != nil {
		r.t.Fatalf("SoftRestartAfterLogout: %v", err)
	}
	if got := r.logind.Reboots(); len(got) != 0 {
		r.t.Fatalf("logind was asked %q before the session ended", got)
	}
	if !r.softPending() {
		r.t.Fatal("SoftRestartPending is false right after the schedule")
	}
}

func TestSoftRestartAfterLogoutAsksLogindOnceWhenTheSessionIsRemoved(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	time.Sleep(300 * time.Millisecond) // the session lives on: nothing happens
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Fatalf("logind was asked %q while the session lives", got)
	}
	if err := r.logind.RemoveStandInSession(); err != nil {
		t.Fatal(err)
	}
	if got := waitReboots(r, 5*time.Second, softAsked); !reflect.DeepEqual(got, softAsked) {
		t.Fatalf("logind got %q, want %q", got, softAsked)
	}
	if l := r.log.WaitFor(2*time.Second, "SoftRestartAfterLogout", "restarting userspace", "session "+bustest.StandInSessionID+" was removed"); l == "" {
		t.Errorf("no decision logged:\n%s", strings.Join(r.log.Lines(), "\n"))
	}
	time.Sleep(2500 * time.Millisecond) // beyond one poll of the session's state
	if got := r.logind.Reboots(); !reflect.DeepEqual(got, softAsked) {
		t.Errorf("logind got %q, want it once: %q", got, softAsked)
	}
	if r.softPending() {
		t.Error("SoftRestartPending still true after it was carried out")
	}
	r.assertNothingLoaded()
}

// logind announces no change of a session's State: the helper reads it
// (every 2 s) and acts on "closing", before the session is removed.
func TestSoftRestartAfterLogoutActsOnASessionThatIsClosing(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	r.logind.SetStandInSessionState("closing")
	if got := waitReboots(r, 5*time.Second, softAsked); !reflect.DeepEqual(got, softAsked) {
		t.Fatalf("logind got %q, want %q", got, softAsked)
	}
	if l := r.log.WaitFor(2*time.Second, "restarting userspace", "is closing"); l == "" {
		t.Errorf("no decision logged:\n%s", strings.Join(r.log.Lines(), "\n"))
	}
}

func TestSoftRestartAfterLogoutLapsesAtItsDeadline(t *testing.T) {
	r := newRig(t, rigOptions{softDeadline: time.Second})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	if l := r.log.WaitFor(5*time.Second, "SoftRestartAfterLogout", "lapsed unused"); l == "" {
		t.Fatalf("no lapse logged:\n%s", strings.Join(r.log.Lines(), "\n"))
	}
	if r.softPending() {
		t.Error("SoftRestartPending still true after the deadline")
	}
	if err := r.logind.RemoveStandInSession(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q after the deadline", got)
	}
}

func TestSoftRestartAfterLogoutCancelledLeavesNothingPending(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	if err := r.client.CancelSoftRestart(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if r.softPending() {
		t.Error("SoftRestartPending still true after the cancel")
	}
	// A second cancel, with nothing pending, succeeds and changes nothing.
	if err := r.client.CancelSoftRestart(r.ctx()); err != nil {
		t.Errorf("a cancel with nothing pending: %v", err)
	}
	if err := r.logind.RemoveStandInSession(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q after the cancel", got)
	}
}

func TestSoftRestartAfterLogoutIsDroppedByDisarm(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	if err := r.client.Disarm(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if r.softPending() {
		t.Error("SoftRestartPending still true after Disarm")
	}
	r.logind.SetStandInSessionState("closing")
	time.Sleep(2500 * time.Millisecond)
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q after Disarm", got)
	}
}

func TestSoftRestartAfterLogoutRefusesAnInhibitorThatAppearedAndLogsIt(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	r.logind.SetInhibitors(bustest.StandInInhibitor{What: "shutdown", Who: "Backup", Why: "Copying files", Mode: "block", UID: 1000, PID: 42})
	if err := r.logind.RemoveStandInSession(); err != nil {
		t.Fatal(err)
	}
	if l := r.log.WaitFor(5*time.Second, "SoftRestartAfterLogout", "refused at the end of session", "blocked by Backup (Copying files)"); l == "" {
		t.Fatalf("no refusal logged:\n%s", strings.Join(r.log.Lines(), "\n"))
	}
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
	if r.softPending() {
		t.Error("SoftRestartPending still true after the refusal")
	}
}

// Authorised for a reboot with no other users: another user's session
// that appeared meanwhile would need reboot-multiple-sessions.
func TestSoftRestartAfterLogoutRefusesWhenAnotherUsersSessionAppeared(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	r.logind.SetSessions(bustest.StandInSession{ID: "7", UID: 1001, User: "bob", Seat: "", Class: "user"})
	if err := r.logind.RemoveStandInSession(); err != nil {
		t.Fatal(err)
	}
	if l := r.log.WaitFor(5*time.Second, "refused at the end of session", "another user's session appeared"); l == "" {
		t.Fatalf("no refusal logged:\n%s", strings.Join(r.log.Lines(), "\n"))
	}
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
}

func TestSoftRestartAfterLogoutIsRefusedToACallerNotAllowedToReboot(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.polkit.Decide(func(c bustest.PolkitCheck) bustest.Answer {
		if c.Action == logind.ActionReboot || c.Action == logind.ActionRebootMultipleSessions {
			return bustest.Deny
		}
		return bustest.Allow
	})
	err := r.client.SoftRestartAfterLogout(r.ctx(), false)
	callErr(t, err, busapi.ErrNotAuthorized, string(reason.RestartNotAllowed))
	if r.softPending() {
		t.Error("SoftRestartPending true after a refusal")
	}
	if err := r.logind.RemoveStandInSession(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if got := r.logind.Reboots(); len(got) != 0 {
		t.Errorf("logind was asked %q", got)
	}
}

func TestSoftRestartAfterLogoutIsRefusedNowForWhatRefusesSoftRestart(t *testing.T) {
	t.Run("systemd 252", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		systemd252(t, r)
		r.allowAll()
		callErr(t, r.client.SoftRestartAfterLogout(r.ctx(), false), busapi.ErrUnavailable, string(reason.SoftUnavailable))
		if r.softPending() {
			t.Error("pending after a refusal")
		}
	})
	t.Run("a block inhibitor now", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		systemd257(t, r)
		r.allowAll()
		r.logind.SetInhibitors(bustest.StandInInhibitor{What: "shutdown", Who: "Backup", Mode: "block", UID: 1000, PID: 42})
		ce := callErr(t, r.client.SoftRestartAfterLogout(r.ctx(), false), busapi.ErrUnavailable, string(reason.Inhibited))
		if !strings.Contains(ce.Detail, "Backup") {
			t.Errorf("detail = %q", ce.Detail)
		}
	})
	t.Run("the caller's session is already gone", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		systemd257(t, r)
		r.allowAll()
		if err := r.logind.RemoveStandInSession(); err != nil {
			t.Fatal(err)
		}
		// GetSessionByPID still names it, its Id cannot be read: no session.
		callErr(t, r.client.SoftRestartAfterLogout(r.ctx(), false), busapi.ErrUnavailable, string(reason.SoftNoSession))
		if got := r.logind.Reboots(); len(got) != 0 {
			t.Errorf("logind was asked %q", got)
		}
	})
}

// A second schedule replaces the first: one request at the end.
func TestSoftRestartAfterLogoutKeepsOneSchedule(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	r.scheduleSoft()
	if l := r.log.WaitFor(2*time.Second, "replaces the one"); l == "" {
		t.Errorf("no replacement logged:\n%s", strings.Join(r.log.Lines(), "\n"))
	}
	if err := r.logind.RemoveStandInSession(); err != nil {
		t.Fatal(err)
	}
	if got := waitReboots(r, 5*time.Second, softAsked); !reflect.DeepEqual(got, softAsked) {
		t.Fatalf("logind got %q, want %q", got, softAsked)
	}
	time.Sleep(500 * time.Millisecond)
	if got := r.logind.Reboots(); !reflect.DeepEqual(got, softAsked) {
		t.Errorf("logind got %q, want it once", got)
	}
}

// Another user may not call off a user's soft restart unless polkit
// allows them quick-restart (whoever may Disarm another user's arm): a
// refused cancel leaves it pending, and logged.
func TestSoftRestartAfterLogoutIsNotCancelledByAnotherUser(t *testing.T) {
	r := newRig(t, rigOptions{})
	systemd257(t, r)
	r.allowAll()
	r.scheduleSoft()
	cancelAs := func(uid uint32) (string, error) {
		return r.dbusSendAs(uid, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+".CancelSoftRestart")
	}
	r.polkit.Decide(denyUID(65534))
	out, err := cancelAs(65534)
	if err == nil || !strings.Contains(out, busapi.ErrNotAuthorized) {
		t.Errorf("CancelSoftRestart as nobody: %v\n%s", err, out)
	}
	if !r.softPending() {
		t.Error("a refused cancel by nobody dropped the schedule")
	}
	if l := r.log.WaitFor(5*time.Second, "CancelSoftRestart:", "uid=65534", "refused"); l == "" {
		t.Errorf("no log line for the refusal; log: %q", r.log.Lines())
	}
	r.polkit.Always(bustest.Allow)
	if out, err := cancelAs(65534); err != nil {
		t.Errorf("CancelSoftRestart as nobody with quick-restart allowed: %v\n%s", err, out)
	}
	if r.softPending() {
		t.Error("the schedule is still pending after an allowed cancel")
	}
}
