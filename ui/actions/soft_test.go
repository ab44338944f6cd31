package actions

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// pathManager is a session manager that says which soft restart path it
// allows (session.SoftPath asks it).
type pathManager struct {
	fakeManager
	ok, direct bool
}

func (m *pathManager) SoftPath() (bool, bool) { return m.ok, m.direct }

var inhibitedErr = &busapi.CallError{Name: busapi.ErrUnavailable, Code: reason.Inhibited, Detail: "Backup"}

func TestSoftRestartEndsTheSessionFirst(t *testing.T) {
	tests := []struct {
		desc                            string
		ok, direct                      bool
		smErr                           error
		softErr, scheduleErr, cancelErr error
		outcome                         session.Outcome
		calls                           []string
		done                            bool
		msg                             string
	}{
		{"the helper is asked first, then the session manager logs out; the helper carries the restart past the session's end", true, false, nil, nil, nil, nil, session.Proceeding,
			[]string{"SoftRestartAfterLogout(interactive=true)", "SM.logout", "Wait"}, true, ""},
		{"cancelled at the session manager's prompt: the schedule is called off", true, false, nil, nil, nil, nil, session.Cancelled,
			[]string{"SoftRestartAfterLogout(interactive=true)", "SM.logout", "Wait", "CancelSoftRestart"}, false, "Restarting the apps was cancelled. Nothing was changed."},
		{"nothing heard within the grace: the schedule is called off", true, false, nil, nil, nil, nil, session.TimedOut,
			[]string{"SoftRestartAfterLogout(interactive=true)", "SM.logout", "Wait", "CancelSoftRestart"}, false, "Restarting the apps was cancelled. Nothing was changed."},
		{"a cancel the helper cannot carry out is said", true, false, nil, nil, nil, errors.New("bus gone"), session.Cancelled,
			[]string{"SoftRestartAfterLogout(interactive=true)", "SM.logout", "Wait", "CancelSoftRestart"}, false, "The apps will still restart when you log out: it could not be called off (bus gone)."},
		{"a refused log out calls the schedule off", true, false, errors.New("cannot ask GNOME to logout: no"), nil, nil, nil, session.Proceeding,
			[]string{"SoftRestartAfterLogout(interactive=true)", "SM.logout", "CancelSoftRestart"}, false, "Cannot restart the apps: no"},
		{"the helper refuses the schedule: the session is left alone", true, false, nil, nil, inhibitedErr, nil, session.Proceeding,
			[]string{"SoftRestartAfterLogout(interactive=true)"}, false, "Cannot restart the apps: " + inhibitedErr.Sentence(nil)},
		{"logind alone: the helper at once, a password may be asked", true, true, nil, nil, nil, nil, session.Proceeding,
			[]string{"SoftRestart(interactive=true)"}, true, ""},
		{"the helper's refusal is said", true, true, nil, inhibitedErr, nil, nil, session.Proceeding,
			[]string{"SoftRestart(interactive=true)"}, false, "Cannot restart the apps: " + inhibitedErr.Sentence(nil)},
		{"a session manager that ends the session without a word: nothing is asked", false, false, nil, nil, nil, nil, session.Proceeding,
			nil, false, "Cannot restart the apps: fake cannot end the session before a soft restart"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			l := &log{}
			r := &Runner{
				Helper:      &fakeHelper{log: l, softErr: tc.softErr, scheduleErr: tc.scheduleErr, cancelErr: tc.cancelErr},
				Manager:     &pathManager{fakeManager: fakeManager{log: l, err: tc.smErr}, ok: tc.ok, direct: tc.direct},
				Watch:       func() (Waiter, error) { return &fakeWaiter{log: l, o: tc.outcome}, nil },
				Grace:       time.Second,
				KexecLoaded: func() (bool, error) { return false, nil },
			}
			res := r.Run(context.Background(), model.SoftRestart)
			if !reflect.DeepEqual(l.calls, tc.calls) {
				t.Errorf("calls %q, want %q", l.calls, tc.calls)
			}
			if res.Done != tc.done || res.Message != tc.msg {
				t.Errorf("result %+v, want done=%v msg=%q", res, tc.done, tc.msg)
			}
		})
	}
}
