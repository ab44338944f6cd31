package helper

import (
	"context"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// Issue 16's Prepare and Unprepare (prepare.go), in the XML.

// Prepare is io.github.rapidreboot.Helper1.Prepare. It never lets polkit
// ask for a password, whatever the message's flags say.
func (o Object) Prepare(sender dbus.Sender) (busapi.Plan, *dbus.Error) {
	p, err := o.h.Prepare(context.Background(), string(sender))
	if err != nil {
		return busapi.Plan{}, replyError(err)
	}
	return p, nil
}

// Unprepare is io.github.rapidreboot.Helper1.Unprepare.
func (o Object) Unprepare(sender dbus.Sender) *dbus.Error {
	return replyError(o.h.Unprepare(context.Background(), string(sender)))
}
