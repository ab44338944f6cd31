package helper

// Issue 16: which restart is enough (GetAdvice), the userspace-only
// restart (SoftRestart), and the "next restart is a normal one" flag
// (SetColdReboot, ClearColdReboot). Kept in this file, apart from
// helper.go, so that the two can change independently.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/logind"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/coldreboot"
	"github.com/rapidreboot/rapidreboot/backend/system/restartkind"
	"github.com/rapidreboot/rapidreboot/backend/system/softreboot"
)

// coldSet reports whether the coldreboot flag (or Debian's) is set; a flag
// that cannot be read counts as set, with the error.
func coldSet(armDir, debianFlag string) (bool, error) {
	set, err := coldreboot.IsSet(armDir)
	if set || err != nil {
		return true, err
	}
	if debianFlag != "" {
		return coldreboot.DebianSet(filepath.Dir(debianFlag))
	}
	return false, nil
}

// coldPreflight puts the coldreboot flag before the other preflight
// checks: while it is set, nothing is armed and the plan says why.
func coldPreflight(armDir, debianFlag string, next func() error) func() error {
	return func() error {
		if set, err := coldSet(armDir, debianFlag); set {
			if err != nil {
				return reason.Wrap(reason.ColdReboot, "", err)
			}
			return reason.New(reason.ColdReboot, "")
		}
		if next == nil {
			return nil
		}
		return next()
	}
}

// softAvailable probes the running systemd.
func (h *Helper) softAvailable(ctx context.Context) (string, error) {
	if h.cfg.SoftProbe == nil {
		return "", errors.New("no soft reboot probe")
	}
	pctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return h.cfg.SoftProbe(pctx)
}

// GetAdvice says which restart the pending changes need (restartkind),
// whether a soft restart is possible and whether the coldreboot flag is
// set. Anyone may ask: it tells nothing a local user cannot read (the
// restart marker, the kernel versions in /boot, dpkg's log) and no command
// line; the command line is compared here, only the fact that it changed
// is told.
func (h *Helper) GetAdvice(ctx context.Context, sender string) busapi.Advice {
	h.begin()
	defer h.end()
	a := h.advices.do(func() busapi.Advice { return h.advise(ctx) })
	h.cfg.Log.Call("GetAdvice", sender, h.uidForLog(ctx, sender), fmt.Sprintf("%s (%s)", a.Kind, a.Code))
	return a
}

func (h *Helper) uidForLog(ctx context.Context, sender string) int64 {
	uctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if u, err := h.cfg.Users.UnixUser(uctx, sender); err == nil {
		return int64(u)
	}
	return -1
}

// advise gathers and decides; GetAdvice shares it between concurrent
// callers (share), as GetPlan shares its plan: anyone may ask, and a flood
// costs at most one computation at a time.
func (h *Helper) advise(ctx context.Context) busapi.Advice {
	var in restartkind.Inputs
	if h.cfg.Gather != nil {
		g := h.cfg.Gather()
		for _, err := range g.Problems {
			h.cfg.Log.Info("advice: %v", err)
		}
		in = g.Inputs
	}
	wire := h.plans.do(func() busapi.Plan {
		_, w, _ := h.prepare(ctx)
		return w
	})
	in.QuickAvailable = wire.Available
	in.PlanVersion = wire.Version
	in.PlanCmdline = wire.Cmdline
	cold, err := coldSet(h.cfg.ArmDir, h.cfg.DebianColdFlag)
	if err != nil {
		h.cfg.Log.Warning("the coldreboot flag cannot be read, taken as set: %v", err)
	}
	in.ColdReboot = cold
	version, serr := h.softAvailable(ctx)
	in.SoftAvailable = serr == nil
	a := restartkind.Decide(in)
	return busapi.Advice{
		Kind: a.Kind, Code: a.Code, Detail: a.Detail, QuickOffered: a.QuickOffered,
		SoftAvailable: in.SoftAvailable, ColdReboot: cold, SystemdVersion: version,
	}
}

// authorizeReboot is authorize without the product's own action: a soft
// restart is a reboot and nothing more, so the caller needs exactly what
// logind would ask of it (reboot, or reboot-multiple-sessions), for the
// same bus-name subject, and must still be on the bus afterwards.
func (h *Helper) authorizeReboot(ctx context.Context, method, sender string, interactive bool) (uint32, error) {
	uid, _, err := h.authorizeRebootFor(ctx, method, sender, interactive)
	return uid, err
}

// authorizeRebootFor is authorizeReboot that also says whether other
// users had sessions, i.e. whether reboot-multiple-sessions was the
// action granted (SoftRestartAfterLogout keeps it for its re-check).
func (h *Helper) authorizeRebootFor(ctx context.Context, method, sender string, interactive bool) (uint32, bool, error) {
	uid, err := h.callerUID(ctx, method, sender)
	if err != nil {
		return 0, false, err
	}
	others := h.othersLoggedIn(ctx, uid)
	if err := h.mayReboot(ctx, method, sender, uid, others, interactive); err != nil {
		return uid, others, err
	}
	if err := h.stillThere(ctx, sender, uid); err != nil {
		h.cfg.Log.Decision(method, sender, int64(uid), "", "refused: "+err.Error())
		return uid, others, err
	}
	h.cfg.Log.Decision(method, sender, int64(uid), logind.RebootActions(others, false)[0], "authorized")
	return uid, others, nil
}

// SoftRestart restarts userspace only: logind RebootWithFlags with
// SD_LOGIND_SOFT_REBOOT and SD_LOGIND_ROOT_CHECK_INHIBITORS, where the
// running systemd has it (probed). Authorised as a reboot
// (authorizeReboot); refused while a block inhibitor is held, naming it.
// The kernel keeps running, so nothing is loaded, and anything the product
// armed or loaded is undone first: a soft restart keeps /run and the boot
// id, and an arm left there would turn the next reboot into a kexec the
// user did not ask for this time.
func (h *Helper) SoftRestart(ctx context.Context, sender string, interactive bool) error {
	h.begin()
	defer h.end()
	uid, err := h.authorizeReboot(ctx, "SoftRestart", sender, interactive)
	if err != nil {
		return err
	}
	if version, err := h.softAvailable(ctx); err != nil {
		h.cfg.Log.Decision("SoftRestart", sender, int64(uid), "", "unavailable: "+err.Error())
		if version == "" {
			version = "?"
		}
		return refuse(busapi.ErrUnavailable, reason.Wrap(reason.SoftUnavailable, version, err))
	}
	bctx, bcancel := context.WithTimeout(ctx, queryTimeout)
	b, err := h.cfg.Logind.ShutdownBlocker(bctx)
	bcancel()
	if err != nil {
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "cannot list inhibitors: "+err.Error(), err))
	}
	if b != nil {
		h.cfg.Log.Decision("SoftRestart", sender, int64(uid), "", "refused: blocked by "+b.Name())
		return refuse(busapi.ErrUnavailable, reason.New(reason.Inhibited, b.Name()))
	}
	if err := h.disarm(); err != nil {
		h.cfg.Log.Decision("SoftRestart", sender, int64(uid), "", "refused: cannot disarm first: "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "cannot disarm Quick Restart first: "+err.Error(), err))
	}
	lctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	h.mu.Lock()
	h.restarting = true
	h.mu.Unlock()
	err = h.cfg.Logind.RebootWithFlags(lctx, logind.FlagRootCheckInhibitors|softreboot.Flag)
	if err != nil {
		h.mu.Lock()
		h.restarting = false
		h.mu.Unlock()
		h.cfg.Log.Decision("SoftRestart", sender, int64(uid), "", "logind refused the soft reboot: "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, "the soft restart was refused: "+err.Error(), err))
	}
	h.cfg.Log.Decision("SoftRestart", sender, int64(uid), "", "restarting userspace")
	return nil
}

// mayChangeCold: root, or polkit allows quick-restart (interactive as the
// caller's message allows). Setting the flag only makes the next restart
// a normal one, but it also disarms another user's Quick Restart, so it
// is allowed to whoever may Disarm it; clearing it lets Quick Restart be
// offered again, which is quick-restart's to allow.
func (h *Helper) mayChangeCold(ctx context.Context, method, sender string, interactive bool) (uint32, error) {
	uid, err := h.callerUID(ctx, method, sender)
	if err != nil {
		return 0, err
	}
	if uid == 0 {
		return 0, nil
	}
	if err := h.cfg.Auth.Check(ctx, sender, busapi.ActionQuickRestart, nil, interactive); err != nil {
		h.cfg.Log.Decision(method, sender, int64(uid), busapi.ActionQuickRestart, "refused: "+err.Error())
		return uid, refuse(authErrName(err), err)
	}
	if err := h.stillThere(ctx, sender, uid); err != nil {
		return uid, err
	}
	return uid, nil
}

// SetColdReboot sets the flag, then disarms: an Arm that starts after the
// flag is written is refused by its preflight, and one in flight is
// cancelled by the disarm.
func (h *Helper) SetColdReboot(ctx context.Context, sender string, interactive bool) error {
	h.begin()
	defer h.end()
	uid, err := h.mayChangeCold(ctx, "SetColdReboot", sender, interactive)
	if err != nil {
		return err
	}
	if err := coldreboot.Set(h.cfg.ArmDir, uid, h.cfg.Now()); err != nil {
		h.cfg.Log.Decision("SetColdReboot", sender, int64(uid), "", "failed: "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, err.Error(), err))
	}
	if err := h.disarm(); err != nil {
		h.cfg.Log.Decision("SetColdReboot", sender, int64(uid), "", "flag set; cannot disarm: "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, fmt.Sprintf("the flag is set but Quick Restart cannot be disarmed: %v", err), err))
	}
	h.cfg.Log.Decision("SetColdReboot", sender, int64(uid), "", "the next restart is a normal one")
	return nil
}

// ClearColdReboot clears the flag (Debian's /no-kexec-reboot is
// kexec-tools' and stays).
func (h *Helper) ClearColdReboot(ctx context.Context, sender string, interactive bool) error {
	h.begin()
	defer h.end()
	uid, err := h.mayChangeCold(ctx, "ClearColdReboot", sender, interactive)
	if err != nil {
		return err
	}
	if err := coldreboot.Clear(h.cfg.ArmDir); err != nil {
		h.cfg.Log.Decision("ClearColdReboot", sender, int64(uid), "", "failed: "+err.Error())
		return refuse(busapi.ErrFailed, reason.Wrap(reason.Internal, err.Error(), err))
	}
	h.cfg.Log.Decision("ClearColdReboot", sender, int64(uid), "", "cleared")
	return nil
}
