package helper_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// Issue 12 items 1-4, in-process. The private-bus versions, with the real
// helper binary, are in auth_integration_test.go.

// Item 1: the caller must pass logind's own check for this reboot too,
// the action chosen as logind chooses it.
func TestIssue12Item1ArmAndQuickRestartAskLogindsOwnRebootAction(t *testing.T) {
	cases := []struct {
		desc    string
		others  bool
		blocker *logind.Inhibitor
		want    []string
	}{
		{"alone", false, nil, []string{busapi.ActionQuickRestart, logind.ActionReboot}},
		{"other users' sessions", true, nil, []string{busapi.ActionQuickRestartMultipleSessions, logind.ActionRebootMultipleSessions}},
		// The product never overrides a block inhibitor (it is refused as
		// unavailable, naming it), so reboot-ignore-inhibit is never asked:
		// asking made real polkit want a password where the user should
		// read who blocks (found by row 35 in the guest).
		{"a block inhibitor", false, &logind.Inhibitor{What: "shutdown", Mode: "block", UID: 0, Who: "apt"},
			[]string{busapi.ActionQuickRestart, logind.ActionReboot}},
		{"both", true, &logind.Inhibitor{What: "shutdown", Mode: "block", UID: 0, Who: "apt"},
			[]string{busapi.ActionQuickRestartMultipleSessions, logind.ActionRebootMultipleSessions}},
		{"logind cannot list sessions", false, nil, []string{busapi.ActionQuickRestartMultipleSessions, logind.ActionRebootMultipleSessions}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			for _, method := range []string{"Arm", "QuickRestart"} {
				e := newEnv(t, nil)
				e.logind.others, e.logind.blocker = c.others, c.blocker
				switch c.desc {
				case "logind cannot list sessions":
					e.logind.othersErr = errors.New("no logind")
				}
				// Allowed Quick Restart, denied logind's action: refused.
				e.auth.deny = map[string]error{c.want[len(c.want)-1]: reason.New(reason.NotAuthorized, "")}
				var err error
				if method == "Arm" {
					_, err = e.h.Arm(context.Background(), ":1.9", true)
				} else {
					err = e.h.QuickRestart(context.Background(), ":1.9", true)
				}
				if errName(err) != busapi.ErrNotAuthorized || reason.CodeOf(err) != reason.RestartNotAllowed {
					t.Errorf("%s = %v (%s, %s), want NotAuthorized with %s", method, err, errName(err), reason.CodeOf(err), reason.RestartNotAllowed)
				}
				if got := e.auth.asked(); !slices.Equal(got, c.want) {
					t.Errorf("%s asked polkit %v, want %v", method, got, c.want)
				}
				for i, inter := range e.auth.inter {
					if !inter {
						t.Errorf("%s: check %d was not interactive as the message allowed", method, i)
					}
				}
				if n := e.fake.Count(kexectest.OpLoad); n != 0 {
					t.Errorf("%s: %d loads", method, n)
				}
				if len(e.logind.reboots) != 0 {
					t.Errorf("%s: logind asked to reboot: %v", method, e.logind.reboots)
				}
				e.assertDisarmed(t)
			}
		})
	}
	t.Run("allowed both", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.h.QuickRestart(context.Background(), ":1.9", false); err != nil {
			t.Fatal(err)
		}
		if got := e.auth.asked(); !slices.Equal(got, []string{busapi.ActionQuickRestart, logind.ActionReboot}) {
			t.Errorf("asked %v", got)
		}
	})
	t.Run("the refusal says why", func(t *testing.T) {
		s := reason.Sentence(nil, reason.RestartNotAllowed, "")
		if s != "You are not allowed to restart this computer." {
			t.Errorf("sentence %q", s)
		}
	})
}

// Item 2: a caller that left while polkit decided, or while the kernel
// was loading, gets nothing.
func TestIssue12Item2ACallerThatLeavesGetsNothingLoadedOrArmed(t *testing.T) {
	t.Run("while polkit decides", func(t *testing.T) {
		for _, method := range []string{"Arm", "QuickRestart"} {
			e := newEnv(t, nil)
			e.auth.after = func() { e.users.gone.Store(":1.9", true) }
			var err error
			if method == "Arm" {
				_, err = e.h.Arm(context.Background(), ":1.9", false)
			} else {
				err = e.h.QuickRestart(context.Background(), ":1.9", false)
			}
			if err == nil || !strings.Contains(err.Error(), "left the bus") {
				t.Errorf("%s = %v, want a refusal for a caller that left", method, err)
			}
			if n := e.fake.Count(kexectest.OpLoad); n != 0 {
				t.Errorf("%s: %d loads", method, n)
			}
			if len(e.logind.reboots) != 0 {
				t.Errorf("%s: logind asked to reboot: %v", method, e.logind.reboots)
			}
			e.assertDisarmed(t)
		}
	})
	t.Run("while the kernel loads", func(t *testing.T) {
		e := newEnv(t, nil)
		e.fake.OnLoad = func() { e.users.gone.Store(":1.9", true) }
		_, err := e.h.Arm(context.Background(), ":1.9", false)
		if errName(err) != busapi.ErrFailed || !strings.Contains(err.Error(), "left the bus") {
			t.Errorf("Arm = %v", err)
		}
		if n := e.fake.Count(kexectest.OpLoad); n != 1 {
			t.Errorf("%d loads, want the one that is undone", n)
		}
		e.assertDisarmed(t)
	})
	t.Run("with another uid on the name", func(t *testing.T) {
		e := newEnv(t, nil)
		e.auth.after = func() { e.users.uids[":1.9"] = 1001 }
		if _, err := e.h.Arm(context.Background(), ":1.9", false); err == nil {
			t.Error("armed for a name whose uid changed")
		}
		e.assertDisarmed(t)
	})
}

// Item 3: Disarm is root's, the arming uid's, or polkit's quick-restart.
func TestIssue12Item3DisarmIsAllowedToRootTheArmingUidAndQuickRestartOnly(t *testing.T) {
	arm := func(t *testing.T) *env {
		e := newEnv(t, nil)
		e.users.uids[":1.20"] = 1001
		e.users.uids[":1.21"] = 65534
		if _, err := e.h.Arm(context.Background(), ":1.9", false); err != nil { // uid 1000
			t.Fatal(err)
		}
		e.auth.err = reason.New(reason.NotAuthorized, "")
		e.auth.actions, e.auth.inter = nil, nil
		return e
	}
	t.Run("nobody, denied by polkit", func(t *testing.T) {
		e := arm(t)
		err := e.h.Disarm(context.Background(), ":1.21")
		if errName(err) != busapi.ErrNotAuthorized {
			t.Errorf("Disarm = %v, want NotAuthorized", err)
		}
		if !e.h.Armed() || !e.fake.Loaded() {
			t.Error("a refused Disarm disarmed")
		}
		if got := e.auth.asked(); !slices.Equal(got, []string{busapi.ActionQuickRestart}) || e.auth.inter[0] {
			t.Errorf("asked %v interactive %v, want one non-interactive quick-restart check", got, e.auth.inter)
		}
	})
	t.Run("the uid that armed", func(t *testing.T) {
		e := arm(t)
		if err := e.h.Disarm(context.Background(), ":1.33"); err != nil { // another name of uid 1000
			t.Fatal(err)
		}
		e.assertDisarmed(t)
	})
	t.Run("root", func(t *testing.T) {
		e := arm(t)
		if err := e.h.Disarm(context.Background(), ":1.0"); err != nil {
			t.Fatal(err)
		}
		e.assertDisarmed(t)
		if len(e.auth.asked()) != 0 {
			t.Error("polkit asked about root")
		}
	})
	t.Run("another user polkit allows", func(t *testing.T) {
		e := arm(t)
		e.auth.err = nil
		if err := e.h.Disarm(context.Background(), ":1.20"); err != nil {
			t.Fatal(err)
		}
		e.assertDisarmed(t)
	})
	t.Run("a caller that cannot be identified", func(t *testing.T) {
		e := arm(t)
		e.users.gone.Store(":1.21", true)
		if err := e.h.Disarm(context.Background(), ":1.21"); err == nil {
			t.Error("an unidentified caller disarmed")
		}
		if !e.h.Armed() {
			t.Error("disarmed")
		}
	})
}

// Item 4: the command line only for root and quick-restart callers.
func TestIssue12Item4GetPlanGivesTheCommandLineOnlyToThoseAllowedQuickRestart(t *testing.T) {
	cases := []struct {
		desc   string
		sender string
		deny   bool
		full   bool
		asked  int
	}{
		{"root", ":1.0", true, true, 0},
		{"a user polkit allows", ":1.9", false, true, 1},
		{"a user polkit denies", ":1.9", true, false, 1},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			e := newEnv(t, nil)
			if c.deny {
				e.auth.err = reason.New(reason.NotAuthorized, "")
			}
			p := e.h.GetPlan(context.Background(), c.sender)
			if !p.Available || p.Kernel != bustest.RootKernel || p.Version != bustest.RootVersion {
				t.Errorf("plan = %+v", p)
			}
			if c.full {
				if p.Cmdline != bustest.RootCmdline || len(p.Why) < 2 {
					t.Errorf("the whole plan was withheld: %+v", p)
				}
			} else {
				if !p.Withheld() || p.Cmdline != "" || !slices.Equal(p.Why, []string{helper.WithheldWhy}) || len(p.Warnings) != 0 {
					t.Errorf("plan shows more than kernel and availability: %+v", p)
				}
				for _, l := range append(append([]string{p.Detail, p.Source}, p.Why...), p.Warnings...) {
					if strings.Contains(l, "root=") || strings.Contains(l, "quiet") {
						t.Errorf("the command line leaks through %q", l)
					}
				}
			}
			if got := e.auth.asked(); len(got) != c.asked || (c.asked > 0 && (got[0] != busapi.ActionQuickRestart || e.auth.inter[0])) {
				t.Errorf("asked %v (interactive %v)", got, e.auth.inter)
			}
		})
	}
	t.Run("an unidentified caller", func(t *testing.T) {
		e := newEnv(t, nil)
		e.users.gone.Store(":1.9", true)
		if p := e.h.GetPlan(context.Background(), ":1.9"); p.Cmdline != "" {
			t.Errorf("cmdline %q", p.Cmdline)
		}
	})
}

// Item 2, QuickRestart: a caller that joined another caller's load and
// left before it ended gets no reboot, and the arm is dropped.
func TestIssue12Item2AQuickRestartForACallerThatLeftAsksNoReboot(t *testing.T) {
	e := newEnv(t, nil)
	armErr, release := e.armHeld(":1.8")
	qrErr := make(chan error, 1)
	go func() { qrErr <- e.h.QuickRestart(context.Background(), ":1.9", false) }()
	for len(e.auth.asked()) < 4 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // QuickRestart joins the load
	e.users.gone.Store(":1.9", true)
	close(release)
	if err := <-armErr; err != nil {
		t.Errorf("Arm of the caller still there: %v", err)
	}
	if err := <-qrErr; err == nil || !strings.Contains(err.Error(), "left the bus") {
		t.Errorf("QuickRestart = %v, want a refusal for the caller that left", err)
	}
	if len(e.logind.reboots) != 0 {
		t.Errorf("logind asked to reboot for a caller that left: %v", e.logind.reboots)
	}
	e.assertDisarmed(t)
}

// Row 35 with real polkit: reboot-ignore-inhibit needs a password, and
// asking for it turned "Backup is copying" into "Authentication is
// required" (the guest's row 35 caught it). The product never overrides a
// block inhibitor, so the person reads who blocks and why.
func TestABlockInhibitorIsNamedNotTurnedIntoAPasswordPrompt(t *testing.T) {
	e := newEnv(t, nil)
	e.logind.blocker = &logind.Inhibitor{What: "shutdown", Mode: "block", UID: 1001, Who: "Backup", Why: "copying"}
	e.auth.deny = map[string]error{logind.ActionRebootIgnoreInhibit: reason.New(reason.AuthenticationRequired, "")}
	_, err := e.h.Arm(context.Background(), ":1.9", false)
	if errName(err) != busapi.ErrUnavailable || reason.CodeOf(err) != reason.Inhibited || reason.DetailOf(err) != "Backup (copying)" {
		t.Errorf("Arm past another user's block inhibitor = %v (%s, %s), want Unavailable, %s, naming Backup", err, errName(err), reason.CodeOf(err), reason.Inhibited)
	}
	if n := e.fake.Count(kexectest.OpLoad); n != 0 {
		t.Errorf("%d loads", n)
	}
}
