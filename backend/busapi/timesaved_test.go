package busapi

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestTimeSavedSeconds(t *testing.T) {
	for name, c := range map[string]struct {
		m    map[string]dbus.Variant
		want float64
		ok   bool
	}{
		"measured":        {map[string]dbus.Variant{KeyTimeSavedMS: dbus.MakeVariant(int64(23640)), KeyTimeSavedSource: dbus.MakeVariant("measured")}, 23.6, true},
		"nothing":         {map[string]dbus.Variant{}, 0, false},
		"no source":       {map[string]dbus.Variant{KeyTimeSavedMS: dbus.MakeVariant(int64(9000))}, 0, false},
		"wrong type":      {map[string]dbus.Variant{KeyTimeSavedMS: dbus.MakeVariant("9 s"), KeyTimeSavedSource: dbus.MakeVariant("fpdt")}, 0, false},
		"nil (no answer)": {nil, 0, false},
	} {
		got, ok := TimeSavedSeconds(c.m)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %v, %v; want %v, %v", name, got, ok, c.want, c.ok)
		}
	}
}
