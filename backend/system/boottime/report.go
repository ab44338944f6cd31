package boottime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/grub"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// Source names where a figure came from.
type Source string

const (
	SourceFPDT     Source = "fpdt"
	SourceSystemd  Source = "systemd"
	SourceMeasured Source = "measured"
)

// Span is a firmware + loader time as a source reports it.
type Span struct {
	Seconds float64 `json:"firmware_and_loader_s"`
	Loader  float64 `json:"loader_s,omitempty"` // 0: the source does not say
	N       int     `json:"n"`                  // firmware boots it is the median of
}

// Gaps is the measured history of one kind of restart.
type Gaps struct {
	Median float64 `json:"median_s"`
	N      int     `json:"n"`
}

// Report is what a Quick Restart saves on this machine, with every figure
// it was chosen from. Seconds is nil when nothing was measured: nothing is
// shown then, no guess.
type Report struct {
	Seconds *float64 `json:"seconds"`
	Source  Source   `json:"source,omitempty"`
	N       int      `json:"n,omitempty"`

	FPDT     *Span `json:"fpdt,omitempty"`
	Systemd  *Span `json:"systemd,omitempty"`
	Firmware *Gaps `json:"firmware_gaps,omitempty"`
	Kexec    *Gaps `json:"kexec_gaps,omitempty"`
	// MenuTimeout is GRUB_TIMEOUT: the boot menu's wait, already inside
	// the fpdt and systemd spans and the firmware gaps (the loader waits
	// before ExitBootServices), so never added to them; shown on its own.
	MenuTimeout *float64 `json:"boot_menu_timeout_s,omitempty"`
}

// Inputs are the figures Compute chooses from; any may be missing.
type Inputs struct {
	History     []Record    // ReadGaps
	FPDT        *BootRecord // ReadSysfs, now
	Systemd     *Span       // SystemdSpan
	MenuTimeout *time.Duration
}

func secs(d time.Duration) float64 { return math.Round(d.Seconds()*10) / 10 }

// Compute chooses what a Quick Restart saves, in the order:
//
//  1. fpdt: the firmware + loader span of the FPDT record, the median of
//     the spans kept at each firmware boot (n of them), or, with none
//     kept yet, the record Linux shows now (n = 1);
//  2. systemd: its FirmwareTimestampMonotonic (n = 1);
//  3. measured: median(firmware gaps) − median(kexec gaps), n the smaller
//     count, only when both kinds were measured and the difference is
//     positive.
//
// Whatever is not chosen is still reported.
func Compute(in Inputs) Report {
	var r Report
	if m, n := Median(in.History, KindFPDT); n > 0 {
		r.FPDT = &Span{Seconds: secs(m), N: n}
	} else if in.FPDT != nil {
		if s, err := in.FPDT.Span(); err == nil {
			r.FPDT = &Span{Seconds: secs(s), Loader: secs(in.FPDT.Loader()), N: 1}
		}
	}
	r.Systemd = in.Systemd
	if m, n := Median(in.History, KindFirmware); n > 0 {
		r.Firmware = &Gaps{Median: secs(m), N: n}
	}
	if m, n := Median(in.History, KindKexec); n > 0 {
		r.Kexec = &Gaps{Median: secs(m), N: n}
	}
	if in.MenuTimeout != nil {
		v := secs(*in.MenuTimeout)
		r.MenuTimeout = &v
	}
	switch {
	case r.FPDT != nil && r.FPDT.Seconds > 0:
		r.Seconds, r.Source, r.N = ptr(r.FPDT.Seconds), SourceFPDT, r.FPDT.N
	case r.Systemd != nil && r.Systemd.Seconds > 0:
		r.Seconds, r.Source, r.N = ptr(r.Systemd.Seconds), SourceSystemd, r.Systemd.N
	case r.Firmware != nil && r.Kexec != nil:
		fm, _ := Median(in.History, KindFirmware)
		km, _ := Median(in.History, KindKexec)
		if d := secs(fm - km); d > 0 {
			r.Seconds, r.Source, r.N = ptr(d), SourceMeasured, min(r.Firmware.N, r.Kexec.N)
		}
	}
	return r
}

func ptr(f float64) *float64 { return &f }

// Manager properties of org.freedesktop.systemd1 (systemd's D-Bus API):
// µs before the kernel's start at which the firmware, and the loader,
// started. systemd fills them from systemd-boot's EFI variables or from
// the ACPI FPDT; GRUB sets neither.
const (
	propFirmware = "FirmwareTimestampMonotonic"
	propLoader   = "LoaderTimestampMonotonic"
)

// SystemdSpan asks systemd's Manager on conn for the firmware and loader
// time. Zero (systemd knows nothing) is ErrNoRecord.
func SystemdSpan(ctx context.Context, conn *dbus.Conn) (*Span, error) {
	obj := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	get := func(p string) (uint64, error) {
		var v dbus.Variant
		if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Manager", p).Store(&v); err != nil {
			return 0, fmt.Errorf("systemd's %s: %w", p, err)
		}
		u, ok := v.Value().(uint64)
		if !ok {
			return 0, fmt.Errorf("systemd's %s: type %s, want t", p, v.Signature())
		}
		return u, nil
	}
	fw, err := get(propFirmware)
	if err != nil {
		return nil, err
	}
	ld, err := get(propLoader)
	if err != nil {
		return nil, err
	}
	return SpanOfSystemd(fw, ld)
}

// SpanOfSystemd checks systemd's two values (µs) as systemd-analyze reads
// them: the firmware value is the whole time before the kernel, the
// loader's a part of it.
func SpanOfSystemd(firmwareUS, loaderUS uint64) (*Span, error) {
	fw := time.Duration(firmwareUS) * time.Microsecond
	switch {
	case firmwareUS == 0:
		return nil, fmt.Errorf("%w: systemd has no firmware timestamp", ErrNoRecord)
	case firmwareUS > uint64(maxSpan/time.Microsecond):
		return nil, fmt.Errorf("%w: systemd's firmware timestamp is %s before the kernel, over %s", ErrNoRecord, fw, maxSpan)
	case loaderUS > firmwareUS:
		return nil, fmt.Errorf("%w: systemd's loader started before its firmware", ErrNoRecord)
	}
	return &Span{Seconds: secs(fw), Loader: secs(time.Duration(loaderUS) * time.Microsecond), N: 1}, nil
}

// MenuTimeout is GRUB_TIMEOUT from /etc/default/grub and
// /etc/default/grub.d/*.cfg of t, read with backend/system/grub's parser (what
// update-grub writes into grub.cfg's `set timeout=`). ok is false when no
// file sets it, or it is not a count of seconds (-1: wait forever).
func MenuTimeout(t host.Target) (time.Duration, bool) {
	vars := map[string]string{}
	files := []string{"/etc/default/grub"}
	if es, err := t.ReadDir("/etc/default/grub.d"); err == nil {
		for _, e := range es {
			if strings.HasSuffix(e.Name, ".cfg") {
				files = append(files, "/etc/default/grub.d/"+e.Name)
			}
		}
	}
	read := false
	for _, f := range files {
		if b, err := t.ReadFile(f, host.MaxConfigSize); err == nil {
			grub.ParseDefaults(b, f, vars)
			read = true
		}
	}
	v, set := vars["GRUB_TIMEOUT"]
	if !read || !set {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 3600 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// IsNoRecord reports whether err only says "not measured".
func IsNoRecord(err error) bool { return errors.Is(err, ErrNoRecord) }
