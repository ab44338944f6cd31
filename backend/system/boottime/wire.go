package boottime

import (
	"math"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// Keys of the report in busapi.Plan's Extra dictionary (a{sv}). Each is
// optional; a missing key is a figure not measured. Durations are in
// milliseconds (x), counts are u.
const (
	KeySavesMS         = busapi.KeyTimeSavedMS
	KeySavesSource     = busapi.KeyTimeSavedSource
	KeySavesN          = busapi.KeyTimeSavedN
	KeyFPDTMS          = "fpdt-ms"
	KeyFPDTLoaderMS    = "fpdt-loader-ms"
	KeyFPDTN           = "fpdt-n"
	KeySystemdMS       = "systemd-firmware-ms"
	KeySystemdLoaderMS = "systemd-loader-ms"
	KeyFirmwareGapMS   = "firmware-gap-median-ms"
	KeyFirmwareGapN    = "firmware-gap-n"
	KeyKexecGapMS      = "kexec-gap-median-ms"
	KeyKexecGapN       = "kexec-gap-n"
	KeyMenuTimeoutMS   = "boot-menu-timeout-ms"
)

func ms(s float64) int64     { return int64(math.Round(s * 1000)) }
func fromMS(v int64) float64 { return math.Round(float64(v)/100) / 10 }

// Wire adds r's figures to m (the Plan's Extra).
func (r Report) Wire(m map[string]dbus.Variant) {
	if r.Seconds != nil {
		m[KeySavesMS] = dbus.MakeVariant(ms(*r.Seconds))
		m[KeySavesSource] = dbus.MakeVariant(string(r.Source))
		m[KeySavesN] = dbus.MakeVariant(uint32(r.N))
	}
	if r.FPDT != nil {
		m[KeyFPDTMS] = dbus.MakeVariant(ms(r.FPDT.Seconds))
		m[KeyFPDTLoaderMS] = dbus.MakeVariant(ms(r.FPDT.Loader))
		m[KeyFPDTN] = dbus.MakeVariant(uint32(r.FPDT.N))
	}
	if r.Systemd != nil {
		m[KeySystemdMS] = dbus.MakeVariant(ms(r.Systemd.Seconds))
		m[KeySystemdLoaderMS] = dbus.MakeVariant(ms(r.Systemd.Loader))
	}
	if r.Firmware != nil {
		m[KeyFirmwareGapMS] = dbus.MakeVariant(ms(r.Firmware.Median))
		m[KeyFirmwareGapN] = dbus.MakeVariant(uint32(r.Firmware.N))
	}
	if r.Kexec != nil {
		m[KeyKexecGapMS] = dbus.MakeVariant(ms(r.Kexec.Median))
		m[KeyKexecGapN] = dbus.MakeVariant(uint32(r.Kexec.N))
	}
	if r.MenuTimeout != nil {
		m[KeyMenuTimeoutMS] = dbus.MakeVariant(ms(*r.MenuTimeout))
	}
}

// FromWire reads a report back from a Plan's Extra; values of the wrong
// type count as missing (an older or newer helper).
func FromWire(m map[string]dbus.Variant) Report {
	var r Report
	x := func(k string) (int64, bool) {
		v, ok := m[k]
		if !ok {
			return 0, false
		}
		i, ok := v.Value().(int64)
		return i, ok
	}
	u := func(k string) int {
		if v, ok := m[k]; ok {
			if n, ok := v.Value().(uint32); ok {
				return int(n)
			}
		}
		return 0
	}
	if v, ok := x(KeySavesMS); ok {
		if src, ok := m[KeySavesSource].Value().(string); ok {
			r.Seconds, r.Source, r.N = ptr(fromMS(v)), Source(src), u(KeySavesN)
		}
	}
	if v, ok := x(KeyFPDTMS); ok {
		l, _ := x(KeyFPDTLoaderMS)
		r.FPDT = &Span{Seconds: fromMS(v), Loader: fromMS(l), N: u(KeyFPDTN)}
	}
	if v, ok := x(KeySystemdMS); ok {
		l, _ := x(KeySystemdLoaderMS)
		r.Systemd = &Span{Seconds: fromMS(v), Loader: fromMS(l), N: 1}
	}
	if v, ok := x(KeyFirmwareGapMS); ok {
		r.Firmware = &Gaps{Median: fromMS(v), N: u(KeyFirmwareGapN)}
	}
	if v, ok := x(KeyKexecGapMS); ok {
		r.Kexec = &Gaps{Median: fromMS(v), N: u(KeyKexecGapN)}
	}
	if v, ok := x(KeyMenuTimeoutMS); ok {
		r.MenuTimeout = ptr(fromMS(v))
	}
	return r
}
