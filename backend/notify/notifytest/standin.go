// Package notifytest has a notification-server stand-in: it owns
// org.freedesktop.Notifications on a private bus, records what it is asked
// to show, and lets a test play the user (click an action, dismiss). It is
// not a real notification daemon and shows nothing.
package notifytest

import (
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	name  = "org.freedesktop.Notifications"
	path  = dbus.ObjectPath("/org/freedesktop/Notifications")
	iface = "org.freedesktop.Notifications"
)

// Notification is one Notify call as the stand-in got it.
type Notification struct {
	ID       uint32
	Replaces uint32
	AppName  string
	Icon     string
	Summary  string
	Body     string
	Actions  []string
	Hints    map[string]dbus.Variant
	Timeout  int32
}

// ActionKeys lists the action keys, without their labels.
func (n Notification) ActionKeys() []string {
	var keys []string
	for i := 0; i+1 < len(n.Actions); i += 2 {
		keys = append(keys, n.Actions[i])
	}
	return keys
}

// Label is the label of action key, "" if absent.
func (n Notification) Label(key string) string {
	for i := 0; i+1 < len(n.Actions); i += 2 {
		if n.Actions[i] == key {
			return n.Actions[i+1]
		}
	}
	return ""
}

// NotificationServerStandIn stands in for a desktop's notification daemon.
type NotificationServerStandIn struct {
	conn *dbus.Conn
	caps []string

	mu     sync.Mutex
	next   uint32
	posted []Notification
	closed []uint32
	fail   *dbus.Error
	wake   chan struct{}
}

// NewNotificationServerStandIn exports the stand-in on conn and takes the
// server's name. caps are the capabilities it claims ("actions", "body").
func NewNotificationServerStandIn(conn *dbus.Conn, caps ...string) (*NotificationServerStandIn, error) {
	s := &NotificationServerStandIn{conn: conn, caps: caps, wake: make(chan struct{})}
	if err := conn.ExportMethodTable(map[string]any{
		"Notify":               s.notify,
		"CloseNotification":    s.closeNotification,
		"GetCapabilities":      s.getCapabilities,
		"GetServerInformation": s.getServerInformation,
	}, path, iface); err != nil {
		return nil, fmt.Errorf("cannot export the notification stand-in: %w", err)
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		return nil, fmt.Errorf("cannot own %s: %w", name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return nil, fmt.Errorf("cannot own %s: already owned", name)
	}
	return s, nil
}

func (s *NotificationServerStandIn) notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	id := replaces
	if id == 0 {
		s.next++
		id = s.next
	}
	s.posted = append(s.posted, Notification{ID: id, Replaces: replaces, AppName: app, Icon: icon,
		Summary: summary, Body: body, Actions: actions, Hints: hints, Timeout: timeout})
	close(s.wake)
	s.wake = make(chan struct{})
	return id, nil
}

func (s *NotificationServerStandIn) closeNotification(id uint32) *dbus.Error {
	s.mu.Lock()
	s.closed = append(s.closed, id)
	s.mu.Unlock()
	s.conn.Emit(path, iface+".NotificationClosed", id, uint32(3))
	return nil
}

func (s *NotificationServerStandIn) getCapabilities() ([]string, *dbus.Error) {
	return append([]string{}, s.caps...), nil
}

func (s *NotificationServerStandIn) getServerInformation() (string, string, string, string, *dbus.Error) {
	return "notification-server-stand-in", "rapidreboot tests", "0", "1.2", nil
}

// Fail makes Notify reply err until Fail(nil).
func (s *NotificationServerStandIn) Fail(err *dbus.Error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// Posted returns the Notify calls so far.
func (s *NotificationServerStandIn) Posted() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.posted...)
}

// Closed returns the ids the client closed with CloseNotification.
func (s *NotificationServerStandIn) Closed() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint32(nil), s.closed...)
}

// WaitPosted waits until at least n notifications were posted, up to d.
func (s *NotificationServerStandIn) WaitPosted(n int, d time.Duration) bool {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		got, wake := len(s.posted), s.wake
		s.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-wake:
		case <-deadline:
			return false
		}
	}
}

// Invoke plays a click on action key of notification id: the server
// reports the action, then closes the notification, as non-resident
// notifications are.
func (s *NotificationServerStandIn) Invoke(id uint32, key string) error {
	if err := s.conn.Emit(path, iface+".ActionInvoked", id, key); err != nil {
		return err
	}
	return s.conn.Emit(path, iface+".NotificationClosed", id, uint32(2))
}

// Dismiss plays the user closing notification id.
func (s *NotificationServerStandIn) Dismiss(id uint32) error {
	return s.conn.Emit(path, iface+".NotificationClosed", id, uint32(2))
}
