//go:build integration

package helper_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

// rig is one private system bus with the real helper binary (fake-kexec
// build) activatable on it, a polkit stand-in and a logind stand-in.
type rig struct {
	t      testing.TB
	bus    *bustest.Bus
	root   string
	dir    string // the bus's directory; --test-stats writes dir/stats
	polkit *bustest.PolkitStandIn
	logind *bustest.LogindStandIn
	log    *bustest.LogSink
	conn   *dbus.Conn
	client *busapi.Client
}

type rigOptions struct {
	idle, ttl, polkitTimeout time.Duration
	noPolkit                 bool
	stats                    bool          // --test-stats: goroutines and heap, read by r.stats
	softDeadline             time.Duration // --soft-deadline (the helper's default when 0)
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the helper's integration tests run as root (boot files must be root's, row 12 switches to nobody)")
	}
	if o.idle == 0 {
		o.idle = time.Minute
	}
	if o.ttl == 0 {
		o.ttl = 10 * time.Minute
	}
	if o.polkitTimeout == 0 {
		o.polkitTimeout = 5 * time.Second
	}
	bin := bustest.HelperBinary(t)
	dir := bustest.ShortDir(t)
	root := bustest.NewHelperRoot(t)
	log := bustest.NewLogSink(t, dir)
	args := []string{
		"--test-root=" + root,
		"--log-socket=" + log.Path,
		"--idle-timeout=" + o.idle.String(),
		"--arm-ttl=" + o.ttl.String(),
		"--polkit-timeout=" + o.polkitTimeout.String(),
		"--polkit-interactive-timeout=" + o.polkitTimeout.String(),
	}
	if o.stats {
		args = append(args, "--test-stats="+filepath.Join(dir, "stats"))
	}
	if o.softDeadline > 0 {
		args = append(args, "--soft-deadline="+o.softDeadline.String())
	}
	act := bustest.Activation(bin, args...)
	bus, err := bustest.StartSystemBus(dir, act)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, bus: bus, root: root, log: log, dir: dir}
	// Stop the helper before the bus: a helper killed with its bus keeps
	// nothing, but a test must not leave processes behind.
	t.Cleanup(func() {
		r.killHelper(syscall.SIGKILL)
		bus.Stop()
	})
	if !o.noPolkit {
		r.polkit = bustest.NewPolkitStandIn(t, bus)
	}
	r.logind = bustest.NewLogindStandIn(t, bus)
	r.conn = bustest.NewConn(t, bus)
	r.client = busapi.NewClient(r.conn)
	return r
}

func (r *rig) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	r.t.Cleanup(cancel)
	return ctx
}

// helperPID returns the helper's pid, 0 when it is not running.
func (r *rig) helperPID() int {
	var pid uint32
	err := r.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, busapi.BusName).Store(&pid)
	if err != nil {
		return 0
	}
	return int(pid)
}

// killHelper sends sig to the helper and waits for its name to go.
func (r *rig) killHelper(sig syscall.Signal) {
	pid := r.helperPID()
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, sig)
	r.waitNameGone(10 * time.Second)
	// The daemon reaps its activated child; wait for the pid too.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(b), ") Z ") {
			return
		}
	}
}

func (r *rig) waitNameGone(d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var has bool
		if err := r.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, busapi.BusName).Store(&has); err == nil && !has {
			return true
		}
	}
	return false
}

func (r *rig) calls() []kexectest.Record {
	c, err := kexectest.ReadCalls(r.root)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r *rig) loads() int { return kexectest.CountOp(r.calls(), kexectest.OpLoad) }

func (r *rig) loaded() bool { return kexectest.LoadedIn(r.root) }

func (r *rig) armFile() bool {
	_, err := os.Stat(filepath.Join(r.root, armstate.RunDir, armstate.ArmFile))
	return err == nil
}

func (r *rig) pendingFile() bool {
	_, err := os.Stat(filepath.Join(r.root, armstate.StateDir, armstate.PendingFile))
	return err == nil
}

func (r *rig) armed() bool {
	r.t.Helper()
	v, err := r.client.Armed(r.ctx())
	if err != nil {
		r.t.Fatalf("Armed: %v", err)
	}
	return v
}

// assertNothingLoaded is the "refuse" postcondition of the attack list:
// no load made, kexec_loaded 0, no arm, Armed false.
func (r *rig) assertNothingLoaded() {
	r.t.Helper()
	if n := r.loads(); n != 0 {
		r.t.Errorf("%d kexec_file_load calls, want none", n)
	}
	r.assertDisarmed()
}

func (r *rig) assertDisarmed() {
	r.t.Helper()
	if r.loaded() {
		r.t.Error("kexec_loaded is 1")
	}
	if r.armFile() {
		r.t.Error("the arm file exists")
	}
	if r.pendingFile() {
		r.t.Error("the pending mark exists")
	}
	if r.armed() {
		r.t.Error("Armed is true")
	}
}

func (r *rig) allowAll() { r.polkit.Always(bustest.Allow) }

// callErr asserts err is a helper refusal with the D-Bus name and code.
func callErr(t testing.TB, err error, name string, code string) *busapi.CallError {
	t.Helper()
	var ce *busapi.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v (%T), want a %s refusal", err, err, name)
	}
	if ce.Name != name {
		t.Errorf("error name = %s, want %s (%v)", ce.Name, name, ce)
	}
	if code != "" && string(ce.Code) != code {
		t.Errorf("reason = %s, want %s (%v)", ce.Code, code, ce)
	}
	return ce
}

// dbusSendAs runs dbus-send on the rig's bus as uid (nobody's is 65534)
// and returns its combined output and exit error.
func (r *rig) dbusSendAs(uid uint32, args ...string) (string, error) {
	bin := testtool.Need(r.t, "dbus-send", "dbus-bin")
	cmd := exec.Command(bin, append([]string{"--bus=" + r.bus.Addr, "--print-reply"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// rssKiB reads a process's resident set size.
func rssKiB(t testing.TB, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// helperStats are the figures a helper started with rigOptions.stats
// writes (cmd/rapidreboot-helper/stats_fake.go): now and peak.
type helperStats struct {
	Goroutines, MaxGoroutines int
	Heap, MaxHeap             uint64 // bytes of heap objects
}

// stats reads the helper's figures once they are at least 60 ms newer
// than the call (the helper rewrites them every 20 ms).
func (r *rig) stats() helperStats {
	r.t.Helper()
	p := filepath.Join(r.dir, "stats")
	start := time.Now()
	for deadline := start.Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		st, err := os.Stat(p)
		if err != nil || st.ModTime().Before(start.Add(60*time.Millisecond)) {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var s helperStats
		if _, err := fmt.Sscanf(string(b), "goroutines %d maxgoroutines %d heap %d maxheap %d", &s.Goroutines, &s.MaxGoroutines, &s.Heap, &s.MaxHeap); err == nil {
			return s
		}
	}
	r.t.Fatalf("the helper wrote no figures to %s", p)
	return helperStats{}
}

// procStatusKiB reads a "Name:  N kB" field of /proc/pid/status (VmRSS,
// VmHWM: the peak RSS).
func procStatusKiB(t testing.TB, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
