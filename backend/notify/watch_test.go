package notify

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/notify/notifytest"
)

// These tests run the watcher against a real private session dbus-daemon,
// with notifytest's NotificationServerStandIn in the notification
// daemon's place, and a fake root whose run/ holds the marker.

const (
	quiet   = 50 * time.Millisecond
	settled = 400 * time.Millisecond // long enough for a (wrong) post to show
	wait    = 5 * time.Second
)

type rig struct {
	t        *testing.T
	bus      *bustest.Bus
	server   *notifytest.NotificationServerStandIn
	root     string
	state    string
	launches chan []string
	quick    func(context.Context) Availability
	poll     time.Duration
	maxWait  time.Duration
	stop     func()
}

func newRig(t *testing.T, caps ...string) *rig {
	t.Helper()
	if caps == nil {
		caps = []string{"actions", "body"}
	}
	bus := bustest.NewBus(t, "session")
	srv, err := notifytest.NewNotificationServerStandIn(bustest.NewConn(t, bus), caps...)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, bus: bus, server: srv, root: t.TempDir(), state: t.TempDir(),
		launches: make(chan []string, 8),
		quick:    func(context.Context) Availability { return Availability{Quick: true} }}
	if err := os.Mkdir(filepath.Join(r.root, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs a watcher as a session would, on its own connection.
func (r *rig) start() {
	r.t.Helper()
	conn := bustest.NewConn(r.t, r.bus)
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{
		Root: r.root, StateDir: r.state, BootID: "0123abcd-0000-4000-8000-000000000001", Bus: conn,
		Launch:         func(args []string) error { r.launches <- args; return nil },
		QuickAvailable: r.quick, Quiet: quiet, Poll: r.poll, MaxWait: r.maxWait,
		Logf: func(f string, a ...any) { r.t.Logf("watcher: "+f, a...) },
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					r.t.Errorf("Run: %v", err)
				}
			case <-time.After(wait):
				r.t.Error("Run did not return after its context ended")
			}
		})
	}
	r.t.Cleanup(r.stop)
}

// halt stops the watcher once it has saved what it told the user.
func (r *rig) halt() {
	r.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if _, ok := (store{r.state}).load(); ok {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatal("the watcher saved no state")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.stop()
}

// mark does what notify-reboot-required does: rewrite the marker with
// ">" and append the package to .pkgs with ">>".
func (r *rig) mark(pkgs ...string) {
	r.t.Helper()
	run := filepath.Join(r.root, "run")
	if err := os.WriteFile(filepath.Join(run, "reboot-required"), []byte("*** System restart required ***\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(run, "reboot-required.pkgs"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, p := range pkgs {
		f.WriteString(p + "\n")
	}
	f.Close()
}

func (r *rig) unmark() {
	r.t.Helper()
	for _, n := range []string{"reboot-required", "reboot-required.pkgs"} {
		if err := os.Remove(filepath.Join(r.root, "run", n)); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *rig) posted(n int) []notifytest.Notification {
	r.t.Helper()
	if !r.server.WaitPosted(n, wait) {
		r.t.Fatalf("posted %d notifications, want %d", len(r.server.Posted()), n)
	}
	return r.server.Posted()
}

// quietFor checks that nothing more than n was posted over settled.
func (r *rig) quietFor(n int) {
	r.t.Helper()
	time.Sleep(settled)
	if got := r.server.Posted(); len(got) != n {
		r.t.Fatalf("posted %d notifications, want %d: %+v", len(got), n, got)
	}
}

func (r *rig) launched() []string {
	r.t.Helper()
	select {
	case a := <-r.launches:
		return a
	case <-time.After(wait):
		r.t.Fatal("the dialog was not opened")
		return nil
	}
}

func (r *rig) notLaunched() {
	r.t.Helper()
	select {
	case a := <-r.launches:
		r.t.Fatalf("the dialog was opened with %q", a)
	case <-time.After(settled):
	}
}

func TestANewMarkerPostsOneNotificationWithBothActions(t *testing.T) {
	r := newRig(t)
	r.start()
	r.quietFor(0)
	r.mark("linux-image-6.1.0-18-amd64")
	n := r.posted(1)[0]
	if got, want := n.ActionKeys(), []string{"default", "quick-restart", "restart"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	if n.Label("quick-restart") != "Quick Restart" || n.Label("restart") != "Restart…" {
		t.Errorf("labels %q", n.Actions)
	}
	if !strings.Contains(n.Body, "linux-image-6.1.0-18-amd64") {
		t.Errorf("body %q does not name the package", n.Body)
	}
	if n.Replaces != 0 || n.Timeout != 0 || n.Hints["desktop-entry"].Value() != "rapidreboot" {
		t.Errorf("notification %+v", n)
	}
	r.quietFor(1)
}

func TestAMarkerFromBeforeLoginIsPostedAtStart(t *testing.T) {
	r := newRig(t)
	r.mark("libc6")
	r.start()
	r.posted(1)
	r.quietFor(1)
}

func TestTheSameStateIsNotPostedAgainAfterTheWatcherRestarts(t *testing.T) {
	r := newRig(t)
	r.mark("libc6")
	r.start()
	r.posted(1)
	r.halt()
	r.start() // a new login in the same boot
	r.quietFor(1)
}

func TestANewBootWithTheSameFileIsANewState(t *testing.T) {
	r := newRig(t)
	r.mark("libc6")
	os.MkdirAll(r.state, 0o700)
	k, err := markerKey(r.root, "ffff0000-0000-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if err := (store{r.state}).save(k); err != nil {
		t.Fatal(err)
	}
	r.start() // boot id 0123abcd
	r.posted(1)
}

func TestMorePackagesUpdateTheOpenNotificationInPlace(t *testing.T) {
	r := newRig(t)
	r.start()
	r.mark("libc6")
	first := r.posted(1)[0]
	r.mark("linux-image-6.1.0-18-amd64")
	second := r.posted(2)[1]
	if second.Replaces != first.ID {
		t.Errorf("second post replaces %d, want %d", second.Replaces, first.ID)
	}
	if !strings.Contains(second.Body, "libc6, linux-image-6.1.0-18-amd64") {
		t.Errorf("body %q", second.Body)
	}
	// Rewritten with nothing new (a package's postinst run twice).
	r.mark("libc6")
	r.quietFor(2)
}

func TestMorePackagesAfterTheUserDismissedItStayQuiet(t *testing.T) {
	r := newRig(t)
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	if err := r.server.Dismiss(n.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(quiet)
	r.mark("dbus")
	r.quietFor(1)
}

func TestAMarkerRemovedAndCreatedAgainIsANewState(t *testing.T) {
	r := newRig(t)
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	r.server.Dismiss(n.ID)
	// Keep the old inode alive so the new marker cannot reuse its number
	// (tmpfs never does in one boot; the test's file system might).
	if err := os.Link(filepath.Join(r.root, "run/reboot-required"), filepath.Join(r.root, "old")); err != nil {
		t.Fatal(err)
	}
	r.unmark()
	time.Sleep(4 * quiet)
	r.mark("libc6")
	if again := r.posted(2)[1]; again.Replaces != 0 {
		t.Errorf("the new state replaced notification %d instead of posting anew", again.Replaces)
	}
}

func TestTheMarkerGoingAwayWithdrawsTheNotification(t *testing.T) {
	r := newRig(t)
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	r.unmark()
	deadline := time.Now().Add(wait)
	for len(r.server.Closed()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := r.server.Closed(); !reflect.DeepEqual(got, []uint32{n.ID}) {
		t.Errorf("closed %v, want [%d]", got, n.ID)
	}
}

func TestEachActionOpensTheDialogWithItsArguments(t *testing.T) {
	for _, tc := range []struct {
		name, action string
		want         []string
	}{
		{"Quick Restart opens it quick", "quick-restart", []string{"--reason=updates", "--quick"}},
		{"Restart… opens it for updates", "restart", []string{"--reason=updates"}},
		{"a click on the body opens it for updates", "default", []string{"--reason=updates"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.start()
			r.mark("libc6")
			n := r.posted(1)[0]
			if err := r.server.Invoke(n.ID, tc.action); err != nil {
				t.Fatal(err)
			}
			if got := r.launched(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("opened with %q, want %q", got, tc.want)
			}
			r.notLaunched()
			// Acted on and closed: the same state stays quiet.
			r.mark("libc6")
			r.quietFor(1)
		})
	}
}

func TestAnUnknownActionOrAnotherNotificationOpensNothing(t *testing.T) {
	r := newRig(t)
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	r.server.Invoke(n.ID+7, "restart")
	r.notLaunched()
	r.server.Invoke(n.ID, "rm -rf")
	r.notLaunched()
}

func TestSignalsFromAnotherClientAreNotTheUsersAnswer(t *testing.T) {
	r := newRig(t)
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	forger := bustest.NewConn(t, r.bus)
	if err := forger.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications.ActionInvoked", n.ID, "quick-restart"); err != nil {
		t.Fatal(err)
	}
	r.notLaunched()
}

func TestAnUpdateFinishedByTheFirmwareOffersOnlyRestart(t *testing.T) {
	r := newRig(t)
	r.start()
	r.mark("shim-signed", "libc6")
	n := r.posted(1)[0]
	if got, want := n.ActionKeys(), []string{"default", "restart"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	if !strings.Contains(n.Body, "shim-signed finishes its update while the computer starts") {
		t.Errorf("body %q does not say why", n.Body)
	}
}

func TestQuickRestartUnavailableOffersOnlyRestartAndSaysWhy(t *testing.T) {
	r := newRig(t)
	r.quick = func(context.Context) Availability {
		return Availability{Why: "This kernel cannot start another kernel directly (kexec is not available)."}
	}
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	if got, want := n.ActionKeys(), []string{"default", "restart"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	if !strings.Contains(n.Body, "kexec is not available") {
		t.Errorf("body %q does not say why", n.Body)
	}
}

// The marker is written by postinst scripts in the middle of an upgrade,
// while the helper refuses Quick Restart because dpkg is at work.
func TestANewStateDuringAnUpgradeWaitsForThePackageManagerThenOffersQuickRestart(t *testing.T) {
	r := newRig(t)
	r.poll = 100 * time.Millisecond
	var mu sync.Mutex
	upgrading := true
	r.quick = func(context.Context) Availability {
		mu.Lock()
		defer mu.Unlock()
		if upgrading {
			return Availability{Why: "Software is being installed or removed (apt). Wait until it has finished.", Wait: true}
		}
		return Availability{Quick: true}
	}
	r.start()
	r.mark("linux-image-6.1.0-18-amd64")
	r.quietFor(0)
	mu.Lock()
	upgrading = false
	mu.Unlock()
	n := r.posted(1)[0]
	if got, want := n.ActionKeys(), []string{"default", "quick-restart", "restart"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	r.quietFor(1)
}

func TestAnUpgradeThatNeverEndsDelaysTheNotificationOnlyUpToMaxWait(t *testing.T) {
	r := newRig(t)
	r.poll = 50 * time.Millisecond
	r.maxWait = 300 * time.Millisecond
	r.quick = func(context.Context) Availability {
		return Availability{Why: "Software is being installed or removed (apt). Wait until it has finished.", Wait: true}
	}
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	if got, want := n.ActionKeys(), []string{"default", "restart"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	if !strings.Contains(n.Body, "Wait until it has finished") {
		t.Errorf("body %q does not say why", n.Body)
	}
}

func TestAServerWithoutActionsGetsABodyThatSaysWhereToGo(t *testing.T) {
	r := newRig(t, "body")
	r.start()
	r.mark("libc6")
	n := r.posted(1)[0]
	if len(n.Actions) != 0 || !strings.Contains(n.Body, "Shut Down…") {
		t.Errorf("notification %+v", n)
	}
}

func TestAServerThatRefusesIsTriedAgainLater(t *testing.T) {
	r := newRig(t)
	r.poll = 100 * time.Millisecond
	r.server.Fail(dbus.NewError("org.freedesktop.Notifications.Error.Busy", []any{"stand-in says no"}))
	r.start()
	r.mark("libc6")
	time.Sleep(settled)
	if len(r.server.Posted()) != 0 {
		t.Fatal("posted while failing")
	}
	r.server.Fail(nil)
	r.posted(1)
	r.quietFor(1)
}

func TestWithoutInotifyTheWatcherLooksEveryPoll(t *testing.T) {
	r := newRig(t)
	os.Remove(filepath.Join(r.root, "run")) // nothing to watch yet
	r.poll = 100 * time.Millisecond
	r.start()
	time.Sleep(2 * quiet)
	os.Mkdir(filepath.Join(r.root, "run"), 0o755)
	r.mark("libc6")
	r.posted(1)
	r.quietFor(1)
}

func TestRunEndsWhenTheSessionBusGoesAway(t *testing.T) {
	r := newRig(t)
	conn := bustest.NewConn(t, r.bus)
	w := &Watcher{Root: r.root, BootID: "00000000-0000-4000-8000-000000000000", Bus: conn, Launch: func([]string) error { return nil }}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	time.Sleep(quiet)
	conn.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after the bus closed")
	}
}

func TestAWatcherThatIsNotSetUpSaysSo(t *testing.T) {
	if err := (&Watcher{}).Run(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "cannot watch") {
		t.Errorf("Run = %v", err)
	}
}
