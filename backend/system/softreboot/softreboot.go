// Package softreboot says whether the running systemd can restart
// userspace only (`systemctl soft-reboot`; logind RebootWithFlags with
// SD_LOGIND_SOFT_REBOOT, 0x04, since systemd 254).
//
// It probes without asking for a restart: logind has no "can soft-reboot"
// question, and every call of RebootWithFlags that logind accepts is a
// restart (systemd 252's logind refuses the unknown flag with InvalidArgs,
// but 254's acts on it), so the flag itself is never tried. Two read-only
// answers of the service manager decide instead, both needed:
//   - org.freedesktop.systemd1.Manager's Version property is 254 or newer
//     (logind and PID 1 come from the same source package and are upgraded
//     together; a newer systemd is re-executed by its package);
//   - GetUnitFileState("systemd-soft-reboot.service") knows the unit, which
//     soft-reboot.target pulls in, and it is not masked.
package softreboot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Flag is SD_LOGIND_SOFT_REBOOT.
const Flag uint64 = 0x04

// MinVersion is the first systemd whose logind accepts Flag.
const MinVersion = 254

// The service manager on the system bus.
const (
	BusName = "org.freedesktop.systemd1"
	Path    = dbus.ObjectPath("/org/freedesktop/systemd1")
	Manager = "org.freedesktop.systemd1.Manager"
	Unit    = "systemd-soft-reboot.service"
)

// ErrTooOld: systemd older than MinVersion.
var ErrTooOld = errors.New("systemd is too old to restart userspace only")

// ErrNoUnit: the soft-reboot unit is missing or masked.
var ErrNoUnit = errors.New("systemd-soft-reboot.service is not available")

// ParseVersion returns the major version of systemd's Version property:
// "257.9-1~deb13u1" (Debian), "252.39-1~deb12u1", "255.4-1.fc40",
// "245 (245.4-4ubuntu3)", "v256.7".
func ParseVersion(s string) (int, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	end := 0
	for end < len(t) && t[end] >= '0' && t[end] <= '9' {
		end++
	}
	if end == 0 || end > 6 {
		return 0, fmt.Errorf("cannot read the systemd version %q", s)
	}
	n, err := strconv.Atoi(t[:end])
	if err != nil {
		return 0, fmt.Errorf("cannot read the systemd version %q: %w", s, err)
	}
	return n, nil
}

// Caller is the part of a dbus.BusObject this package uses.
type Caller interface {
	CallWithContext(ctx context.Context, method string, flags dbus.Flags, args ...any) *dbus.Call
}

// Probe asks systemd on conn; nil means soft reboot is available. The
// error says why not (ErrTooOld, ErrNoUnit, or the bus's error wrapped).
func Probe(ctx context.Context, conn *dbus.Conn) (version string, err error) {
	return ProbeObject(ctx, conn.Object(BusName, Path))
}

// ProbeObject is Probe on a given object (tests).
func ProbeObject(ctx context.Context, obj Caller) (string, error) {
	var v dbus.Variant
	if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, Manager, "Version").Store(&v); err != nil {
		return "", fmt.Errorf("cannot read systemd's version: %w", err)
	}
	version, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("cannot read systemd's version: not a string but %s", v.Signature())
	}
	n, err := ParseVersion(version)
	if err != nil {
		return version, err
	}
	if n < MinVersion {
		return version, fmt.Errorf("%w (%s, needs %d)", ErrTooOld, version, MinVersion)
	}
	var state string
	if err := obj.CallWithContext(ctx, Manager+".GetUnitFileState", 0, Unit).Store(&state); err != nil {
		return version, fmt.Errorf("%w: %w", ErrNoUnit, err)
	}
	if strings.HasPrefix(state, "masked") || state == "bad" {
		return version, fmt.Errorf("%w: %s", ErrNoUnit, state)
	}
	return version, nil
}
