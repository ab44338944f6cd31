package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// helperStandIn stands in for rapidreboot-helper on a private bus: it
// answers with a fixed plan, records calls with their interactive flag,
// and refuses Arm with armErr when set. It loads nothing.
type helperStandIn struct {
	mu     sync.Mutex
	plan   busapi.Plan
	armErr *dbus.Error
	calls  []string
	props  *prop.Properties
}

func (h *helperStandIn) record(s string) {
	h.mu.Lock()
	h.calls = append(h.calls, s)
	h.mu.Unlock()
}

func (h *helperStandIn) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

func (h *helperStandIn) set(p *busapi.Plan, armErr *dbus.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p != nil {
		h.plan = *p
	}
	h.armErr = armErr
}

func (h *helperStandIn) get() (busapi.Plan, *dbus.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.plan, h.armErr
}

func flagged(m dbus.Message) string {
	if m.Flags&dbus.FlagAllowInteractiveAuthorization != 0 {
		return "(interactive)"
	}
	return "()"
}

var standInPlan = busapi.Plan{
	Kernel: bustest.RootKernel, Version: bustest.RootVersion, Initrds: []string{bustest.RootInitrd},
	Cmdline: bustest.RootCmdline, Source: "/boot/grub/grub.cfg", Why: []string{"grub.cfg: default entry 0"}, Warnings: []string{},
	Available: true,
}

type rig struct {
	bus    *bustest.Bus
	helper *helperStandIn
	logind *bustest.LogindStandIn
}

// newBusRig starts a private system bus with a helper stand-in and a
// logind stand-in, and points this process's system bus at it.
func newBusRig(t *testing.T) *rig {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("owning the helper's name on a system-like bus needs root")
	}
	bus := bustest.NewSystemBus(t, "")
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.Addr)
	h := &helperStandIn{plan: standInPlan}
	conn := bustest.NewConn(t, bus)
	methods := map[string]any{
		"GetPlan": func() (busapi.Plan, *dbus.Error) {
			h.record("GetPlan()")
			p, _ := h.get()
			return p, nil
		},
		"Arm": func(m dbus.Message) (busapi.Plan, *dbus.Error) {
			h.record("Arm" + flagged(m))
			p, armErr := h.get()
			if armErr != nil {
				return busapi.Plan{}, armErr
			}
			h.props.SetMust(busapi.Interface, busapi.PropArmed, true)
			return p, nil
		},
		"Disarm": func() *dbus.Error {
			h.record("Disarm()")
			h.props.SetMust(busapi.Interface, busapi.PropArmed, false)
			return nil
		},
		"QuickRestart": func(m dbus.Message) *dbus.Error {
			h.record("QuickRestart" + flagged(m))
			_, armErr := h.get()
			return armErr
		},
	}
	if err := conn.ExportMethodTable(methods, busapi.ObjectPath, busapi.Interface); err != nil {
		t.Fatal(err)
	}
	props, err := prop.Export(conn, busapi.ObjectPath, prop.Map{busapi.Interface: {busapi.PropArmed: {Value: false}}})
	if err != nil {
		t.Fatal(err)
	}
	h.props = props
	bustest.Own(t, conn, busapi.BusName)
	return &rig{bus: bus, helper: h, logind: bustest.NewLogindStandIn(t, bus)}
}

// ctl runs rapidrebootctl with args and returns exit status, stdout, stderr.
func ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb, optionsOf(t)...)
	return code, out.String(), errb.String()
}

func setInteractive(t *testing.T, v bool) { seams(t, withInteractive(v)) }

func TestStatusShowsArmedAvailabilityAndThePlan(t *testing.T) {
	r := newBusRig(t)
	code, out, errs := ctl(t, "status")
	if code != 0 || !strings.Contains(out, "Armed:") || !strings.Contains(out, bustest.RootKernel) || errs != "" {
		t.Errorf("status: %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = ctl(t, "--json", "status")
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 {
		t.Fatalf("status --json: %d %v\n%s", code, err, out)
	}
	if st.Armed || !st.Available || st.Plan == nil || st.Plan.Kernel != bustest.RootKernel || st.Plan.Initrd[0] != bustest.RootInitrd {
		t.Errorf("status --json = %+v", st)
	}

	r.helper.set(&busapi.Plan{Available: false, Reason: reason.Inhibited, Detail: "Backup (copying)"}, nil)
	code, out, _ = ctl(t, "status", "--json")
	st = status{}
	json.Unmarshal([]byte(out), &st)
	if code != 0 || st.Available || st.Reason != reason.Inhibited || !strings.Contains(st.Message, "Backup (copying)") {
		t.Errorf("unavailable status: %d %+v", code, st)
	}
}

func TestArmGoesThroughTheHelperAndPassesInteractivityOn(t *testing.T) {
	r := newBusRig(t)
	setInteractive(t, true)
	code, out, errs := ctl(t, "arm")
	if code != 0 || !strings.Contains(out, bustest.RootVersion) {
		t.Errorf("arm: %d\n%s\n%s", code, out, errs)
	}
	setInteractive(t, false)
	code, out, _ = ctl(t, "arm", "--json")
	var st status
	json.Unmarshal([]byte(out), &st)
	if code != 0 || !st.Armed || st.Plan.Kernel != bustest.RootKernel {
		t.Errorf("arm --json: %d %s", code, out)
	}
	if c := r.helper.Calls(); len(c) != 2 || c[0] != "Arm(interactive)" || c[1] != "Arm()" {
		t.Errorf("calls = %v", c)
	}
}

func TestARefusalIsOneTranslatedLineOrAJSONErrorAndExitStatusOne(t *testing.T) {
	r := newBusRig(t)
	r.helper.set(nil, dbus.NewError(busapi.ErrNotAuthorized, []any{"You are not allowed to restart this computer.", string(reason.RestartNotAllowed), ""}))
	code, out, errs := ctl(t, "arm")
	if code != 1 || out != "" || errs != "rapidrebootctl: You are not allowed to restart this computer.\n" {
		t.Errorf("arm: %d %q %q", code, out, errs)
	}
	code, out, _ = ctl(t, "--json", "arm")
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal([]byte(out), &e)
	if code != 1 || e.Error.Code != string(reason.RestartNotAllowed) {
		t.Errorf("arm --json: %d %s", code, out)
	}
}

func TestDisarmAndTheTwoRestarts(t *testing.T) {
	r := newBusRig(t)
	setInteractive(t, false)
	if code, out, errs := ctl(t, "disarm"); code != 0 || !strings.Contains(out, "normal") {
		t.Errorf("disarm: %d %s %s", code, out, errs)
	}
	if code, out, errs := ctl(t, "restart", "--quick", "--json"); code != 0 || !strings.Contains(out, `"quick": true`) {
		t.Errorf("restart --quick: %d %s %s", code, out, errs)
	}
	if rb := r.logind.Reboots(); len(rb) != 0 {
		t.Errorf("restart --quick asked logind itself: %v (that is the helper's job)", rb)
	}
	if code, out, errs := ctl(t, "restart"); code != 0 || !strings.Contains(out, "Restart started") {
		t.Errorf("restart: %d %s %s", code, out, errs)
	}
	want := []string{"Disarm()", "QuickRestart()", "Disarm()"}
	if c := r.helper.Calls(); strings.Join(c, " ") != strings.Join(want, " ") {
		t.Errorf("helper calls = %v, want %v", c, want)
	}
	if rb := r.logind.Reboots(); len(rb) != 1 || !strings.HasPrefix(rb[0], "Reboot(false)") {
		t.Errorf("logind calls = %v, want one Reboot", rb)
	}
}

func TestANormalRestartWorksWithoutTheHelper(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the bus rig")
	}
	bus := bustest.NewSystemBus(t, "") // no helper, not activatable
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.Addr)
	li := bustest.NewLogindStandIn(t, bus)
	code, out, errs := ctl(t, "restart")
	if code != 0 || !strings.Contains(errs, "restarting normally anyway") {
		t.Errorf("restart: %d %s %s", code, out, errs)
	}
	if rb := li.Reboots(); len(rb) != 1 {
		t.Errorf("logind calls = %v", rb)
	}
}

func TestRow46ANonRootRootIsRefusedBeforeAnythingIsTouched(t *testing.T) {
	touched := false
	seams(t, withEUID(1000), withSystemBus(func() (*dbus.Conn, error) { touched = true; return nil, os.ErrPermission }))

	// The directory does not exist: a precondition check run first would
	// name it; the refusal must come before.
	missing := filepath.Join(t.TempDir(), "target")
	for _, args := range [][]string{
		{"--root", missing, "status"},
		{"--root", missing, "arm"},
		{"--root", missing, "disarm"},
		{"--root", missing, "restart", "--quick"},
		{"--root", missing, "restart"},
	} {
		code, out, errs := ctl(t, args...)
		if code != 1 || out != "" || !strings.Contains(errs, reason.Sentence(nil, reason.NotRoot, "")) {
			t.Errorf("%v: %d %q %q", args, code, out, errs)
		}
		code, out, _ = ctl(t, append([]string{"--json"}, args...)...)
		if code != 1 || !strings.Contains(out, `"code": "not-root"`) {
			t.Errorf("%v --json: %d %s", args, code, out)
		}
	}
	if touched {
		t.Error("the system bus was contacted")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("the target was created")
	}
}

// rootRig is an installer: a live system (its /proc, /sys, /run in a fake
// tree) and a target root, with the kexec syscalls faked.
type rootRig struct {
	live, target string
	fake         *kexectest.Fake
}

func newRootRig(t *testing.T) *rootRig {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the --root path runs as root only")
	}
	live := bustest.NewHelperRoot(t)
	target := bustest.NewHelperRoot(t)
	fake := kexectest.New(filepath.Join(live, "sys"))
	seams(t, withLive(preflight.Env{Proc: filepath.Join(live, "proc"), Sys: filepath.Join(live, "sys"), Run: filepath.Join(live, "run"), Root: live}),
		withKexec(fake))
	return &rootRig{live: live, target: target, fake: fake}
}

func (r *rootRig) armFile() bool {
	_, err := os.Stat(filepath.Join(r.live, "run/rapidreboot", armstate.ArmFile))
	return err == nil
}

func (r *rootRig) pending() bool {
	_, err := os.Stat(filepath.Join(r.target, armstate.StateDir, armstate.PendingFile))
	return err == nil
}

func TestRootArmsTheTargetInProcessAndDisarms(t *testing.T) {
	r := newRootRig(t)
	code, out, errs := ctl(t, "--root", r.target, "arm", "--json")
	if code != 0 {
		t.Fatalf("arm: %d %s %s", code, out, errs)
	}
	calls := r.fake.Calls()
	if len(calls) != 1 || calls[0].Op != kexectest.OpLoad || calls[0].Cmdline != bustest.RootCmdline {
		t.Errorf("kexec calls = %+v", calls)
	}
	if !r.fake.Loaded() || !r.armFile() || !r.pending() {
		t.Errorf("loaded %v, arm in the live /run %v, pending in the target %v", r.fake.Loaded(), r.armFile(), r.pending())
	}
	code, out, _ = ctl(t, "--root", r.target, "status", "--json")
	var st status
	json.Unmarshal([]byte(out), &st)
	if code != 0 || !st.Armed || !st.Available {
		t.Errorf("status: %d %s", code, out)
	}
	if code, out, errs := ctl(t, "--root", r.target, "disarm"); code != 0 {
		t.Errorf("disarm: %d %s %s", code, out, errs)
	}
	if r.fake.Loaded() || r.armFile() || r.pending() {
		t.Error("disarm left something")
	}
}

func TestRootQuickRestartAsksLogindToHonourInhibitorsAndDisarmsWhenRefused(t *testing.T) {
	r := newRootRig(t)
	br := newBusRig(t)
	code, out, errs := ctl(t, "--root", r.target, "restart", "--quick")
	if code != 0 {
		t.Fatalf("restart --quick: %d %s %s", code, out, errs)
	}
	if rb := br.logind.Reboots(); len(rb) != 1 || rb[0] != "RebootWithFlags(0x1) uid=0" {
		t.Errorf("logind calls = %v", rb)
	}
	if !r.fake.Loaded() || !r.armFile() {
		t.Error("not armed for the reboot")
	}
	if c := br.helper.Calls(); len(c) != 0 {
		t.Errorf("--root used the helper: %v", c)
	}

	br.logind.SetInhibitors(bustest.StandInInhibitor{What: "shutdown", Who: "Installer", Why: "writing the boot loader", Mode: "block", PID: 9})
	code, out, errs = ctl(t, "--root", r.target, "restart", "--quick")
	if code != 1 || !strings.Contains(errs, "Restarting is blocked by Installer (writing the boot loader).") {
		t.Errorf("restart --quick with an inhibitor: %d %s %s", code, out, errs)
	}
	if n := r.fake.Count(kexectest.OpLoad); n != 1 {
		t.Errorf("%d loads: the inhibitor was not seen before loading", n)
	}

	// An inhibitor taken after the check: logind refuses the reboot.
	br.logind.SetInhibitors()
	br.logind.Refuse(dbus.NewError("org.freedesktop.DBus.Error.AccessDenied", []any{"Access denied to root due to active block inhibitor"}))
	code, out, errs = ctl(t, "--root", r.target, "restart", "--quick")
	if code != 1 || !strings.Contains(errs, "logind refused") {
		t.Errorf("restart --quick refused by logind: %d %s %s", code, out, errs)
	}
	if r.fake.Loaded() || r.armFile() || r.pending() {
		t.Error("a refused restart left the kernel loaded or armed")
	}
}

func TestRootPreconditionsAreNamed(t *testing.T) {
	r := newRootRig(t)
	os.RemoveAll(filepath.Join(r.target, "boot"))
	code, _, errs := ctl(t, "--root", r.target, "arm")
	if code != 1 || !strings.Contains(errs, filepath.Join(r.target, "boot")) {
		t.Errorf("arm: %d %s", code, errs)
	}
	if len(r.fake.Calls()) != 0 {
		t.Error("kexec was called")
	}
}

func TestTheRealSystemBusIsRefusedInTests(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "")
	if c, err := systemBus(); err == nil {
		c.Close()
		t.Fatal("a test binary reached the real system bus")
	}
}
