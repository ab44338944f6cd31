//go:build integration

// Integration tests: the real rapidreboot-helper binary (built with the
// rapidreboot_fakekexec tag: kexec syscalls recorded in files, paths under
// a fake root), D-Bus activated by a private dbus-daemon configured like the
// system bus with the shipped policy, next to a polkit stand-in and a
// logind stand-in. Test names carry the attack list row they cover.
package helper_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

func TestActivationStartsTheHelperAndGetPlanAnswersWithoutAuthorisation(t *testing.T) {
	r := newRig(t, rigOptions{})
	p, err := r.client.GetPlan(r.ctx())
	if err != nil {
		t.Fatalf("GetPlan: %v", err)
	}
	if !p.Available || p.Kernel != bustest.RootKernel || p.Version != bustest.RootVersion ||
		!reflect.DeepEqual(p.Initrds, []string{bustest.RootInitrd}) || p.Cmdline != bustest.RootCmdline {
		t.Errorf("plan = %+v", p)
	}
	if len(p.Why) == 0 {
		t.Error("the plan says nothing about why")
	}
	if n := len(r.polkit.Checks()); n != 0 {
		t.Errorf("GetPlan asked polkit %d times", n)
	}
	if r.helperPID() == 0 {
		t.Error("no helper owns the name after activation")
	}
	r.assertNothingLoaded()
}

func TestArmLoadsThePlanWritesTheArmAndSignalsArmed(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	sig := make(chan *dbus.Signal, 10)
	r.conn.Signal(sig)
	if err := r.conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged")); err != nil {
		t.Fatal(err)
	}
	p, err := r.client.Arm(r.ctx(), false)
	if err != nil {
		t.Fatalf("Arm: %v", err)
	}
	if p.Kernel != bustest.RootKernel || !p.Available {
		t.Errorf("Arm returned %+v", p)
	}
	calls := r.calls()
	if kexectest.CountOp(calls, kexectest.OpLoad) != 1 {
		t.Fatalf("calls = %+v, want one load", calls)
	}
	for _, c := range calls {
		if c.Op == kexectest.OpLoad {
			if c.Cmdline != bustest.RootCmdline || c.Flags != 0 || c.InitrdSize <= 0 || c.KernelSize <= 0 {
				t.Errorf("load = %+v", c)
			}
		}
	}
	if !r.loaded() || !r.armFile() || !r.pendingFile() || !r.armed() {
		t.Errorf("after Arm: loaded %v, arm file %v, pending %v, Armed %v", r.loaded(), r.armFile(), r.pendingFile(), r.armed())
	}
	timeout := time.After(5 * time.Second)
wait:
	for {
		select {
		case s := <-sig:
			if s.Name != "org.freedesktop.DBus.Properties.PropertiesChanged" || len(s.Body) != 3 {
				continue
			}
			ch, _ := s.Body[1].(map[string]dbus.Variant)
			if _, ok := ch[busapi.PropArmed]; !ok && s.Body[0] == busapi.Interface {
				continue // ArmedVersion's, sent just before
			}
			if s.Body[0] != busapi.Interface || ch[busapi.PropArmed].Value() != true {
				t.Errorf("signal = %v", s.Body)
			}
			break wait
		case <-timeout:
			t.Error("no PropertiesChanged for Armed")
			break wait
		}
	}
	// Quick Restart, then logind's own action for this reboot, both about
	// the caller's bus name (issue 12 item 1).
	c := r.polkit.Checks()
	if len(c) != 2 || c[0].Action != busapi.ActionQuickRestart || c[1].Action != logind.ActionReboot {
		t.Errorf("polkit checks = %+v", c)
	}
	for _, ch := range c {
		if ch.SubjectKind != "system-bus-name" || ch.SubjectName != r.conn.Names()[0] {
			t.Errorf("polkit check %+v is not about the caller %s", ch, r.conn.Names()[0])
		}
	}
	if l := r.log.WaitFor(5*time.Second, "Arm:", "uid=0", "armed"); l == "" {
		t.Errorf("no log line for the arm; log: %q", r.log.Lines())
	}
}

func TestArmingTwiceLoadsOnceAndRestartsTheClock(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	if n := r.loads(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if !r.armed() {
		t.Error("not armed")
	}
}

func TestRow01ArmFromACallerPolkitDeniesIsRefusedAndNothingIsLoaded(t *testing.T) {
	r := newRig(t, rigOptions{})
	// The stand-in denies by default.
	_, err := r.client.Arm(r.ctx(), false)
	callErr(t, err, busapi.ErrNotAuthorized, string(reason.NotAuthorized))
	r.assertNothingLoaded()
	if l := r.log.WaitFor(5*time.Second, "Arm:", "uid=0", "refused"); l == "" {
		t.Errorf("no log line with the caller's uid; log: %q", r.log.Lines())
	}
	// Nothing beyond identity was read: no plan is computed before polkit
	// says yes (the arm state directory was never even created).
	if _, err := os.Stat(filepath.Join(r.root, "run/rapidreboot")); err == nil {
		t.Error("/run/rapidreboot was created for a refused caller")
	}

	t.Run("as nobody", func(t *testing.T) {
		out, err := r.dbusSendAs(65534, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+".Arm")
		if err == nil || !strings.Contains(out, busapi.ErrNotAuthorized) {
			t.Errorf("dbus-send as nobody: %v\n%s", err, out)
		}
		if l := r.log.WaitFor(5*time.Second, "Arm:", "uid=65534", "refused"); l == "" {
			t.Errorf("no log line with uid 65534; log: %q", r.log.Lines())
		}
		r.assertNothingLoaded()
	})
	t.Run("QuickRestart", func(t *testing.T) {
		err := r.client.QuickRestart(r.ctx(), false)
		callErr(t, err, busapi.ErrNotAuthorized, string(reason.NotAuthorized))
		if rb := r.logind.Reboots(); len(rb) != 0 {
			t.Errorf("logind was asked to reboot: %v", rb)
		}
		r.assertNothingLoaded()
	})
}

func TestRow03APolkitThatHangsIsRefusedInBoundedTimeWhileOthersAreServed(t *testing.T) {
	r := newRig(t, rigOptions{polkitTimeout: 1500 * time.Millisecond})
	r.polkit.Always(bustest.Hang)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := r.client.Arm(r.ctx(), false)
		done <- err
	}()
	// While that check hangs, another caller is served at once.
	time.Sleep(200 * time.Millisecond)
	other := busapi.NewClient(bustest.NewConn(t, r.bus))
	if _, err := other.GetPlan(r.ctx()); err != nil {
		t.Fatalf("GetPlan during a hung polkit: %v", err)
	}
	select {
	case <-done:
		t.Error("GetPlan was answered only after the hung check ended")
	default:
	}
	err := <-done
	elapsed := time.Since(start)
	ce := callErr(t, err, busapi.ErrFailed, string(reason.Internal))
	if !strings.Contains(ce.Detail, "did not answer") {
		t.Errorf("detail = %q", ce.Detail)
	}
	if elapsed < time.Second || elapsed > 10*time.Second {
		t.Errorf("refused after %s, want about the 1.5 s limit", elapsed)
	}
	// The helper told polkit to drop the check.
	for deadline := time.Now().Add(3 * time.Second); len(r.polkit.Cancels()) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if c := r.polkit.Cancels(); len(c) != 1 || c[0] != r.polkit.Checks()[0].CancelID {
		t.Errorf("cancellations = %v", c)
	}
	r.assertNothingLoaded()
}

func TestRow03APolkitThatIsAbsentIsARefusal(t *testing.T) {
	r := newRig(t, rigOptions{noPolkit: true})
	_, err := r.client.Arm(r.ctx(), false)
	callErr(t, err, busapi.ErrFailed, string(reason.Internal))
	r.assertNothingLoaded()
	if l := r.log.WaitFor(5*time.Second, "Arm:", "refused", "cannot check authorization"); l == "" {
		t.Errorf("log: %q", r.log.Lines())
	}
}

func TestRow04AChallengeWithoutAnAgentIsAuthenticationRequiredAndInteractionFollowsTheMessageFlag(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.polkit.Always(bustest.Challenge)
	for _, interactive := range []bool{false, true} {
		_, err := r.client.Arm(r.ctx(), interactive)
		callErr(t, err, busapi.ErrAuthenticationRequired, string(reason.AuthenticationRequired))
	}
	c := r.polkit.Checks()
	if len(c) != 2 {
		t.Fatalf("checks = %+v", c)
	}
	if c[0].Flags != 0 {
		t.Errorf("a call without ALLOW_INTERACTIVE_AUTHORIZATION was checked with polkit flags %d", c[0].Flags)
	}
	if c[1].Flags != 1 {
		t.Errorf("a call with ALLOW_INTERACTIVE_AUTHORIZATION was checked with polkit flags %d", c[1].Flags)
	}
	r.assertNothingLoaded()
}

func TestRow05TwentyConcurrentArmsMakeOneLoadAndGetTheSamePlan(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if err := kexectest.WriteControl(r.root, kexectest.Control{DelayMs: 300}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	plans := make([]busapi.Plan, n)
	errs := make([]error, n)
	for i := range n {
		c := busapi.NewClient(bustest.NewConn(t, r.bus))
		wg.Add(1)
		go func() {
			defer wg.Done()
			plans[i], errs[i] = c.Arm(r.ctx(), false)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Arm %d: %v", i, errs[i])
		}
		if !reflect.DeepEqual(plans[i], plans[0]) {
			t.Errorf("Arm %d got %+v, Arm 0 %+v", i, plans[i], plans[0])
		}
	}
	if got := r.loads(); got != 1 {
		t.Errorf("%d kexec_file_load calls for %d concurrent Arms, want exactly 1", got, n)
	}
	if !r.armed() || !r.loaded() {
		t.Error("not armed after the Arms")
	}
	if c := len(r.polkit.Checks()); c != 2*n {
		t.Errorf("polkit asked %d times, want twice per caller (%d): Quick Restart and logind's reboot", c, 2*n)
	}
}

func TestRow06DisarmWhileALoadIsInFlightEndsUnloadedAndNotArmed(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	gate := filepath.Join(r.root, "gate")
	if err := kexectest.WriteControl(r.root, kexectest.Control{Gate: gate}); err != nil {
		t.Fatal(err)
	}
	armErr := make(chan error, 1)
	go func() {
		_, err := r.client.Arm(r.ctx(), false)
		armErr <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); kexectest.CountOp(r.calls(), kexectest.OpLoadStart) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the load never started")
		}
	}
	disarmErr := make(chan error, 1)
	go func() { disarmErr <- busapi.NewClient(bustest.NewConn(t, r.bus)).Disarm(r.ctx()) }()
	if r.log.WaitFor(10*time.Second, "a Disarm cancels the Arm in flight") == "" {
		t.Fatalf("the Disarm did not reach the helper during the load; log: %q", r.log.Lines())
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-disarmErr; err != nil {
		t.Fatalf("Disarm: %v", err)
	}
	err := <-armErr
	callErr(t, err, busapi.ErrFailed, "")
	r.assertDisarmed()
	calls := r.calls()
	if last := calls[len(calls)-1]; last.Op != kexectest.OpUnload {
		t.Errorf("last kexec call = %+v, want an unload after the load (calls %+v)", last, calls)
	}
}

func TestRow07WrongSignaturesExtraArgumentsAndUnknownMethodsAreRefusedByName(t *testing.T) {
	r := newRig(t, rigOptions{})
	obj := r.conn.Object(busapi.BusName, busapi.ObjectPath)
	cases := []struct {
		desc   string
		method string
		args   []any
		want   string
	}{
		{"GetPlan with an argument", busapi.Interface + ".GetPlan", []any{"/home/u/evil"}, "org.freedesktop.DBus.Error.InvalidArgs"},
		{"Arm with a kernel command line", busapi.Interface + ".Arm", []any{"init=/bin/sh"}, "org.freedesktop.DBus.Error.InvalidArgs"},
		{"Disarm with two arguments", busapi.Interface + ".Disarm", []any{uint32(1), true}, "org.freedesktop.DBus.Error.InvalidArgs"},
		{"QuickRestart with a path", busapi.Interface + ".QuickRestart", []any{dbus.ObjectPath("/boot")}, "org.freedesktop.DBus.Error.InvalidArgs"},
		{"an unknown method", busapi.Interface + ".LoadKernel", []any{"/tmp/k"}, "org.freedesktop.DBus.Error.UnknownMethod"},
		// godbus's prop package has its own name for this one.
		{"Properties.Get of an unknown property", "org.freedesktop.DBus.Properties.Get", []any{busapi.Interface, "Kernel"}, "org.freedesktop.DBus.Properties.Error.PropertyNotFound"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			err := obj.CallWithContext(r.ctx(), c.method, 0, c.args...).Err
			var de dbus.Error
			if !errors.As(err, &de) || de.Name != c.want {
				t.Errorf("error = %v, want %s", err, c.want)
			}
		})
	}
	// Other interfaces on the helper's name, a later version of ours
	// included, are closed by the bus policy before the helper sees them.
	for _, m := range []string{"org.example.Other.Method", "io.github.rapidreboot.Helper2.Arm"} {
		err := obj.CallWithContext(r.ctx(), m, 0).Err
		var de dbus.Error
		if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.AccessDenied" {
			t.Errorf("%s: %v, want AccessDenied from the bus policy", m, err)
		}
	}
	if _, err := r.client.GetPlan(r.ctx()); err != nil {
		t.Errorf("the helper does not answer any more: %v", err)
	}
	r.assertNothingLoaded()
}

func TestRow08HugeStringsAndDeepVariantsAreRejectedWithMemoryBounded(t *testing.T) {
	r := newRig(t, rigOptions{})
	if _, err := r.client.GetPlan(r.ctx()); err != nil {
		t.Fatal(err)
	}
	pid := r.helperPID()
	before := rssKiB(t, pid)
	obj := r.conn.Object(busapi.BusName, busapi.ObjectPath)
	big := strings.Repeat("A", 1<<20)
	for _, m := range []string{"GetPlan", "Arm", "Disarm", "QuickRestart"} {
		for range 5 {
			err := obj.CallWithContext(r.ctx(), busapi.Interface+"."+m, 0, big).Err
			var de dbus.Error
			if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.InvalidArgs" {
				t.Errorf("%s(1 MB string) = %v, want InvalidArgs", m, err)
			}
		}
	}
	// A variant nested 64 deep: beyond D-Bus's limit of 32 variant levels,
	// the bus or the encoder refuses it before the helper sees it.
	var v any = "x"
	for range 64 {
		v = dbus.MakeVariant(v)
	}
	if err := obj.CallWithContext(r.ctx(), busapi.Interface+".Arm", 0, v).Err; err == nil {
		t.Error("Arm(deep variant) succeeded")
	}
	// An array of 100000 nested variants one level deep, just under 1 MB.
	arr := make([]dbus.Variant, 100000)
	for i := range arr {
		arr[i] = dbus.MakeVariant(dbus.MakeVariant(uint8(i)))
	}
	if err := obj.CallWithContext(r.ctx(), busapi.Interface+".GetPlan", 0, arr).Err; err == nil {
		t.Error("GetPlan(array of variants) succeeded")
	}
	if _, err := r.client.GetPlan(r.ctx()); err != nil {
		t.Fatalf("the helper does not answer any more: %v", err)
	}
	if r.helperPID() != pid {
		t.Error("the helper was restarted (it crashed)")
	}
	after := rssKiB(t, pid)
	t.Logf("helper RSS: %d KiB before, %d KiB after 20 × 1 MB and the variant floods", before, after)
	// 20 MB of strings went in; bounded means they were not kept. (A race
	// build of the helper roughly triples its RSS, hence the margin.)
	if after-before > 64<<10 {
		t.Errorf("helper RSS grew by %d KiB during the floods, want under 64 MiB", after-before)
	}
	r.assertNothingLoaded()
}

func TestRow09ArmedIsReadOnlyForEveryUser(t *testing.T) {
	r := newRig(t, rigOptions{})
	obj := r.conn.Object(busapi.BusName, busapi.ObjectPath)
	err := obj.CallWithContext(r.ctx(), "org.freedesktop.DBus.Properties.Set", 0, busapi.Interface, busapi.PropArmed, dbus.MakeVariant(true)).Err
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Properties.Error.ReadOnly" {
		t.Errorf("Set as root = %v, want ReadOnly", err)
	}
	out, err := r.dbusSendAs(65534, "--dest="+busapi.BusName, busapi.ObjectPath, "org.freedesktop.DBus.Properties.Set",
		"string:"+busapi.Interface, "string:"+busapi.PropArmed, "variant:boolean:true")
	if err == nil || !strings.Contains(out, "Error.ReadOnly") {
		t.Errorf("Set as nobody: %v\n%s", err, out)
	}
	r.assertNothingLoaded()
}

// ArmedVersion is "" until an arm, then the armed kernel's version for
// every user (the version of a file in /boot is no secret), read-only,
// and "" again after a Disarm (issue 16: the dialog says what is armed).
func TestArmedVersionNamesTheArmedKernelToAnyoneAndIsReadOnly(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if v, err := r.client.ArmedVersion(r.ctx()); err != nil || v != "" {
		t.Fatalf("ArmedVersion before any arm = %q, %v", v, err)
	}
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	if v, err := r.client.ArmedVersion(r.ctx()); err != nil || v != bustest.RootVersion {
		t.Errorf("ArmedVersion after Arm = %q, %v; want %q", v, err, bustest.RootVersion)
	}
	out, err := r.dbusSendAs(65534, "--dest="+busapi.BusName, busapi.ObjectPath, "org.freedesktop.DBus.Properties.Get",
		"string:"+busapi.Interface, "string:"+busapi.PropArmedVersion)
	if err != nil || !strings.Contains(out, bustest.RootVersion) {
		t.Errorf("Get ArmedVersion as nobody: %v\n%s", err, out)
	}
	out, err = r.dbusSendAs(65534, "--dest="+busapi.BusName, busapi.ObjectPath, "org.freedesktop.DBus.Properties.Set",
		"string:"+busapi.Interface, "string:"+busapi.PropArmedVersion, "variant:string:6.6.6")
	if err == nil || !strings.Contains(out, "Error.ReadOnly") {
		t.Errorf("Set ArmedVersion as nobody: %v\n%s", err, out)
	}
	if err := r.client.Disarm(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if v, err := r.client.ArmedVersion(r.ctx()); err != nil || v != "" {
		t.Errorf("ArmedVersion after Disarm = %q, %v", v, err)
	}
	r.assertDisarmed()
}

func TestRow10TheExportedMethodsAreExactlyTheIntrospectionXML(t *testing.T) {
	want := xmlMethods(t)
	if sig := dbus.SignatureOf(busapi.Plan{}).String(); sig != busapi.PlanSignature || want["GetPlan"] != "->"+sig {
		t.Errorf("Plan goes on the wire as %s; busapi says %s, the XML %s", sig, busapi.PlanSignature, want["GetPlan"])
	}
	// The Go side: every method godbus would export on helper.Object.
	got := map[string]string{}
	typ := reflect.TypeOf(helper.Object{})
	errType := reflect.TypeOf((*dbus.Error)(nil))
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Type.NumOut() == 0 || m.Type.Out(m.Type.NumOut()-1) != errType {
			continue
		}
		got[m.Name] = goSignature(t, m.Type)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exported Go methods %v != XML methods %v", got, want)
	}

	// The bus side: what the running helper says about itself is the XML.
	r := newRig(t, rigOptions{})
	node, err := introspect.Call(r.conn.Object(busapi.BusName, busapi.ObjectPath))
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]string{}
	for _, i := range node.Interfaces {
		if i.Name != busapi.Interface {
			continue
		}
		for _, m := range i.Methods {
			live[m.Name] = xmlSignature(m)
		}
		props := map[string]string{}
		for _, p := range i.Properties {
			props[p.Name] = p.Type + " " + p.Access
		}
		if want := map[string]string{busapi.PropArmed: "b read", busapi.PropArmedVersion: "s read", busapi.PropSoftRestartPending: "b read"}; !reflect.DeepEqual(props, want) {
			t.Errorf("properties = %+v, want %v", i.Properties, want)
		}
	}
	if !reflect.DeepEqual(live, want) {
		t.Errorf("live introspection %v != XML %v", live, want)
	}
	// And each XML method is really there (not UnknownMethod).
	for name := range want {
		err := r.conn.Object(busapi.BusName, busapi.ObjectPath).CallWithContext(r.ctx(), busapi.Interface+"."+name, 0).Err
		var de dbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.UnknownMethod" {
			t.Errorf("%s is in the XML but not exported", name)
		}
	}
}

func TestRow12NoOneButRootMayOwnTheHelpersName(t *testing.T) {
	r := newRig(t, rigOptions{})
	out, err := r.dbusSendAs(65534, "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName",
		"string:"+busapi.BusName, "uint32:4")
	if err == nil || !strings.Contains(out, "AccessDenied") {
		t.Errorf("RequestName as nobody: %v\n%s", err, out)
	}
	// Before the helper runs, too: the policy, not the owner, refuses.
	if pid := r.helperPID(); pid != 0 {
		t.Fatalf("helper running before any call (pid %d)", pid)
	}
	// While the helper owns it, a second root process is not given it.
	if _, err := r.client.GetPlan(r.ctx()); err != nil {
		t.Fatal(err)
	}
	c := bustest.NewConn(t, r.bus)
	reply, err := c.RequestName(busapi.BusName, dbus.NameFlagDoNotQueue|dbus.NameFlagReplaceExisting)
	if err != nil || reply == dbus.RequestNameReplyPrimaryOwner {
		t.Errorf("a second root process asked for the name: reply %d, %v", reply, err)
	}
}

func TestRow22NoMethodTakesAnArgumentAndTheEnvironmentCannotAddOne(t *testing.T) {
	for name, sig := range xmlMethods(t) {
		if in, _, _ := strings.Cut(sig, "->"); in != "" {
			t.Errorf("method %s takes arguments %q", name, in)
		}
	}
	// The environment of whoever started the bus (inherited by activated
	// services) and a $HOME full of configuration change nothing.
	home := t.TempDir()
	for _, p := range []string{".config/rapidreboot/cmdline", ".rapidreboot", ".kexec"} {
		os.MkdirAll(filepath.Join(home, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(home, p), []byte("init=/bin/sh\n"), 0o644)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("RAPIDREBOOT_CMDLINE", "init=/bin/sh")
	t.Setenv("KEXEC_APPEND", "init=/bin/sh")
	r := newRig(t, rigOptions{})
	r.allowAll()
	p, err := r.client.Arm(r.ctx(), false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cmdline != bustest.RootCmdline {
		t.Errorf("cmdline = %q", p.Cmdline)
	}
	for _, c := range r.calls() {
		if strings.Contains(c.Cmdline, "init=") {
			t.Errorf("loaded with %q", c.Cmdline)
		}
	}
}

func TestRow35ABlockInhibitorOnShutdownMakesQuickRestartUnavailableNamingIt(t *testing.T) {
	cases := []struct {
		desc      string
		inhibitor bustest.StandInInhibitor
		blocks    bool
		detail    string
	}{
		{"block by another user", bustest.StandInInhibitor{What: "shutdown:sleep", Who: "Backup", Why: "Backing up /home", Mode: "block", UID: 1000, PID: 4242}, true, "Backup (Backing up /home)"},
		{"block by root", bustest.StandInInhibitor{What: "shutdown", Who: "apt", Why: "upgrade in progress", Mode: "block", UID: 0, PID: 77}, true, "apt (upgrade in progress)"},
		{"block-weak", bustest.StandInInhibitor{What: "idle:shutdown", Who: "Installer", Why: "copying files", Mode: "block-weak", UID: 0, PID: 90}, true, "Installer (copying files)"},
		{"delay only", bustest.StandInInhibitor{What: "shutdown", Who: "unattended-upgrades", Why: "finishing", Mode: "delay", UID: 0, PID: 91}, false, ""},
		{"block on sleep only", bustest.StandInInhibitor{What: "sleep", Who: "Player", Why: "playing", Mode: "block", UID: 1000, PID: 92}, false, ""},
	}
	r := newRig(t, rigOptions{})
	r.allowAll()
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			r.logind.SetInhibitors(c.inhibitor)
			p, err := r.client.GetPlan(r.ctx())
			if err != nil {
				t.Fatal(err)
			}
			if p.Available == c.blocks {
				t.Fatalf("available = %v with %+v", p.Available, c.inhibitor)
			}
			if !c.blocks {
				return
			}
			if p.Reason != reason.Inhibited || p.Detail != c.detail {
				t.Errorf("reason %s detail %q, want inhibited %q", p.Reason, p.Detail, c.detail)
			}
			if s := p.Sentence(nil); !strings.Contains(s, c.detail) {
				t.Errorf("sentence %q does not name %q", s, c.detail)
			}
			_, err = r.client.Arm(r.ctx(), false)
			ce := callErr(t, err, busapi.ErrUnavailable, string(reason.Inhibited))
			if ce.Detail != c.detail {
				t.Errorf("Arm detail %q", ce.Detail)
			}
			err = r.client.QuickRestart(r.ctx(), false)
			callErr(t, err, busapi.ErrUnavailable, string(reason.Inhibited))
			if rb := r.logind.Reboots(); len(rb) != 0 {
				t.Errorf("logind was asked to reboot: %v", rb)
			}
			r.assertNothingLoaded()
		})
	}

	t.Run("the helper's reboot asks logind to honour inhibitors", func(t *testing.T) {
		r.logind.SetInhibitors()
		if err := r.client.QuickRestart(r.ctx(), false); err != nil {
			t.Fatalf("QuickRestart: %v", err)
		}
		if rb := r.logind.Reboots(); len(rb) != 1 || rb[0] != "RebootWithFlags(0x1) uid=0" {
			t.Errorf("reboots = %v, want one RebootWithFlags(0x1) from root", rb)
		}
		if !r.armed() || !r.loaded() {
			t.Error("QuickRestart did not arm")
		}
	})
}

func TestRow35AnInhibitorTakenBetweenArmAndRebootLeavesNothingArmed(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	// logind refuses as it does for root with flag 0x01 while a block
	// inhibitor is held (taken after the helper's own check).
	r.logind.Refuse(dbus.NewError("org.freedesktop.DBus.Error.AccessDenied", []any{"Access denied to root due to active block inhibitor"}))
	err := r.client.QuickRestart(r.ctx(), false)
	callErr(t, err, busapi.ErrFailed, "")
	if n := r.loads(); n != 1 {
		t.Errorf("%d loads", n)
	}
	r.assertDisarmed()
}

func TestQuickRestartFallsBackToRebootOnLogindWithoutFlags(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	r.logind.WithoutFlags()
	if err := r.client.QuickRestart(r.ctx(), false); err != nil {
		t.Fatalf("QuickRestart: %v", err)
	}
	if rb := r.logind.Reboots(); len(rb) != 1 || rb[0] != "Reboot(false) uid=0" {
		t.Errorf("reboots = %v", rb)
	}
}

func TestOtherUsersSessionsRequireTheMultipleSessionsAction(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	cases := []struct {
		desc     string
		sessions []bustest.StandInSession
		want     string
	}{
		{"only the caller", []bustest.StandInSession{{ID: "2", UID: 0, User: "root", Seat: "seat0", Class: "user"}}, busapi.ActionQuickRestart},
		{"a greeter", []bustest.StandInSession{{ID: "c1", UID: 113, User: "lightdm", Seat: "seat0", Class: "greeter"}}, busapi.ActionQuickRestart},
		{"another user on a seat", []bustest.StandInSession{{ID: "3", UID: 1000, User: "alice", Seat: "seat0", Class: "user"}}, busapi.ActionQuickRestartMultipleSessions},
		{"another user over ssh", []bustest.StandInSession{{ID: "7", UID: 1001, User: "bob", Seat: "", Class: "user"}}, busapi.ActionQuickRestartMultipleSessions},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			r.logind.SetSessions(c.sessions...)
			n := len(r.polkit.Checks())
			if _, err := r.client.Arm(r.ctx(), false); err != nil {
				t.Fatal(err)
			}
			checks := r.polkit.Checks()
			if len(checks) != n+2 || checks[n].Action != c.want {
				t.Errorf("action = %+v, want %s", checks[n:], c.want)
			}
		})
	}
}

func TestRow38DisarmAfterArmUnloadsAndClearsEverything(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	// nobody may, because polkit allows it quick-restart here; who else
	// may: TestIssue12Item3… (auth_integration_test.go).
	out, err := r.dbusSendAs(65534, "--dest="+busapi.BusName, busapi.ObjectPath, busapi.Interface+".Disarm")
	if err != nil {
		t.Fatalf("Disarm as nobody, allowed quick-restart: %v\n%s", err, out)
	}
	r.assertDisarmed()
	calls := r.calls()
	if last := calls[len(calls)-1]; last.Op != kexectest.OpUnload {
		t.Errorf("last call %+v, want the unload", last)
	}
	if l := r.log.WaitFor(5*time.Second, "Disarm:", "uid=65534", "disarmed"); l == "" {
		t.Errorf("log: %q", r.log.Lines())
	}
}

func TestRow39AnArmThatExpiresIsUnloaded(t *testing.T) {
	r := newRig(t, rigOptions{ttl: time.Second})
	r.allowAll()
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); r.loaded(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still loaded 10 s after a 1 s arm")
		}
	}
	// The image goes first; the files and Armed follow, and the helper
	// logs the expiry once all of it is done.
	if l := r.log.WaitFor(5*time.Second, "expired"); l == "" {
		t.Errorf("log: %q", r.log.Lines())
	}
	r.assertDisarmed()
}

func TestRow39AHelperKilledWhileArmedCleansUpWhenStartedAgain(t *testing.T) {
	t.Run("after the arm expired", func(t *testing.T) {
		r := newRig(t, rigOptions{ttl: time.Second})
		r.allowAll()
		if _, err := r.client.Arm(r.ctx(), false); err != nil {
			t.Fatal(err)
		}
		r.killHelper(syscall.SIGKILL)
		if !r.loaded() || !r.armFile() {
			t.Fatal("a SIGKILL cannot have cleaned up")
		}
		time.Sleep(1200 * time.Millisecond)
		// Any call activates a new helper, which finds the stale arm.
		if _, err := r.client.GetPlan(r.ctx()); err != nil {
			t.Fatal(err)
		}
		r.assertDisarmed()
		if l := r.log.WaitFor(5*time.Second, "dropping the arm of an earlier run"); l == "" {
			t.Errorf("log: %q", r.log.Lines())
		}
	})
	t.Run("before it expired", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		r.allowAll()
		if _, err := r.client.Arm(r.ctx(), false); err != nil {
			t.Fatal(err)
		}
		r.killHelper(syscall.SIGKILL)
		if !r.armed() {
			t.Error("a valid arm was not kept by the next helper")
		}
		if !r.loaded() || !r.armFile() {
			t.Error("the next helper dropped a valid arm")
		}
	})
	// Issue 12 item 3, issue 15: the product unloads only an image it
	// loaded. Root's own kexec -s -l image (no loaded mark) stays.
	t.Run("root's own image, no loaded mark", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		os.WriteFile(filepath.Join(r.root, "sys/kernel/kexec_loaded"), []byte("1\n"), 0o644)
		// GetPlan activates the helper and is answered after its clean-up.
		if _, err := r.client.GetPlan(r.ctx()); err != nil {
			t.Fatal(err)
		}
		if r.armed() {
			t.Error("armed")
		}
		if !r.loaded() {
			t.Error("root's own image was unloaded")
		}
		if n := kexectest.CountOp(r.calls(), kexectest.OpUnload); n != 0 {
			t.Errorf("%d unloads", n)
		}
	})
	t.Run("an image the product loaded and nobody armed", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		os.WriteFile(filepath.Join(r.root, "sys/kernel/kexec_loaded"), []byte("1\n"), 0o644)
		// A helper killed between the load and the arm leaves the mark.
		if err := armstate.MarkLoaded(filepath.Join(r.root, armstate.RunDir), armstate.Marker{BootID: bustest.RootBootID}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.client.GetPlan(r.ctx()); err != nil {
			t.Fatal(err)
		}
		if r.armed() {
			t.Error("armed")
		}
		if r.loaded() {
			t.Error("the product's unarmed image was left loaded")
		}
		if armstate.Ours(filepath.Join(r.root, armstate.RunDir)) {
			t.Error("the loaded mark stayed after the unload worked")
		}
	})
}

func TestSIGTERMWhileArmedDisarmsUnlessTheSystemIsShuttingDown(t *testing.T) {
	t.Run("not shutting down", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		r.allowAll()
		if _, err := r.client.Arm(r.ctx(), false); err != nil {
			t.Fatal(err)
		}
		r.killHelper(syscall.SIGTERM)
		if r.loaded() || r.armFile() || r.pendingFile() {
			t.Error("SIGTERM outside a shutdown left the arm")
		}
	})
	t.Run("after PrepareForShutdown", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		r.allowAll()
		if _, err := r.client.Arm(r.ctx(), false); err != nil {
			t.Fatal(err)
		}
		r.logind.EmitPrepareForShutdown(true)
		r.log.WaitFor(5*time.Second, "PrepareForShutdown(true)")
		r.killHelper(syscall.SIGTERM)
		if !r.loaded() || !r.armFile() {
			t.Error("SIGTERM during a shutdown dropped the arm the hook needs")
		}
	})
	t.Run("a spoofed PrepareForShutdown is ignored", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		r.allowAll()
		if _, err := r.client.Arm(r.ctx(), false); err != nil {
			t.Fatal(err)
		}
		owner := ""
		r.conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busapi.BusName).Store(&owner)
		spoof := bustest.NewConn(t, r.bus)
		msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/login1")),
			dbus.FieldInterface:   dbus.MakeVariant("org.freedesktop.login1.Manager"),
			dbus.FieldMember:      dbus.MakeVariant("PrepareForShutdown"),
			dbus.FieldDestination: dbus.MakeVariant(owner),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(true)),
		}, Body: []any{true}}
		if call := spoof.Send(msg, nil); call.Err != nil {
			t.Fatal(call.Err)
		}
		time.Sleep(200 * time.Millisecond)
		r.killHelper(syscall.SIGTERM)
		if r.loaded() || r.armFile() {
			t.Error("a PrepareForShutdown from someone other than logind kept the arm")
		}
	})
}

func TestTheHelperExitsWhenIdleButNotWhileArmed(t *testing.T) {
	r := newRig(t, rigOptions{idle: 400 * time.Millisecond})
	r.allowAll()
	if _, err := r.client.GetPlan(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if !r.waitNameGone(5 * time.Second) {
		t.Fatal("the helper did not exit when idle")
	}
	if _, err := r.client.Arm(r.ctx(), false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if r.helperPID() == 0 {
		t.Fatal("the helper exited while armed")
	}
	if err := r.client.Disarm(r.ctx()); err != nil {
		t.Fatal(err)
	}
	if !r.waitNameGone(5 * time.Second) {
		t.Error("the helper did not exit when idle after Disarm")
	}
	r.assertDisarmed()
}

func TestALoadTheKernelRefusesIsAFailureWithItsReasonAndNothingArmed(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.allowAll()
	if err := kexectest.WriteControl(r.root, kexectest.Control{LoadErrno: int(syscall.ENOMEM)}); err != nil {
		t.Fatal(err)
	}
	_, err := r.client.Arm(r.ctx(), false)
	ce := callErr(t, err, busapi.ErrFailed, string(reason.NoMemory))
	if ce.Msg != reason.Sentence(nil, reason.NoMemory, "") {
		t.Errorf("message %q", ce.Msg)
	}
	r.assertDisarmed()
}

func TestUnavailableForPreflightReasonsIsAPlanNotAnError(t *testing.T) {
	cases := []struct {
		desc  string
		setup func(root string)
		code  reason.Code
	}{
		{"kexec_load_disabled=1", func(root string) {
			os.WriteFile(filepath.Join(root, "proc/sys/kernel/kexec_load_disabled"), []byte("1\n"), 0o644)
		}, reason.KexecDisabled},
		{"a container", func(root string) {
			os.MkdirAll(filepath.Join(root, "run/systemd"), 0o755)
			os.WriteFile(filepath.Join(root, "run/systemd/container"), []byte("lxc\n"), 0o644)
		}, reason.Container},
		{"no kernel in /boot", func(root string) {
			os.Remove(filepath.Join(root, bustest.RootKernel))
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			r.allowAll()
			c.setup(r.root)
			p, err := r.client.GetPlan(r.ctx())
			if err != nil {
				t.Fatal(err)
			}
			if p.Available || p.Reason == "" || (c.code != "" && p.Reason != c.code) {
				t.Errorf("plan %+v, want unavailable (%s)", p, c.code)
			}
			_, err = r.client.Arm(r.ctx(), false)
			callErr(t, err, busapi.ErrUnavailable, string(p.Reason))
			r.assertNothingLoaded()
		})
	}
}

// xmlMethods returns the methods of busapi.Interface in the shipped XML
// with their signatures, "in->out".
func xmlMethods(t testing.TB) map[string]string {
	t.Helper()
	node, err := helper.Introspection()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range node.Interfaces {
		if i.Name != busapi.Interface {
			continue
		}
		for _, m := range i.Methods {
			out[m.Name] = xmlSignature(m)
		}
	}
	if len(out) == 0 {
		t.Fatal("no methods in the XML")
	}
	return out
}

func xmlSignature(m introspect.Method) string {
	var in, out []string
	for _, a := range m.Args {
		if a.Direction == "in" {
			in = append(in, a.Type)
		} else {
			out = append(out, a.Type)
		}
	}
	return strings.Join(in, "") + "->" + strings.Join(out, "")
}

// goSignature is what godbus exports for a method of helper.Object:
// dbus.Sender and dbus.Message parameters are not on the wire.
func goSignature(t testing.TB, mt reflect.Type) string {
	var in, out []string
	for i := 1; i < mt.NumIn(); i++ { // 0 is the receiver
		p := mt.In(i)
		if p == reflect.TypeOf(dbus.Sender("")) || p == reflect.TypeOf(dbus.Message{}) {
			continue
		}
		in = append(in, dbus.SignatureOfType(p).String())
	}
	for i := 0; i < mt.NumOut()-1; i++ {
		out = append(out, dbus.SignatureOfType(mt.Out(i)).String())
	}
	return strings.Join(in, "") + "->" + strings.Join(out, "")
}
