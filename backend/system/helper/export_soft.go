package helper

import (
	"context"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// Issue 16's methods (soft.go), in the XML beside the first four.

// GetAdvice is io.github.rapidreboot.Helper1.GetAdvice.
func (o Object) GetAdvice(sender dbus.Sender) (busapi.Advice, *dbus.Error) {
	return o.h.GetAdvice(context.Background(), string(sender)), nil
}

// SoftRestart is io.github.rapidreboot.Helper1.SoftRestart.
func (o Object) SoftRestart(sender dbus.Sender, msg dbus.Message) *dbus.Error {
	return replyError(o.h.SoftRestart(context.Background(), string(sender), interactive(msg)))
}

// SetColdReboot is io.github.rapidreboot.Helper1.SetColdReboot.
func (o Object) SetColdReboot(sender dbus.Sender, msg dbus.Message) *dbus.Error {
	return replyError(o.h.SetColdReboot(context.Background(), string(sender), interactive(msg)))
}

// ClearColdReboot is io.github.rapidreboot.Helper1.ClearColdReboot.
func (o Object) ClearColdReboot(sender dbus.Sender, msg dbus.Message) *dbus.Error {
	return replyError(o.h.ClearColdReboot(context.Background(), string(sender), interactive(msg)))
}

// SoftRestartAfterLogout is io.github.rapidreboot.Helper1.SoftRestartAfterLogout.
func (o Object) SoftRestartAfterLogout(sender dbus.Sender, msg dbus.Message) *dbus.Error {
	return replyError(o.h.SoftRestartAfterLogout(context.Background(), string(sender), interactive(msg)))
}

// CancelSoftRestart is io.github.rapidreboot.Helper1.CancelSoftRestart.
func (o Object) CancelSoftRestart(sender dbus.Sender) *dbus.Error {
	return replyError(o.h.CancelSoftRestart(context.Background(), string(sender)))
}
