package helper

import (
	"context"

	"github.com/godbus/dbus/v5"
)

// GetTimeSaved is io.github.rapidreboot.Helper1.GetTimeSaved (issue 16),
// in the XML beside the first four methods.
func (o Object) GetTimeSaved(sender dbus.Sender) (map[string]dbus.Variant, *dbus.Error) {
	return o.h.GetTimeSaved(context.Background(), string(sender)), nil
}
