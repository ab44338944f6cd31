package busapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Client talks to the helper. It is the only caller-side code that knows
// the method names; the dialog and rapidrebootctl both use it.
type Client struct {
	conn *dbus.Conn
	obj  dbus.BusObject
}

// NewClient wraps conn (normally the system bus; a private bus in tests).
func NewClient(conn *dbus.Conn) *Client {
	return &Client{conn: conn, obj: conn.Object(BusName, ObjectPath)}
}

// call calls one of the helper's methods. godbus's BusObject drops the
// ALLOW_INTERACTIVE_AUTHORIZATION flag (object.go keeps only NoAutoStart
// and NoReplyExpected), and the helper lets polkit ask for a password only
// when that flag is on the message, so such a call is built by hand.
func (c *Client) call(ctx context.Context, method string, flags dbus.Flags) *dbus.Call {
	if flags&dbus.FlagAllowInteractiveAuthorization == 0 {
		return c.obj.CallWithContext(ctx, Interface+"."+method, flags)
	}
	msg := &dbus.Message{
		Type:  dbus.TypeMethodCall,
		Flags: flags,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldDestination: dbus.MakeVariant(BusName),
			dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath(ObjectPath)),
			dbus.FieldInterface:   dbus.MakeVariant(Interface),
			dbus.FieldMember:      dbus.MakeVariant(method),
		},
	}
	return <-c.conn.SendWithContext(ctx, msg, make(chan *dbus.Call, 1)).Done
}

// CallError is a helper reply that is a refusal or a failure, with the
// reason code the caller branches on.
type CallError struct {
	Name   string      // D-Bus error name
	Code   reason.Code // reason code from the body, reason.Internal if absent
	Detail string
	Msg    string // English sentence from the helper
}

func (e *CallError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return e.Name
}

// Sentence renders the error for a person with tr (nil: English).
func (e *CallError) Sentence(tr func(string) string) string {
	return reason.Sentence(tr, e.Code, e.Detail)
}

// asCallError turns a helper's D-Bus error into a *CallError; other errors
// (no helper, bus gone, timeout) are wrapped as they are.
func asCallError(method string, err error) error {
	if err == nil {
		return nil
	}
	de, ok := AsDBusError(err)
	if !ok {
		return fmt.Errorf("call %s: %w", method, err)
	}
	ce := &CallError{Name: de.Name, Code: reason.Internal}
	if len(de.Body) > 0 {
		ce.Msg, _ = de.Body[0].(string)
	}
	if len(de.Body) > 1 {
		if s, ok := de.Body[1].(string); ok {
			ce.Code = reason.Code(s)
		}
	}
	if len(de.Body) > 2 {
		ce.Detail, _ = de.Body[2].(string)
	}
	switch de.Name {
	case ErrNotAuthorized:
		if ce.Code == reason.Internal {
			ce.Code = reason.NotAuthorized
		}
	case ErrAuthenticationRequired:
		if ce.Code == reason.Internal {
			ce.Code = reason.AuthenticationRequired
		}
	case ErrUnavailable, ErrFailed:
	default:
		// Not one of ours (e.g. ServiceUnknown): keep the bus's words.
		if ce.Detail == "" {
			ce.Detail = ce.Msg
		}
	}
	return ce
}

// The polkit authority on the system bus. Defined here, on the side that
// both the dialog and the helper may import (test/layout), for
// WakeAuthority; backend/system/polkit takes its names from here.
const (
	PolkitBusName = "org.freedesktop.PolicyKit1"
	PolkitPath    = dbus.ObjectPath("/org/freedesktop/PolicyKit1/Authority")
)

// WakeAuthority has the bus start polkitd now if it is not running, and
// returns at once. A caller about to ask the helper for something polkit
// decides (Arm, QuickRestart, SoftRestart) calls it first, so that the
// helper's own D-Bus activation and polkitd's start overlap instead of
// following each other: after a soft restart both are stopped, and in a
// one-vCPU guest each takes about a second (systemctl's pkttyagent starts
// polkitd early in the same way). A Peer.Ping with no reply expected, so
// the bus applies the same policy as to any call to polkit; nothing is
// asked, learnt or changed.
func (c *Client) WakeAuthority() {
	c.conn.Object(PolkitBusName, PolkitPath).Go("org.freedesktop.DBus.Peer.Ping", dbus.FlagNoReplyExpected, nil)
}

// GetPlan returns the plan for the running system and whether Quick
// Restart is available. Anyone may ask; the command line (and the Why
// lines) are given only to root and to callers polkit allows quick-restart.
func (c *Client) GetPlan(ctx context.Context) (Plan, error) {
	var p Plan
	err := c.obj.CallWithContext(ctx, Interface+".GetPlan", 0).Store(&p)
	return p, asCallError("GetPlan", err)
}

// Arm loads the planned kernel and arms the next reboot to kexec into it.
// interactive lets polkit ask for a password through the user's agent.
func (c *Client) Arm(ctx context.Context, interactive bool) (Plan, error) {
	var p Plan
	err := c.call(ctx, "Arm", flags(interactive)).Store(&p)
	return p, asCallError("Arm", err)
}

// Disarm unloads the kernel and disarms. It is allowed to root, to the
// uid that armed, and to callers polkit allows quick-restart.
func (c *Client) Disarm(ctx context.Context) error {
	return asCallError("Disarm", c.obj.CallWithContext(ctx, Interface+".Disarm", 0).Err)
}

// QuickRestart arms and asks logind for a clean reboot, which ends in kexec.
func (c *Client) QuickRestart(ctx context.Context, interactive bool) error {
	return asCallError("QuickRestart", c.call(ctx, "QuickRestart", flags(interactive)).Err)
}

// Armed reads the Armed property.
func (c *Client) Armed(ctx context.Context) (bool, error) {
	var v dbus.Variant
	err := c.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, Interface, PropArmed).Store(&v)
	if err != nil {
		return false, asCallError("Get Armed", err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("get Armed: unexpected type %s", v.Signature())
	}
	return b, nil
}

// ArmedVersion reads the ArmedVersion property: the armed kernel's
// version, "" when nothing is armed. A helper from before the property
// answers with an error (org.freedesktop.DBus.Error.UnknownProperty).
func (c *Client) ArmedVersion(ctx context.Context) (string, error) {
	var v dbus.Variant
	err := c.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, Interface, PropArmedVersion).Store(&v)
	if err != nil {
		return "", asCallError("Get ArmedVersion", err)
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("get ArmedVersion: unexpected type %s", v.Signature())
	}
	return s, nil
}

func flags(interactive bool) dbus.Flags {
	if interactive {
		return dbus.FlagAllowInteractiveAuthorization
	}
	return 0
}

// AsDBusError finds the D-Bus error reply in err's chain: godbus returns
// it as a value or as a pointer, depending on the path it took.
func AsDBusError(err error) (dbus.Error, bool) {
	var de dbus.Error
	var pde *dbus.Error
	switch {
	case errors.As(err, &de):
		return de, true
	case errors.As(err, &pde):
		return *pde, true
	}
	return dbus.Error{}, false
}
