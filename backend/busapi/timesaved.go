package busapi

import (
	"context"
	"math"

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

// The keys of GetTimeSaved's answer that a session-side caller reads
// (backend/system/boottime writes them and names the others).
const (
	KeyTimeSavedMS     = "time-saved-ms"
	KeyTimeSavedSource = "time-saved-source"
	KeyTimeSavedN      = "time-saved-n"
)

// TimeSavedSeconds reads what a Quick Restart saves from GetTimeSaved's
// answer, rounded to 0.1 s as the helper measured it; false when nothing
// was measured or the value has the wrong type (an older or newer helper):
// the dialog then shows no figure rather than a guess.
func TimeSavedSeconds(m map[string]dbus.Variant) (float64, bool) {
	v, ok := m[KeyTimeSavedMS]
	if !ok {
		return 0, false
	}
	ms, ok := v.Value().(int64)
	if !ok {
		return 0, false
	}
	if _, ok := m[KeyTimeSavedSource].Value().(string); !ok {
		return 0, false
	}
	return math.Round(float64(ms)/100) / 10, true
}
