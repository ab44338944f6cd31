package busapi

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/advice"
)

// Added in issue 16, beside the methods of the first version: a caller
// that knows only GetPlan/Arm/Disarm/QuickRestart sees no change (Plan's
// signature is untouched), and a newer caller of an older helper gets
// org.freedesktop.DBus.Error.UnknownMethod, which means "no advice, no
// soft restart, no coldreboot flag".

// Advice is the wire form of GetAdvice's reply, D-Bus signature
// (sssbbbs), in field order.
type Advice struct {
	Kind   advice.Kind // recommended: "full", "quick" or "soft"
	Code   advice.Code // why
	Detail string      // the why line's datum: a version, a package
	// QuickOffered: Quick Restart may be offered (it may still be
	// unavailable now: GetPlan's Available says).
	QuickOffered bool
	// SoftAvailable: the running systemd can restart userspace only
	// (probed, never assumed); SoftRestart works when no inhibitor blocks.
	SoftAvailable bool
	// ColdReboot: the "next restart is a normal one" flag is set.
	ColdReboot bool
	// SystemdVersion is what the soft restart probe read ("" unknown).
	SystemdVersion string
}

// AdviceSignature is the D-Bus signature of Advice.
const AdviceSignature = "(sssbbbs)"

// Why is the advice's one line, translated with tr (nil: English).
func (a Advice) Why(tr func(string) string) string {
	return advice.Advice{Kind: a.Kind, Code: a.Code, Detail: a.Detail, QuickOffered: a.QuickOffered}.Why(tr)
}

// GetAdvice returns which restart the pending changes need, and whether a
// soft restart is possible and the coldreboot flag set. Anyone may ask.
func (c *Client) GetAdvice(ctx context.Context) (Advice, error) {
	var a Advice
	err := c.obj.CallWithContext(ctx, Interface+".GetAdvice", 0).Store(&a)
	return a, asCallError("GetAdvice", err)
}

// SoftRestart asks the helper for a clean userspace-only restart (logind
// RebootWithFlags with SD_LOGIND_SOFT_REBOOT, honouring block inhibitors).
// Authorised as a reboot: logind's own polkit actions for this caller.
// Anything armed is disarmed first: the kernel is not restarted.
func (c *Client) SoftRestart(ctx context.Context, interactive bool) error {
	return asCallError("SoftRestart", c.call(ctx, "SoftRestart", flags(interactive)).Err)
}

// SetColdReboot makes the next restart a normal one: Quick Restart is
// disarmed and not offered until the flag is cleared or the system
// restarts. Root, or callers polkit allows quick-restart.
func (c *Client) SetColdReboot(ctx context.Context, interactive bool) error {
	return asCallError("SetColdReboot", c.call(ctx, "SetColdReboot", flags(interactive)).Err)
}

// ClearColdReboot clears the flag. Root, or callers polkit allows
// quick-restart.
func (c *Client) ClearColdReboot(ctx context.Context, interactive bool) error {
	return asCallError("ClearColdReboot", c.call(ctx, "ClearColdReboot", flags(interactive)).Err)
}

// SoftRestartAfterLogout asks the helper for a soft restart when the
// caller's login session ends: the dialog asks it before it asks the
// session manager to log out, because it does not outlive the session it
// ends. Authorised now, as SoftRestart (interactive: polkit may ask for a
// password while the user's agent still runs); refused now for what
// would refuse SoftRestart, and with soft-no-session when the caller is
// in no session. A new one replaces a pending one; it lapses unused after
// a few minutes (the helper's SoftDeadline).
func (c *Client) SoftRestartAfterLogout(ctx context.Context, interactive bool) error {
	return asCallError("SoftRestartAfterLogout", c.call(ctx, "SoftRestartAfterLogout", flags(interactive)).Err)
}

// CancelSoftRestart drops the pending SoftRestartAfterLogout (the log out
// was cancelled). With nothing pending it succeeds. Root, or the uid that
// asked for it, or callers polkit allows quick-restart.
func (c *Client) CancelSoftRestart(ctx context.Context) error {
	return asCallError("CancelSoftRestart", c.obj.CallWithContext(ctx, Interface+".CancelSoftRestart", 0).Err)
}

// SoftRestartPending reads the SoftRestartPending property. A helper from
// before it answers with an error (UnknownProperty).
func (c *Client) SoftRestartPending(ctx context.Context) (bool, error) {
	var v dbus.Variant
	err := c.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, Interface, PropSoftRestartPending).Store(&v)
	if err != nil {
		return false, asCallError("Get SoftRestartPending", err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("get SoftRestartPending: unexpected type %s", v.Signature())
	}
	return b, nil
}
