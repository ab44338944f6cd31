// Package notify is the per-user reboot-required watcher: when
// /run/reboot-required appears (Debian's and Ubuntu's "a restart is needed
// to finish installing updates" marker, see backend/rebootreq), it posts one
// desktop notification through org.freedesktop.Notifications (Desktop
// Notifications Specification 1.2) with the actions "Quick Restart" and
// "Restart…", and opens the dialog with --reason=updates when one is chosen.
//
// It must not nag: it posts once per reboot-required state (see Key) and
// remembers the last one in the user's state directory, so logging out and
// in again, or restarting the watcher, stays quiet. Packages that ask for a
// restart while the state holds update the open notification in place.
//
// Not supported: the KDE-only and GNOME-only notification extensions, and
// persistent reminders; the dialog's own "updates" line is the reminder.
package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
)

// Action keys in the notification, and what the dialog is opened with.
const (
	ActionQuickRestart = "quick-restart"
	ActionRestart      = "restart"
	// ActionDefault is the spec's key for a click on the notification's body.
	ActionDefault = "default"
)

// DialogArgs are the dialog's arguments for each action.
var DialogArgs = map[string][]string{
	ActionQuickRestart: {"--reason=updates", "--quick"},
	ActionRestart:      {"--reason=updates"},
	ActionDefault:      {"--reason=updates"},
}

// Watcher watches one root's marker and talks to one session bus.
type Watcher struct {
	// Root holds run/reboot-required: "/" in a session, a directory in tests.
	Root string
	// StateDir keeps the last notified key ("" keeps it in memory only).
	StateDir string
	// BootID is the running kernel's boot id (bootid.Read).
	BootID string
	// Bus is the user's session bus, where the notification server is.
	Bus *dbus.Conn
	// Launch opens the dialog with args. It must not wait for the dialog.
	Launch func(args []string) error
	// QuickAvailable says whether the helper can arm Quick Restart now.
	// nil: never offer Quick Restart.
	QuickAvailable func(ctx context.Context) Availability
	// Quiet is how long the marker files must stay unchanged before they
	// are read: package managers write them in bursts. 0 means 2 s.
	Quiet time.Duration
	// Poll is the fallback look interval when inotify is unavailable, and
	// the first retry delay when the server cannot be reached. 0 means 30 s.
	Poll time.Duration
	// MaxWait bounds how long a new state's notification is held back for
	// a package manager (Availability.Wait); after it, it is posted
	// without Quick Restart. 0 means 30 min.
	MaxWait time.Duration
	// Logf reports what the user cannot see (a server that refuses, a
	// state directory that cannot be written). nil: discard.
	Logf func(format string, args ...any)

	notes   *notifications
	owner   string // the notification server's unique name when we posted
	current uint32 // the open notification, 0 when none
	key     Key    // the state the open or last notification is about
	told    bool   // key is set
	pkgs    string // the packages the open notification lists
	retry   time.Duration
	// waitFrom is when the watcher started holding back a new state's
	// notification for a package manager to finish (zero: not waiting).
	waitFrom time.Time
}

// Availability is the helper's answer, as the notification needs it.
type Availability struct {
	Quick bool   // Quick Restart can be armed now
	Why   string // the sentence saying why not, when not
	// Wait: not now, but soon: a package manager is still at work. The
	// marker is written by packages' postinst scripts in the middle of an
	// upgrade; a notification posted then would never offer Quick Restart
	// for this state, so it is held back until the upgrade ends.
	Wait bool
}

// maxRetry caps the delay between attempts to reach the server.
const maxRetry = 10 * time.Minute

// Run watches until ctx ends or the bus connection closes. It returns nil
// in both cases: a session that ends is the normal end of a watcher.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Bus == nil || w.Launch == nil || w.Root == "" || w.BootID == "" {
		return errors.New("cannot watch: the watcher is not fully set up")
	}
	if w.Quiet <= 0 {
		w.Quiet = 2 * time.Second
	}
	if w.Poll <= 0 {
		w.Poll = 30 * time.Second
	}
	if w.MaxWait <= 0 {
		w.MaxWait = 30 * time.Minute
	}
	if w.Logf == nil {
		w.Logf = func(string, ...any) {}
	}
	w.notes = newNotifications(w.Bus)
	if k, ok := (store{w.StateDir}).load(); ok {
		w.key, w.told = k, true
	}

	sigs := make(chan *dbus.Signal, 16)
	if err := subscribe(w.Bus, sigs); err != nil {
		return err
	}
	defer w.Bus.RemoveSignal(sigs)

	// inotify when it can be had; else a look every Poll. Never both: an
	// idle watcher should not wake up at all.
	var changes <-chan struct{}
	var poll <-chan time.Time
	dw, err := watchDir(filepath.Join(w.Root, "run"))
	if err != nil {
		w.Logf("%v; looking every %s instead", err, w.Poll)
		t := time.NewTicker(w.Poll)
		defer t.Stop()
		poll = t.C
	} else {
		defer dw.stop()
		changes = dw.C
	}

	// The first look is immediate: a marker left from before the login
	// is a state the user may not have heard of yet.
	settle := time.NewTimer(0)
	defer settle.Stop()
	var retry <-chan time.Time

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.Bus.Context().Done():
			return nil
		case <-changes:
			resetTimer(settle, w.Quiet)
		case <-poll:
			resetTimer(settle, 0)
		case <-settle.C:
			if d := w.unsettled(); d > 0 {
				// The first look, a poll or a retry found the files
				// in the middle of a burst: the marker without its
				// .pkgs yet would be a wrong notification.
				resetTimer(settle, d)
				continue
			}
			switch again := w.look(ctx); {
			case again == lookFailed:
				retry = time.After(w.nextRetry())
			case again == lookWaiting:
				w.retry, retry = 0, time.After(w.Poll)
			default:
				w.retry, retry = 0, nil
			}
		case <-retry:
			retry = nil
			resetTimer(settle, 0)
		case s, ok := <-sigs:
			if !ok {
				return nil
			}
			w.signal(s)
		}
	}
}

// unsettled says how much longer the marker files must stay unchanged
// before they are read (0: read now). A modification time in the future
// (a clock set back) does not hold the reading back.
func (w *Watcher) unsettled() time.Duration {
	var left time.Duration
	for _, p := range []string{rebootreq.MarkerPath, rebootreq.PkgsPath} {
		fi, err := os.Stat(filepath.Join(w.Root, p))
		if err != nil {
			continue
		}
		age := time.Since(fi.ModTime())
		if age >= 0 && age < w.Quiet && w.Quiet-age > left {
			left = w.Quiet - age
		}
	}
	return left
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

func (w *Watcher) nextRetry() time.Duration {
	if w.retry == 0 {
		w.retry = w.Poll
	} else {
		w.retry *= 2
	}
	if w.retry > maxRetry {
		w.retry = maxRetry
	}
	return w.retry
}

// What look wants next.
type lookResult int

const (
	lookDone    lookResult = iota
	lookFailed             // the server could not be reached: try again, backing off
	lookWaiting            // a package manager is at work: look again in Poll
)

// look reads the marker and posts, updates or withdraws the notification.
func (w *Watcher) look(ctx context.Context) lookResult {
	st, err := rebootreq.Read(w.Root)
	if err != nil {
		w.Logf("%v", err)
		return lookDone
	}
	if !st.Required {
		// Gone without a restart (removed by hand, or a package purged
		// its request): the notification would now be wrong.
		if w.current != 0 {
			if err := w.notes.close(ctx, w.current); err != nil {
				w.Logf("%v", err)
			}
			w.current = 0
		}
		w.waitFrom = time.Time{}
		return lookDone
	}
	k, err := markerKey(w.Root, w.BootID)
	if err != nil {
		// Removed between the two reads: the next event says so.
		w.Logf("%v", err)
		return lookDone
	}
	same := w.told && k == w.key
	pkgs := strings.Join(st.Packages, " ")
	if same && (w.current == 0 || pkgs == w.pkgs) {
		// Told already, and the user has closed it, or nothing new to
		// show: quiet.
		return lookDone
	}
	// New state, or more packages for the open notification (replaced in
	// place: servers update it without a new popup).
	m, wait := w.message(ctx, st)
	if wait && !same {
		if w.waitFrom.IsZero() {
			w.waitFrom = time.Now()
		}
		if time.Since(w.waitFrom) < w.MaxWait {
			return lookWaiting
		}
	}
	w.waitFrom = time.Time{}
	callCtx, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	id, err := w.notes.notify(callCtx, w.current, m)
	if err != nil {
		w.Logf("%v", err)
		if same {
			return lookDone
		}
		return lookFailed
	}
	w.current, w.pkgs = id, pkgs
	w.owner = w.serverOwner(callCtx)
	if !same {
		w.key, w.told = k, true
		if err := (store{w.StateDir}).save(k); err != nil {
			// Still quiet until this watcher exits.
			w.Logf("%v", err)
		}
	}
	return lookDone
}

// serverOwner is the unique name of the server that took the
// notification; signals from anyone else are not its answers.
func (w *Watcher) serverOwner(ctx context.Context) string {
	var owner string
	err := w.Bus.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, NotificationsName).Store(&owner)
	if err != nil {
		w.Logf("cannot find the notification server's name: %v", err)
		return ""
	}
	return owner
}

// message builds the notification for st, and says whether the helper
// asked to wait for a package manager.
func (w *Watcher) message(ctx context.Context, st rebootreq.Status) (Message, bool) {
	m := Message{
		AppName: i18n.G("Restart"),
		Icon:    "io.github.rapidreboot",
		Summary: i18n.G("Restart to finish installing updates"),
		Hints: map[string]dbus.Variant{
			"desktop-entry": dbus.MakeVariant("rapidreboot"),
			"urgency":       dbus.MakeVariant(byte(1)),
		},
		// Stays until the user acts or dismisses it; it is posted once.
		Timeout: 0,
	}
	var body []string
	if len(st.Packages) > 0 {
		body = append(body, fmt.Sprintf(i18n.G("Updated: %s."), listNames(st.Packages, 4)))
	}
	quick, why, wait := false, "", false
	if !st.QuickEnough {
		why = fmt.Sprintf(i18n.G("%s finishes its update while the computer starts, so this needs a normal restart."), strings.Join(st.NeedsCold, ", "))
	} else if w.QuickAvailable != nil {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		a := w.QuickAvailable(qctx)
		cancel()
		quick, why, wait = a.Quick, a.Why, a.Wait
	}
	if why != "" {
		body = append(body, why)
	}
	caps, err := w.notes.capabilities(ctx)
	if err != nil {
		w.Logf("%v", err)
	}
	if caps["actions"] {
		m.Actions = []string{ActionDefault, i18n.G("Restart…")}
		if quick {
			m.Actions = append(m.Actions, ActionQuickRestart, i18n.G("Quick Restart"))
		}
		m.Actions = append(m.Actions, ActionRestart, i18n.G("Restart…"))
	} else {
		// Without buttons (notify-osd) the body says where to go.
		body = append(body, i18n.G("Choose Shut Down… in the menu to restart."))
	}
	m.Body = strings.Join(body, "\n")
	return m, wait
}

// listNames shows at most n names and counts the rest.
func listNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	rest := len(names) - n
	return fmt.Sprintf(i18n.NG("%s and %d other", "%s and %d others", rest), strings.Join(names[:n], ", "), rest)
}

// signal handles the server's answers about the open notification.
func (w *Watcher) signal(s *dbus.Signal) {
	if w.current == 0 || (w.owner != "" && s.Sender != w.owner) || len(s.Body) < 2 {
		return
	}
	id, ok := s.Body[0].(uint32)
	if !ok || id != w.current {
		return
	}
	switch s.Name {
	case NotificationsIface + ".ActionInvoked":
		key, _ := s.Body[1].(string)
		args, ok := DialogArgs[key]
		if !ok {
			w.Logf("unknown notification action %q", key)
			return
		}
		if err := w.Launch(args); err != nil {
			w.Logf("cannot open the dialog: %v", err)
		}
	case NotificationsIface + ".NotificationClosed":
		w.current = 0
	}
}

// LaunchDialog returns a Launch that starts the dialog binary at path as
// a child of the watcher (so it inherits the session's environment) and
// reaps it in the background.
func LaunchDialog(path string) func(args []string) error {
	return func(args []string) error {
		p := &os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}}
		proc, err := os.StartProcess(path, append([]string{path}, args...), p)
		if err != nil {
			return fmt.Errorf("cannot start %s: %w", path, err)
		}
		go proc.Wait()
		return nil
	}
}
