// Package uitest has the helper stand-in for the dialog's tests: a fake
// rapidreboot-helper on a private system bus, exporting busapi's contract
// and recording the calls it gets. It loads nothing and never reboots.
package uitest

import (
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// HelperStandIn stands in for rapidreboot-helper.
type HelperStandIn struct {
	bustest.Recorder
	mu     sync.Mutex
	plan   busapi.Plan
	armErr *dbus.Error
	delay  time.Duration
	props  *prop.Properties
	// advice is GetAdvice's answer; nil: the method is unknown, as in a
	// helper older than issue 16. saves is GetTimeSaved's figure in ms
	// (0: nothing measured).
	advice *busapi.Advice
	saves  int64
}

// NewHelperStandIn owns busapi.BusName on conn and answers with plan.
func NewHelperStandIn(conn *dbus.Conn, plan busapi.Plan) (*HelperStandIn, error) {
	h := &HelperStandIn{plan: plan}
	m := map[string]any{
		"GetPlan": func() (busapi.Plan, *dbus.Error) {
			h.Record("GetPlan()")
			h.mu.Lock()
			p, d := h.plan, h.delay
			h.mu.Unlock()
			time.Sleep(d)
			return p, nil
		},
		"Arm": func() (busapi.Plan, *dbus.Error) {
			h.Record("Arm()")
			h.mu.Lock()
			p, err := h.plan, h.armErr
			h.mu.Unlock()
			if err != nil {
				return busapi.Plan{}, err
			}
			if !p.Available {
				return busapi.Plan{}, Refusal(busapi.ErrUnavailable, p.Reason, p.Detail)
			}
			h.setArmed(true)
			return p, nil
		},
		"Disarm": func() *dbus.Error {
			h.Record("Disarm()")
			h.setArmed(false)
			return nil
		},
		"GetAdvice": func() (busapi.Advice, *dbus.Error) {
			h.Record("GetAdvice()")
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.advice == nil {
				return busapi.Advice{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownMethod", []any{"no GetAdvice in this stand-in"})
			}
			return *h.advice, nil
		},
		"GetTimeSaved": func() (map[string]dbus.Variant, *dbus.Error) {
			h.Record("GetTimeSaved()")
			h.mu.Lock()
			defer h.mu.Unlock()
			m := map[string]dbus.Variant{}
			if h.saves > 0 {
				m[busapi.KeyTimeSavedMS] = dbus.MakeVariant(h.saves)
				m[busapi.KeyTimeSavedSource] = dbus.MakeVariant("measured")
				m[busapi.KeyTimeSavedN] = dbus.MakeVariant(uint32(1))
			}
			return m, nil
		},
		// The helper's coldreboot flag: the plan unavailable with its
		// reason and the advice a full restart while set, as the helper.
		"SetColdReboot": func() *dbus.Error {
			h.Record("SetColdReboot()")
			h.setCold(true)
			return nil
		},
		"ClearColdReboot": func() *dbus.Error {
			h.Record("ClearColdReboot()")
			h.setCold(false)
			return nil
		},
		"SoftRestart": func() *dbus.Error {
			h.Record("SoftRestart()")
			return dbus.NewError(busapi.ErrFailed, []any{"the stand-in never restarts", string(reason.Internal), "stand-in"})
		},
		"SoftRestartAfterLogout": func() *dbus.Error {
			h.Record("SoftRestartAfterLogout()")
			return nil // scheduled; the stand-in never restarts
		},
		"CancelSoftRestart": func() *dbus.Error {
			h.Record("CancelSoftRestart()")
			return nil
		},
		"QuickRestart": func() *dbus.Error {
			h.Record("QuickRestart()")
			return dbus.NewError(busapi.ErrFailed, []any{"the stand-in never restarts", string(reason.Internal), "stand-in"})
		},
	}
	if err := conn.ExportMethodTable(m, busapi.ObjectPath, busapi.Interface); err != nil {
		return nil, err
	}
	props, err := prop.Export(conn, busapi.ObjectPath, prop.Map{
		busapi.Interface: {
			busapi.PropArmed:        {Value: false, Writable: false, Emit: prop.EmitTrue},
			busapi.PropArmedVersion: {Value: "", Writable: false, Emit: prop.EmitTrue},
		},
	})
	if err != nil {
		return nil, err
	}
	h.props = props
	reply, err := conn.RequestName(busapi.BusName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		return nil, err
	}
	return h, nil
}

func (h *HelperStandIn) setArmed(v bool) {
	version := ""
	if v {
		h.mu.Lock()
		version = h.plan.Version
		h.mu.Unlock()
	}
	// The version first, as the helper does: a reader told Armed=true
	// then finds its kernel.
	h.props.SetMust(busapi.Interface, busapi.PropArmedVersion, version)
	h.props.SetMust(busapi.Interface, busapi.PropArmed, v)
}

// SetArmed arms or disarms the stand-in without a call, as a Quick
// Restart prepared before the dialog opened (by rapidrebootctl arm, or
// an earlier dialog) would; armed, ArmedVersion is the plan's version.
func (h *HelperStandIn) SetArmed(v bool) { h.setArmed(v) }

// Armed reports the stand-in's Armed property.
func (h *HelperStandIn) Armed() bool {
	v, err := h.props.Get(busapi.Interface, busapi.PropArmed)
	if err != nil {
		return false
	}
	b, _ := v.Value().(bool)
	return b
}

// SetAdvice makes GetAdvice answer a (nil: unknown method).
func (h *HelperStandIn) SetAdvice(a *busapi.Advice) { h.mu.Lock(); h.advice = a; h.mu.Unlock() }

// SetTimeSaved makes GetTimeSaved report ms measured (0: nothing).
func (h *HelperStandIn) SetTimeSaved(ms int64) { h.mu.Lock(); h.saves = ms; h.mu.Unlock() }

func (h *HelperStandIn) setCold(on bool) {
	h.mu.Lock()
	if h.advice != nil {
		h.advice.ColdReboot = on
		if on {
			h.advice.Kind, h.advice.Code, h.advice.Detail, h.advice.QuickOffered = "full", "cold-reboot", "", false
		}
	}
	if on {
		h.plan.Available, h.plan.Reason, h.plan.Detail = false, reason.ColdReboot, ""
	}
	h.mu.Unlock()
	if on {
		h.setArmed(false)
	}
}

// SetPlan changes what GetPlan and Arm answer.
func (h *HelperStandIn) SetPlan(p busapi.Plan) { h.mu.Lock(); h.plan = p; h.mu.Unlock() }

// SetArmError makes Arm fail with err (nil: succeed when available).
func (h *HelperStandIn) SetArmError(err *dbus.Error) { h.mu.Lock(); h.armErr = err; h.mu.Unlock() }

// SetDelay makes GetPlan answer after d, as a helper started by D-Bus
// activation that reads /boot would.
func (h *HelperStandIn) SetDelay(d time.Duration) { h.mu.Lock(); h.delay = d; h.mu.Unlock() }

// Refusal is a helper error reply with busapi's (message, code, detail) body.
func Refusal(name string, code reason.Code, detail string) *dbus.Error {
	return dbus.NewError(name, []any{reason.Sentence(nil, code, detail), string(code), detail})
}

// Plan returns an available plan for version.
func Plan(version string) busapi.Plan {
	return busapi.Plan{
		Kernel:    "/boot/vmlinuz-" + version,
		Version:   version,
		Initrds:   []string{"/boot/initrd.img-" + version},
		Cmdline:   "root=/dev/sda1 ro quiet",
		Source:    "/boot/grub/grub.cfg",
		Why:       []string{"stand-in"},
		Warnings:  []string{},
		Available: true,
	}
}
