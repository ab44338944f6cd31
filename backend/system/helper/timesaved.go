package helper

import (
	"context"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
)

// savedCache bounds what a flood of GetTimeSaved costs (anyone may call
// it, issue 12 item 6): one computation at a time, and an answer at most
// savedMaxAge old is given again. The figures change only at a boot, so a
// second-old answer is as true as a new one.
type savedCache struct {
	mu  sync.Mutex
	at  time.Time
	rep boottime.Report
	ok  bool
}

const savedMaxAge = 2 * time.Second

// GetTimeSaved returns what a Quick Restart saves on this machine and the
// figures it was chosen from, as busapi's a{sv} (boottime's Key* names).
// Nothing measured: no time-saved-* keys. It never fails.
func (h *Helper) GetTimeSaved(ctx context.Context, sender string) map[string]dbus.Variant {
	h.begin()
	defer h.end()
	m := map[string]dbus.Variant{}
	if h.cfg.TimeSaved == nil {
		return m
	}
	c := &h.saved
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := h.cfg.Now(); !c.ok || now.Sub(c.at) > savedMaxAge || now.Before(c.at) {
		c.rep, c.at, c.ok = h.cfg.TimeSaved(ctx), now, true
	}
	c.rep.Wire(m)
	return m
}
