package helper

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"

	"github.com/rapidreboot/rapidreboot/assets"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Object is what godbus exports on busapi.Interface. Its exported methods
// are exactly the interface's methods (a test compares them with
// assets/dbus/io.github.rapidreboot.Helper1.xml, row 10): add nothing here
// that is not in the XML. dbus.Sender and dbus.Message parameters are
// filled in by godbus and are not part of the D-Bus signature.
type Object struct {
	h *Helper
}

// GetPlan is io.github.rapidreboot.Helper1.GetPlan.
func (o Object) GetPlan(sender dbus.Sender) (busapi.Plan, *dbus.Error) {
	return o.h.GetPlan(context.Background(), string(sender)), nil
}

// Arm is io.github.rapidreboot.Helper1.Arm.
func (o Object) Arm(sender dbus.Sender, msg dbus.Message) (busapi.Plan, *dbus.Error) {
	p, err := o.h.Arm(context.Background(), string(sender), interactive(msg))
	if err != nil {
		return busapi.Plan{}, replyError(err)
	}
	return p, nil
}

// Disarm is io.github.rapidreboot.Helper1.Disarm.
func (o Object) Disarm(sender dbus.Sender) *dbus.Error {
	return replyError(o.h.Disarm(context.Background(), string(sender)))
}

// QuickRestart is io.github.rapidreboot.Helper1.QuickRestart.
func (o Object) QuickRestart(sender dbus.Sender, msg dbus.Message) *dbus.Error {
	return replyError(o.h.QuickRestart(context.Background(), string(sender), interactive(msg)))
}

// interactive is whether the caller allowed polkit to ask for a password:
// the message flag, and nothing else (row 4).
func interactive(msg dbus.Message) bool {
	return msg.Flags&dbus.FlagAllowInteractiveAuthorization != 0
}

// replyError turns an error into the D-Bus error busapi.Client expects:
// name by kind, body (English sentence, reason code, detail).
func replyError(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	name := busapi.ErrFailed
	var ce *CallError
	if errors.As(err, &ce) {
		name = ce.Name
	}
	code := reason.CodeOf(err)
	detail := reason.DetailOf(err)
	return dbus.NewError(name, []any{reason.Sentence(nil, code, detail), string(code), detail})
}

// Export puts h on conn: the object with its methods, the Armed and
// ArmedVersion properties (read-only; a Set is refused, row 9) with
// change signals, and the
// introspection data from assets. It does not request the bus name.
func Export(conn *dbus.Conn, h *Helper) (*prop.Properties, error) {
	node, err := Introspection()
	if err != nil {
		return nil, err
	}
	if err := conn.Export(Object{h: h}, busapi.ObjectPath, busapi.Interface); err != nil {
		return nil, fmt.Errorf("cannot export the helper: %w", err)
	}
	props, err := prop.Export(conn, busapi.ObjectPath, prop.Map{
		busapi.Interface: {
			busapi.PropArmed:              {Value: h.Armed(), Writable: false, Emit: prop.EmitTrue},
			busapi.PropArmedVersion:       {Value: h.ArmedVersion(), Writable: false, Emit: prop.EmitTrue},
			busapi.PropSoftRestartPending: {Value: h.SoftRestartPending(), Writable: false, Emit: prop.EmitTrue},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cannot export the helper's properties: %w", err)
	}
	h.OnArmed(func(v bool) {
		// SetMust stores the value, then panics if the signal cannot be
		// sent (the bus went away): the state is right either way.
		defer func() {
			if r := recover(); r != nil {
				h.cfg.Log.Warning("cannot signal Armed=%v: %v", v, r)
			}
		}()
		// The version first: a client told Armed=true then reads the
		// kernel it is armed for.
		props.SetMust(busapi.Interface, busapi.PropArmedVersion, h.ArmedVersion())
		props.SetMust(busapi.Interface, busapi.PropArmed, v)
	})
	h.OnSoftPending(func(v bool) {
		defer func() {
			if r := recover(); r != nil {
				h.cfg.Log.Warning("cannot signal SoftRestartPending=%v: %v", v, r)
			}
		}()
		props.SetMust(busapi.Interface, busapi.PropSoftRestartPending, v)
	})
	if err := conn.Export(introspect.NewIntrospectable(node), busapi.ObjectPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return nil, fmt.Errorf("cannot export the introspection data: %w", err)
	}
	return props, nil
}

// Introspection parses the shipped introspection XML.
func Introspection() (*introspect.Node, error) {
	var node introspect.Node
	if err := xml.Unmarshal([]byte(assets.Introspection), &node); err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", assets.IntrospectionName, err)
	}
	return &node, nil
}

// BusUsers asks the bus daemon for a connection's uid. The daemon knows
// it from the socket's credentials; nothing the caller says enters.
type BusUsers struct{ Conn *dbus.Conn }

// UnixUser is org.freedesktop.DBus.GetConnectionUnixUser(sender).
func (b BusUsers) UnixUser(ctx context.Context, sender string) (uint32, error) {
	if sender == "" || sender[0] != ':' {
		return 0, fmt.Errorf("cannot identify %q: not a unique bus name", sender)
	}
	var uid uint32
	err := b.Conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixUser", 0, sender).Store(&uid)
	if err != nil {
		return 0, fmt.Errorf("cannot identify %s: %w", sender, err)
	}
	return uid, nil
}
