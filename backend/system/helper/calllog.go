package helper

import (
	"context"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
)

// logCall logs a call that changes nothing (GetPlan) with the caller's uid
// and the answer's gist, rate-limited per caller (Logger.Call; issue 12,
// item 7). Arm, Disarm, QuickRestart and every refusal are logged with
// Decision instead, which is never limited.
func (h *Helper) logCall(ctx context.Context, method, sender string, p busapi.Plan) {
	uid := int64(-1)
	uctx, cancel := context.WithTimeout(ctx, queryTimeout)
	if u, err := h.cfg.Users.UnixUser(uctx, sender); err == nil {
		uid = int64(u)
	}
	cancel()
	result := "available"
	if !p.Available {
		result = "unavailable: " + string(p.Reason)
		if p.Detail != "" {
			result += " (" + p.Detail + ")"
		}
	}
	h.cfg.Log.Call(method, sender, uid, result)
}
