package busapi

import (
	"context"

	"github.com/godbus/dbus/v5"
)

// GetTimeSaved returns what a Quick Restart saves on this machine, as the
// helper's a{sv} of figures (backend/system/boottime.FromWire reads it). Anyone
// may ask. Added in issue 16 beside the first methods, so Plan's signature
// is untouched; an older helper answers UnknownMethod (a *CallError),
// which callers take for "nothing measured".
func (c *Client) GetTimeSaved(ctx context.Context) (map[string]dbus.Variant, error) {
	var m map[string]dbus.Variant
	err := c.obj.CallWithContext(ctx, Interface+".GetTimeSaved", 0).Store(&m)
	return m, asCallError("GetTimeSaved", err)
}
