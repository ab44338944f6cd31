package control_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/session"
	"github.com/rapidreboot/rapidreboot/ui/control"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

func TestTheExpanderShowsThePlanBesideTheRunningKernel(t *testing.T) {
	whole := available()
	whole.Initrds = []string{"/boot/initrd.img-6.1.0-27-amd64"}
	whole.Source = "/boot/grub/grub.cfg"
	whole.Why = []string{"menuentry 'Debian GNU/Linux' at /boot/grub/grub.cfg:164"}
	whole.Cmdline = "root=UUID=0a1b ro quiet"
	withheld := whole
	withheld.Cmdline, withheld.Why = "", []string{busapi.WithheldWhy}
	unavailable := whole
	unavailable.Available, unavailable.Reason = false, reason.KexecDisabled
	const release, cmdline = "6.1.0-26-amd64", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-26-amd64 root=UUID=0a1b ro quiet splash"
	for name, tc := range map[string]struct {
		plan busapi.Plan
		err  error
		want model.Boot
	}{
		"A whole plan is shown with the running kernel's facts": {plan: whole, want: model.Boot{
			Kernel: whole.Kernel, Version: whole.Version, Initrds: whole.Initrds, Source: whole.Source, Why: whole.Why, Cmdline: whole.Cmdline,
			RunningRelease: release, RunningCmdline: cmdline}},
		"A withheld plan shows what it has and compares no command line": {plan: withheld, want: model.Boot{
			Kernel: whole.Kernel, Version: whole.Version, Initrds: whole.Initrds, Source: whole.Source, Withheld: true,
			RunningRelease: release, RunningCmdline: cmdline}},
		"An unavailable Quick Restart still says what a restart boots": {plan: unavailable, want: model.Boot{
			Kernel: whole.Kernel, Version: whole.Version, Initrds: whole.Initrds, Source: whole.Source, Why: whole.Why, Cmdline: whole.Cmdline,
			RunningRelease: release, RunningCmdline: cmdline}},
		"No helper: no expander":  {err: &busapi.CallError{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}},
		"A plan without a kernel": {plan: busapi.Plan{Reason: reason.KernelMissing}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := newDialog(t, &fakeSystem{plan: tc.plan, planErr: tc.err, release: release, cmdline: cmdline}, control.Options{}, dialogConfig)
			d.open()
			d.waitTrace("plan available=")
			got := d.state().Boot
			if tc.want.Kernel == "" {
				tc.want = model.Boot{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Boot =\n%+v\nwant\n%+v", got, tc.want)
			}
			if tc.want.Withheld && strings.Contains(d.state().BootText(), busapi.WithheldWhy) {
				t.Error("the helper's English withheld line is shown as a Why line")
			}
		})
	}
}

func TestAnArmedQuickRestartIsShownAndDisarmLeavesWhatTheHelperSays(t *testing.T) {
	for name, tc := range map[string]struct {
		sys        *fakeSystem
		armed      bool
		version    string
		click      bool
		afterArmed bool
		message    string
		calls      []string
	}{
		"Nothing armed: nothing shown":                      {sys: &fakeSystem{}},
		"Armed: shown with its kernel":                      {sys: &fakeSystem{armed: true, armedVersion: "6.1.0-28-amd64"}, armed: true, version: "6.1.0-28-amd64"},
		"Armed by a helper that names no version":           {sys: &fakeSystem{armed: true}, armed: true},
		"A helper that cannot be asked shows nothing armed": {sys: &fakeSystem{armedErr: errors.New("no reply")}},
		"Cancel Quick Restart disarms and the line goes": {sys: &fakeSystem{armed: true, armedVersion: "6.1.0-28-amd64"}, armed: true, version: "6.1.0-28-amd64",
			click: true, message: "Quick Restart was cancelled. The next restart will be a normal one.", calls: []string{"Disarm"}},
		"A refused Disarm says why and the line stays": {sys: &fakeSystem{armed: true, armedVersion: "6.1.0-28-amd64",
			disarmErr: &busapi.CallError{Name: busapi.ErrNotAuthorized, Code: reason.NotAuthorized}}, armed: true, version: "6.1.0-28-amd64",
			click: true, afterArmed: true, message: "Cannot cancel the Quick Restart: You are not allowed to use Quick Restart on this computer.", calls: []string{"Disarm"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc.sys.plan = available()
			d := newDialog(t, tc.sys, control.Options{}, dialogConfig)
			d.open()
			d.waitTrace("armed=")
			st := d.state()
			if st.Armed != tc.armed || st.ArmedVersion != tc.version || st.Buttons()[model.BDisarm].Visible != tc.armed {
				t.Fatalf("armed=%v version=%q disarm button %+v, want %v %q", st.Armed, st.ArmedVersion, st.Buttons()[model.BDisarm], tc.armed, tc.version)
			}
			if !tc.click {
				if calls := tc.sys.recorded(); len(calls) != 0 {
					t.Errorf("opening the dialog called %q", calls)
				}
				return
			}
			d.loop.do(func() { d.c.Click(model.BDisarm, 0, true) })
			d.waitTrace("disarm err=")
			st = d.state()
			if st.Armed != tc.afterArmed || st.Message != tc.message || st.Busy {
				t.Errorf("after the click armed=%v message=%q busy=%v, want %v %q", st.Armed, st.Message, st.Busy, tc.afterArmed, tc.message)
			}
			if calls := tc.sys.recorded(); !reflect.DeepEqual(calls, tc.calls) {
				t.Errorf("calls %q, want %q", calls, tc.calls)
			}
			if st.Buttons()[model.BDisarm].Visible != tc.afterArmed {
				t.Errorf("the Cancel Quick Restart button is visible=%v after the click", !tc.afterArmed)
			}
		})
	}
}

// The dialog opened again (a second launch while it is open) asks the
// helper again: an arm made meanwhile, by rapidrebootctl or another
// session, is shown then.
func TestOpenedAgainTheDialogAsksWhetherAQuickRestartIsArmed(t *testing.T) {
	sys := &fakeSystem{plan: available()}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("armed=false")
	sys.mu.Lock()
	sys.armed, sys.armedVersion = true, "6.1.0-28-amd64"
	sys.mu.Unlock()
	d.loop.do(func() { d.c.Reopen(control.Options{}) })
	d.waitTrace("armed=true")
	if st := d.state(); !st.Armed || st.ArmedVersion != "6.1.0-28-amd64" {
		t.Errorf("after the second launch armed=%v version=%q", st.Armed, st.ArmedVersion)
	}
}

// A Quick Restart called off whose Disarm fails leaves the arm in place:
// the dialog asks again and shows the armed line with Cancel Quick
// Restart, rather than only the message that it may still skip the
// firmware.
func TestAQuickRestartWhoseUndoFailedShowsTheArm(t *testing.T) {
	sys := &fakeSystem{plan: available(), outcome: session.Cancelled,
		disarmErr: &busapi.CallError{Name: busapi.ErrFailed, Code: reason.Internal, Detail: "unload failed"}}
	d := newDialog(t, sys, control.Options{}, dialogConfig)
	d.open()
	d.waitTrace("armed=false")
	d.loop.do(func() { d.c.Click(model.BRestart, model.ShiftMask, true) })
	d.waitTrace("result quick-restart done=false")
	d.waitTrace("armed=true")
	st := d.state()
	if !st.Armed || st.ArmedVersion != "6.1.0-27-amd64" || !st.Buttons()[model.BDisarm].Visible {
		t.Errorf("armed=%v version=%q, disarm button %+v", st.Armed, st.ArmedVersion, st.Buttons()[model.BDisarm])
	}
	if !strings.Contains(st.Message, "may still skip the firmware") {
		t.Errorf("message %q", st.Message)
	}
}
