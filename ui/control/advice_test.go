package control_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/control"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

func (f *fakeSystem) Advice(ctx context.Context) (busapi.Advice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adviceAsked++
	if f.advice == nil {
		return busapi.Advice{}, &busapi.CallError{Name: "org.freedesktop.DBus.Error.UnknownMethod"}
	}
	return *f.advice, nil
}

func (f *fakeSystem) TimeSaved(ctx context.Context) (float64, error) { return f.saves, nil }

// SetCold behaves as the helper: the flag, then the plan unavailable
// with its reason and the arm gone.
func (f *fakeSystem) SetCold(ctx context.Context, on bool) error {
	f.record("SetCold " + map[bool]string{true: "on", false: "off"}[on])
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.coldErr != nil {
		return f.coldErr
	}
	f.advice.ColdReboot = on
	if on {
		f.advice.Kind, f.advice.Code, f.advice.QuickOffered = "full", "cold-reboot", false
		f.plan.Available, f.plan.Reason = false, reason.ColdReboot
		f.armed = false
	} else {
		f.advice.Kind, f.advice.Code, f.advice.QuickOffered = "quick", "kernel-update", true
		f.plan.Available, f.plan.Reason = true, ""
	}
	return nil
}

func kernelUpdate() *busapi.Advice {
	return &busapi.Advice{Kind: "quick", Code: "kernel-update", Detail: "6.1.0-27-amd64", QuickOffered: true, SoftAvailable: true, SystemdVersion: "257"}
}

func TestTheAdviceDecidesTheSuggestedRestart(t *testing.T) {
	nvidia := available()
	nvidia.Warnings = []string{reason.Sentence(nil, reason.NvidiaDriver, "")}
	refused := available()
	refused.Available, refused.Reason = false, reason.KexecDisabled
	libs := &busapi.Advice{Kind: "soft", Code: "userspace-update", Detail: "libc6", QuickOffered: true, SoftAvailable: true}
	libs252 := &busapi.Advice{Kind: "quick", Code: "userspace-update", Detail: "libc6", QuickOffered: true}
	firmware := &busapi.Advice{Kind: "full", Code: "firmware-update", Detail: "Linux Firmware Updater", SoftAvailable: true}
	cold := &busapi.Advice{Kind: "full", Code: "cold-reboot", ColdReboot: true}
	unavailable := &busapi.Advice{Kind: "full", Code: "quick-unavailable", Detail: "6.1.0-27-amd64", QuickOffered: true}
	for name, tc := range map[string]struct {
		plan      busapi.Plan
		advice    *busapi.Advice
		softPath  bool
		saves     float64
		suggested model.ButtonID
		why       string
		saveLine  string
		soft      bool
	}{
		"An older helper: nothing suggested, nothing new shown": {plan: available(), suggested: model.NButtons},
		"A new kernel: Quick Restart, with what it saves": {plan: available(), advice: kernelUpdate(), softPath: true, saves: 23.6,
			suggested: model.BQuick, why: "A new kernel was installed: Quick Restart starts Linux 6.1.0-27-amd64.",
			saveLine: "Quick Restart skips about 24 s of firmware and boot menu.", soft: true},
		"Nothing measured: no line about time": {plan: available(), advice: kernelUpdate(), suggested: model.BQuick,
			why: "A new kernel was installed: Quick Restart starts Linux 6.1.0-27-amd64."},
		"Libraries only, a soft restart the dialog can carry": {plan: available(), advice: libs, softPath: true, suggested: model.BSoft,
			why: "Only programs were updated (libc6): restarting them without the kernel is enough.", soft: true},
		"Libraries only, but this session manager cannot end first: Quick Restart": {plan: available(), advice: libs, suggested: model.BQuick,
			why: "Only programs were updated (libc6): Quick Restart is enough."},
		"Libraries only on systemd 252: no soft restart": {plan: available(), advice: libs252, softPath: true, suggested: model.BQuick,
			why: "Only programs were updated (libc6): Quick Restart is enough."},
		"A firmware update: Restart, and why Quick Restart is not offered": {plan: available(), advice: firmware, softPath: true, saves: 20,
			suggested: model.BRestart, why: "A firmware update is waiting for a normal restart (Linux Firmware Updater), so Quick Restart is not offered.", soft: true},
		"The NVIDIA driver: Restart, with the warning": {plan: nvidia, advice: kernelUpdate(), suggested: model.BRestart,
			why: "The NVIDIA graphics driver is loaded: after a Quick Restart the screen may stay black. A normal Restart is the safe choice."},
		"Next restart normal: Restart, and why": {plan: refused, advice: cold, suggested: model.BRestart,
			why: "You asked for the next restart to be a normal one, so Quick Restart is not offered until then."},
		"Quick Restart recommended but not possible: Restart, with the plan's reason": {plan: refused, advice: unavailable, suggested: model.BRestart,
			why: "Quick Restart is not possible: Starting another kernel directly has been switched off on this machine until the next restart."},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sys := &fakeSystem{plan: tc.plan, advice: tc.advice, saves: tc.saves, softPath: tc.softPath}
			d := newDialog(t, sys, control.Options{}, dialogConfig)
			d.open()
			d.waitTrace("advice known=")
			d.waitTrace("session manager=")
			st := d.state()
			if got := st.Suggested(); got != tc.suggested {
				t.Errorf("suggested %v, want %v", got, tc.suggested)
			}
			if got := st.Why(); got != tc.why {
				t.Errorf("why %q, want %q", got, tc.why)
			}
			if got := st.SavesLine(); got != tc.saveLine {
				t.Errorf("saves %q, want %q", got, tc.saveLine)
			}
			b := st.Buttons()
			if b[model.BSoft].Visible != tc.soft {
				t.Errorf("soft restart shown=%v, want %v", b[model.BSoft].Visible, tc.soft)
			}
			if st.ColdShown() != (tc.advice != nil) {
				t.Errorf("the coldreboot box shown=%v with advice %v", st.ColdShown(), tc.advice)
			}
			// The suggested button is one that is drawn, and Restart keeps
			// its name while the separate Quick Restart button is offered.
			if tc.suggested != model.NButtons && !b[tc.suggested].Visible {
				t.Errorf("the suggested %s is hidden", tc.suggested.Name())
			}
			if tc.suggested == model.BQuick && b[model.BRestart].Name != "Restart" {
				t.Errorf("Restart reads %q beside the Quick Restart button", b[model.BRestart].Name)
			}
		})
	}
}

func TestTheColdRebootBoxAsksTheHelperAndShowsItsState(t *testing.T) {
	sys := &fakeSystem{plan: available(), advice: kernelUpdate(), armed: true, armedVersion: "6.1.0-27-amd64"}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("advice known=true")
	d.waitTrace("armed=true")
	d.loop.do(func() { d.c.SetColdReboot(true) })
	d.waitTrace("coldreboot on=true err=<nil> cold=true")
	st := d.state()
	if st.Busy || !st.Advice.ColdReboot || st.Suggested() != model.BRestart || st.QuickButtonShown() || st.Armed {
		t.Errorf("after set: busy=%v cold=%v suggested=%v quick button=%v armed=%v", st.Busy, st.Advice.ColdReboot, st.Suggested(), st.QuickButtonShown(), st.Armed)
	}
	if !strings.Contains(st.Why(), "normal one") || st.Quick != model.Unavailable || st.SavesLine() != "" {
		t.Errorf("after set: why=%q quick=%v saves=%q", st.Why(), st.Quick, st.SavesLine())
	}
	d.loop.do(func() { d.c.SetColdReboot(false) })
	d.waitTrace("coldreboot on=false err=<nil> cold=false")
	if st := d.state(); st.Advice.ColdReboot || st.Suggested() != model.BQuick || st.Quick != model.Available {
		t.Errorf("after clear: cold=%v suggested=%v quick=%v", st.Advice.ColdReboot, st.Suggested(), st.Quick)
	}
	if got := strings.Join(sys.recorded(), ","); got != "SetCold on,SetCold off" {
		t.Errorf("calls %q", got)
	}
}

func TestARefusedColdRebootSaysWhyAndKeepsTheHelpersState(t *testing.T) {
	sys := &fakeSystem{plan: available(), advice: kernelUpdate(),
		coldErr: &busapi.CallError{Name: busapi.ErrNotAuthorized, Code: reason.NotAuthorized}}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("advice known=true")
	d.loop.do(func() { d.c.SetColdReboot(true) })
	d.waitTrace("coldreboot on=true")
	st := d.state()
	if st.Advice.ColdReboot || st.Busy || !strings.HasPrefix(st.Message, "Cannot change how the next restart is done: ") {
		t.Errorf("cold=%v busy=%v message=%q", st.Advice.ColdReboot, st.Busy, st.Message)
	}
}

func TestRestartAppsOnlyGoesThroughTheRunner(t *testing.T) {
	libs := &busapi.Advice{Kind: "soft", Code: "userspace-update", QuickOffered: true, SoftAvailable: true}
	sys := &fakeSystem{plan: available(), advice: libs, softPath: true, outcome: session.Proceeding}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("advice known=true")
	d.waitTrace("session manager=")
	d.loop.do(func() { d.c.Click(model.BSoft, 0, true) })
	d.waitTrace("result soft-restart done=true")
	if got := strings.Join(sys.recorded(), ","); got != "SoftRestartAfterLogout,SM.logout,Wait" {
		t.Errorf("calls %q, want the helper's schedule, then the log out and its outcome", got)
	}
}
