package notify

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// The Desktop Notifications Specification, version 1.2
// (https://specifications.freedesktop.org/notification-spec/1.2/).
const (
	NotificationsName  = "org.freedesktop.Notifications"
	NotificationsPath  = "/org/freedesktop/Notifications"
	NotificationsIface = "org.freedesktop.Notifications"
)

// Reasons in NotificationClosed, from the specification.
const (
	ClosedExpired   uint32 = 1
	ClosedDismissed uint32 = 2
	ClosedByCall    uint32 = 3
	ClosedUndefined uint32 = 4
)

// Message is one notification as the watcher posts it.
type Message struct {
	AppName string
	Icon    string
	Summary string
	Body    string
	// Actions are (key, label) pairs, flattened as the wire wants them.
	Actions []string
	Hints   map[string]dbus.Variant
	// Timeout in ms: -1 the server's default, 0 never.
	Timeout int32
}

// notifications calls the notification server on the session bus.
type notifications struct {
	obj dbus.BusObject
}

func newNotifications(conn *dbus.Conn) *notifications {
	return &notifications{obj: conn.Object(NotificationsName, NotificationsPath)}
}

// capabilities asks which optional features the server has; "actions" is
// the one the watcher cares about (notify-osd, for one, has none).
func (n *notifications) capabilities(ctx context.Context) (map[string]bool, error) {
	var caps []string
	if err := n.obj.CallWithContext(ctx, NotificationsIface+".GetCapabilities", 0).Store(&caps); err != nil {
		return nil, fmt.Errorf("cannot ask the notification server for its capabilities: %w", err)
	}
	m := make(map[string]bool, len(caps))
	for _, c := range caps {
		m[c] = true
	}
	return m, nil
}

// notify posts m, replacing notification replaces when it is not 0, and
// returns the server's id for it.
func (n *notifications) notify(ctx context.Context, replaces uint32, m Message) (uint32, error) {
	actions := m.Actions
	if actions == nil {
		actions = []string{}
	}
	hints := m.Hints
	if hints == nil {
		hints = map[string]dbus.Variant{}
	}
	var id uint32
	err := n.obj.CallWithContext(ctx, NotificationsIface+".Notify", 0,
		m.AppName, replaces, m.Icon, m.Summary, m.Body, actions, hints, m.Timeout).Store(&id)
	if err != nil {
		return 0, fmt.Errorf("cannot post the notification: %w", err)
	}
	return id, nil
}

// close withdraws notification id.
func (n *notifications) close(ctx context.Context, id uint32) error {
	if err := n.obj.CallWithContext(ctx, NotificationsIface+".CloseNotification", 0, id).Err; err != nil {
		return fmt.Errorf("cannot close notification %d: %w", id, err)
	}
	return nil
}

// subscribe routes the server's ActionInvoked and NotificationClosed
// signals to ch. The match names the well-known name, so a server that
// restarts under the same name keeps being heard.
func subscribe(conn *dbus.Conn, ch chan *dbus.Signal) error {
	for _, member := range []string{"ActionInvoked", "NotificationClosed"} {
		if err := conn.AddMatchSignal(
			dbus.WithMatchInterface(NotificationsIface),
			dbus.WithMatchMember(member),
			dbus.WithMatchObjectPath(NotificationsPath),
		); err != nil {
			return fmt.Errorf("cannot listen to the notification server: %w", err)
		}
	}
	conn.Signal(ch)
	return nil
}
