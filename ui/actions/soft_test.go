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

func TestSoftRestartEndsTheSessionFirst(t *testing.T) {
	inhibited := &busapi.CallError{Name: busapi.ErrUnavailable, Code: reason.Inhibited, Detail: "Backup"}
	tests := []struct {
		desc       string
		ok, direct bool
		smErr      error
		softErr    error
		outcome    session.Outcome
		calls      []string
		done       bool
		msg        string
	}{
		{"a session manager logs out first, the helper restarts the programs once the session is over", true, false, nil, nil, session.Proceeding,
			[]string{"SM.logout", "Wait", "SoftRestart(interactive=false)"}, true, ""},
		{"cancelled at the session manager's prompt: the helper is not asked", true, false, nil, nil, session.Cancelled,
			[]string{"SM.logout", "Wait"}, false, "Restarting the apps was cancelled. Nothing was changed."},
		{"nothing heard within the grace: the helper is not asked", true, false, nil, nil, session.TimedOut,
			[]string{"SM.logout", "Wait"}, false, "Restarting the apps was cancelled. Nothing was changed."},
		{"a refused log out asks nothing else", true, false, errors.New("cannot ask GNOME to logout: no"), nil, session.Proceeding,
			[]string{"SM.logout"}, false, "Cannot restart the apps: no"},
		{"logind alone: the helper at once, a password may be asked", true, true, nil, nil, session.Proceeding,
			[]string{"SoftRestart(interactive=true)"}, true, ""},
		{"the helper's refusal is said", true, true, nil, inhibited, session.Proceeding,
			[]string{"SoftRestart(interactive=true)"}, false, "Cannot restart the apps: " + inhibited.Sentence(nil)},
		{"a session manager that ends the session without a word: nothing is asked", false, false, nil, nil, session.Proceeding,
			nil, false, "Cannot restart the apps: fake cannot end the session before a soft restart"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			l := &log{}
			r := &Runner{
				Helper:      &fakeHelper{log: l, softErr: tc.softErr},
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
