package actions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// log is the order of calls across the fakes.
type log struct{ calls []string }

type fakeHelper struct {
	*log
	armErr, disarmErr, softErr error
	scheduleErr, cancelErr     error
}

func (h *fakeHelper) Arm(ctx context.Context, interactive bool) (busapi.Plan, error) {
	h.calls = append(h.calls, "Arm")
	if !interactive {
		h.calls = append(h.calls, "(not interactive!)")
	}
	return busapi.Plan{Available: h.armErr == nil}, h.armErr
}

func (h *fakeHelper) SoftRestart(ctx context.Context, interactive bool) error {
	h.calls = append(h.calls, fmt.Sprintf("SoftRestart(interactive=%v)", interactive))
	return h.softErr
}

func (h *fakeHelper) SoftRestartAfterLogout(ctx context.Context, interactive bool) error {
	h.calls = append(h.calls, fmt.Sprintf("SoftRestartAfterLogout(interactive=%v)", interactive))
	return h.scheduleErr
}

func (h *fakeHelper) CancelSoftRestart(ctx context.Context) error {
	h.calls = append(h.calls, "CancelSoftRestart")
	return h.cancelErr
}

func (h *fakeHelper) Disarm(ctx context.Context) error {
	h.calls = append(h.calls, "Disarm")
	return h.disarmErr
}

type fakeManager struct {
	*log
	err error
}

func (m *fakeManager) Name() string { return "fake" }
func (m *fakeManager) Do(ctx context.Context, a session.Action) error {
	m.calls = append(m.calls, "SM."+a.String())
	return m.err
}

type fakeWaiter struct {
	*log
	o session.Outcome
}

func (w *fakeWaiter) Wait(ctx context.Context, grace time.Duration) session.Outcome {
	w.calls = append(w.calls, "Wait")
	return w.o
}
func (w *fakeWaiter) Close() {}

func TestRun(t *testing.T) {
	refused := &busapi.CallError{Name: busapi.ErrUnavailable, Code: reason.PackageManager, Detail: "apt"}
	noHelper := &busapi.CallError{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Code: reason.Internal, Detail: "not provided"}
	tests := []struct {
		desc      string
		action    model.Action
		armErr    error
		disarmErr error
		smErr     error
		outcome   session.Outcome
		loaded    bool
		calls     []string
		done      bool
		msg       string
	}{
		{"a normal restart disarms first", model.Restart, nil, nil, nil, 0, false,
			[]string{"Disarm", "SM.reboot"}, true, ""},
		{"a normal restart without a helper and nothing loaded still restarts", model.Restart, nil, noHelper, nil, 0, false,
			[]string{"Disarm", "SM.reboot"}, true, ""},
		{"a normal restart refuses when it cannot disarm a loaded kernel", model.Restart, nil, errors.New("bus gone"), nil, 0, true,
			[]string{"Disarm"}, false, "Cannot make sure the next restart is a normal one: bus gone"},
		{"Quick Restart arms, then asks the session manager, then waits", model.QuickRestart, nil, nil, nil, session.Proceeding, false,
			[]string{"Arm", "SM.reboot", "Wait"}, true, ""},
		{"Quick Restart refused by the helper says why and asks nothing else", model.QuickRestart, refused, nil, nil, 0, false,
			[]string{"Arm"}, false, "Quick Restart is not possible: Software is being installed or removed (apt). Wait until it has finished."},
		{"Quick Restart for a user who may not restart says so", model.QuickRestart,
			&busapi.CallError{Name: busapi.ErrNotAuthorized, Code: reason.RestartNotAllowed}, nil, nil, 0, false,
			[]string{"Arm"}, false, "Quick Restart is not possible: You are not allowed to restart this computer."},
		{"a session manager error after arming disarms", model.QuickRestart, nil, nil, errors.New("cannot ask X to reboot: no"), 0, false,
			[]string{"Arm", "SM.reboot", "Disarm"}, false, "Cannot restart: no"},
		{"a cancelled Quick Restart disarms and says so", model.QuickRestart, nil, nil, nil, session.Cancelled, false,
			[]string{"Arm", "SM.reboot", "Wait", "Disarm"}, false, "Quick Restart was cancelled. The next restart will be a normal one."},
		{"a Quick Restart that never starts is treated as cancelled", model.QuickRestart, nil, nil, nil, session.TimedOut, false,
			[]string{"Arm", "SM.reboot", "Wait", "Disarm"}, false, "Quick Restart was cancelled. The next restart will be a normal one."},
		{"a failed disarm after a cancel is admitted", model.QuickRestart, nil, errors.New("helper gone"), nil, session.Cancelled, false,
			[]string{"Arm", "SM.reboot", "Wait", "Disarm"}, false, "Quick Restart was cancelled. The next restart will be a normal one. Undoing the preparation failed (helper gone), so the next restart may still skip the firmware."},
		{"shutting down does not touch the helper", model.PowerOff, nil, nil, nil, 0, false, []string{"SM.poweroff"}, true, ""},
		{"logging out goes to the session manager", model.Logout, nil, nil, nil, 0, false, []string{"SM.logout"}, true, ""},
		{"a refused logout is reported", model.Logout, nil, nil, errors.New("cannot ask logind to logout: Access denied"), 0, false, []string{"SM.logout"}, false, "Cannot log out: Access denied"},
		{"suspend goes to the manager", model.Suspend, nil, nil, nil, 0, false, []string{"SM.suspend"}, true, ""},
		{"cancel does nothing", model.Cancel, nil, nil, nil, 0, false, nil, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			l := &log{}
			r := &Runner{
				Helper:      &fakeHelper{log: l, armErr: tc.armErr, disarmErr: tc.disarmErr},
				Manager:     &fakeManager{log: l, err: tc.smErr},
				Watch:       func() (Waiter, error) { return &fakeWaiter{log: l, o: tc.outcome}, nil },
				Grace:       time.Second,
				KexecLoaded: func() (bool, error) { return tc.loaded, nil },
			}
			res := r.Run(context.Background(), tc.action)
			if !reflect.DeepEqual(l.calls, tc.calls) {
				t.Errorf("calls %q, want %q", l.calls, tc.calls)
			}
			if res.Done != tc.done || res.Message != tc.msg {
				t.Errorf("result %+v, want done=%v msg=%q", res, tc.done, tc.msg)
			}
		})
	}
}

func TestKexecLoaded(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "kernel"), 0o755)
	os.WriteFile(filepath.Join(dir, "kernel", "kexec_loaded"), []byte("1\n"), 0o644)
	if ok, err := KexecLoaded(dir)(); !ok || err != nil {
		t.Errorf("got %v %v", ok, err)
	}
	if _, err := KexecLoaded(filepath.Join(dir, "none"))(); err == nil {
		t.Error("a missing file read as a state")
	}
}

func TestPlanReason(t *testing.T) {
	tests := []struct {
		desc string
		p    busapi.Plan
		err  error
		want string
	}{
		{"an available plan has no reason", busapi.Plan{Available: true}, nil, ""},
		{"an unavailable plan gives its sentence", busapi.Plan{Reason: reason.KexecDisabled}, nil,
			"Starting another kernel directly has been switched off on this machine until the next restart."},
		{"a missing helper is named plainly", busapi.Plan{}, &busapi.CallError{Name: "org.freedesktop.DBus.Error.ServiceUnknown"},
			"The Quick Restart service is not installed."},
		{"a helper refusal gives its sentence", busapi.Plan{}, &busapi.CallError{Name: busapi.ErrNotAuthorized, Code: reason.NotAuthorized},
			"You are not allowed to use Quick Restart on this computer."},
		{"a caller who may not restart is told so", busapi.Plan{}, &busapi.CallError{Name: busapi.ErrNotAuthorized, Code: reason.RestartNotAllowed},
			"You are not allowed to restart this computer."},
		{"a time-out is said plainly", busapi.Plan{}, errors.New("call GetPlan: context deadline exceeded"),
			"The Quick Restart service did not answer (context deadline exceeded)."},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := PlanReason(tc.p, tc.err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
