package helper

import (
	"context"
	"errors"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/arming"
)

// Prepare and Unprepare (issue 16, "Faster than a bare kexec";
// docs/reboot-design.md §9).
//
// The dialog calls Prepare when it offers Quick Restart, before any click,
// so that the kernel is loaded while the user reads the dialog; the click's
// Arm then only writes the arm. Prepare is Arm without the arm:
//
//   - authorised exactly like Arm (the same polkit actions, logind's own
//     reboot actions, the same subject), but never interactive: a caller
//     polkit would ask for a password gets AuthenticationRequired and
//     nothing is loaded (a dialog that merely opened must not raise a
//     password prompt);
//   - the same refusals (preflight, lockdown, the coldreboot flag, no
//     plan), each before anything is loaded;
//   - arming.Load: the pending mark, the loaded mark, the load. The image
//     is the product's from the first moment, so the shutdown hook unloads
//     it on both verbs (issue 15) — it has no arm — and so does the next
//     start (Restore).
//
// One prepared image at a time, recorded with who prepared it (unique bus
// name and uid) and what was loaded (arming.Loaded: the plan and the
// files' identities). An Arm from the same caller whose plan and files are
// still those finds it and writes the arm only; any other Arm or Prepare
// loads its own, replacing it. Nothing stays loaded unarmed by accident:
// the image is unloaded when its caller leaves the bus (Config.WatchCaller),
// on the caller's Unprepare, after PrepareTTL, when a Disarm comes, or at
// the helper's next start.

// PrepareTTL bounds how long a prepared image stays loaded without an arm:
// long enough for a person to read the dialog and decide (the dialog's own
// Quick Restart grace is 60 s; most decide in seconds), short enough that
// a dialog left open over lunch does not keep 40 MB of kernel memory
// pinned. A dialog still open afterwards loads again at the click.
const PrepareTTL = 3 * time.Minute

// prepared is the image Prepare loaded and nobody armed yet.
type prepared struct {
	id     uint64
	loaded *arming.Loaded
	sender string
	uid    uint32
	timer  *time.Timer
	stop   func() // ends the watch on the caller
}

// errNotPrepared is what Unprepare logs when the caller has no prepared
// image (none, another caller's, or already armed): nothing was changed.
var errNotPrepared = errors.New("nothing prepared by this caller")

// Prepare authorises sender without interaction, then loads the plan
// without arming (arming.Load). It returns the plan as Arm does.
func (h *Helper) Prepare(ctx context.Context, sender string) (busapi.Plan, error) {
	h.begin()
	defer h.end()
	uid, err := h.authorize(ctx, "Prepare", sender, false)
	if err != nil {
		return busapi.Plan{}, err
	}
	plan, err := h.prepareFor(uid, sender)
	if err != nil {
		h.cfg.Log.Decision("Prepare", sender, int64(uid), "", "failed: "+err.Error())
	} else {
		h.cfg.Log.Decision("Prepare", sender, int64(uid), "", "loaded, not armed: Linux "+plan.Version+" ("+plan.Kernel+")")
	}
	return plan, err
}

// prepareFor runs in the ticket queue, after any Arm or Disarm asked
// before it.
func (h *Helper) prepareFor(uid uint32, sender string) (busapi.Plan, error) {
	h.mu.Lock()
	gen := h.gen
	t := h.ticketLocked()
	h.mu.Unlock()
	h.waitTurn(t)
	defer h.doneTurn()

	if h.cancelled(gen) {
		return busapi.Plan{}, refuse(busapi.ErrFailed, reason.Wrap(reason.LoadFailed, "cancelled", errCancelled))
	}
	if cur := h.current(); cur != nil {
		// Already armed: an Arm renews that one; an unarmed image must
		// never replace an armed one.
		prep := h.mech.Prepare(context.Background(), arming.Via{SessionManager: true, UID: uid})
		return wireOf(prep), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()

	h.mu.Lock()
	old := h.prep
	h.mu.Unlock()
	var prev *arming.Loaded
	if old != nil && old.sender == sender && old.uid == uid {
		prev = old.loaded
	}
	// Prepare comes from the dialog and the GNOME extension, whose restart
	// is asked of the caller's own session manager.
	l, prep, err := h.mech.Load(ctx, prev, arming.Via{SessionManager: true, UID: uid})
	if err != nil {
		// A load that failed was undone by arming; a refusal changed
		// nothing, so an earlier prepared image is still loaded: drop it,
		// the plan it was for is not available now.
		h.dropPreparedNow("a new Prepare was refused")
		var ue *arming.UnavailableError
		if errors.As(err, &ue) {
			return busapi.Plan{}, refuse(busapi.ErrUnavailable, ue.Err)
		}
		return busapi.Plan{}, refuse(busapi.ErrFailed, err)
	}
	if old != nil && old.loaded == l {
		// The same caller, the same plan and files: only the clock restarts.
		h.mu.Lock()
		if old.timer != nil {
			old.timer.Reset(h.prepareTTL)
		}
		h.mu.Unlock()
		return wireOf(prep), nil
	}
	// Another image (or none) was there before: it is replaced.
	h.forgetPrepared()
	p := &prepared{loaded: l, sender: sender, uid: uid}
	h.mu.Lock()
	h.prepSeq++
	p.id = h.prepSeq
	h.prep = p
	h.mu.Unlock()

	// Watch first, then ask: a caller that leaves between the two is seen
	// by one or the other.
	if h.cfg.WatchCaller != nil {
		stop, werr := h.cfg.WatchCaller(context.Background(), sender, func() { h.dropPrepared(p.id, "its caller left the bus") })
		if werr != nil {
			h.cfg.Log.Warning("cannot watch %s; its prepared kernel is unloaded after %s at the latest: %v", sender, h.prepareTTL, werr)
		} else {
			h.mu.Lock()
			p.stop = stop
			h.mu.Unlock()
		}
	}
	if err := h.stillThere(context.Background(), sender, uid); err != nil {
		h.dropPreparedNow("its caller left the bus")
		return busapi.Plan{}, err
	}
	h.mu.Lock()
	if h.prep == p {
		ttl := h.prepareTTL
		p.timer = time.AfterFunc(ttl, func() { h.dropPrepared(p.id, "it was not armed within "+ttl.String()) })
	}
	h.mu.Unlock()
	return wireOf(prep), nil
}

// Unprepare unloads the image sender prepared, if it is still loaded and
// not armed: the dialog's Cancel and close. It needs no polkit question —
// the unique bus name is the bus daemon's, nobody can send under another's
// — and it touches nothing else: not an arm (Disarm's business), not
// another caller's image, not root's.
func (h *Helper) Unprepare(ctx context.Context, sender string) error {
	h.begin()
	defer h.end()
	// In its turn: a Prepare of this caller still loading is finished
	// first, then undone.
	defer h.takeTurn()()
	p := h.prepared()
	if p == nil || p.sender != sender || h.current() != nil {
		h.cfg.Log.Decision("Unprepare", sender, -1, "", "nothing to do: "+errNotPrepared.Error())
		return nil
	}
	h.dropPreparedNow("its caller asked")
	h.cfg.Log.Decision("Unprepare", sender, int64(p.uid), "", "unloaded")
	return nil
}

// preparedFor returns the prepared image when sender with uid prepared it.
func (h *Helper) preparedFor(sender string, uid uint32) *arming.Loaded {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.prep; p != nil && p.sender == sender && p.uid == uid {
		return p.loaded
	}
	return nil
}

// dropPrepared unloads the prepared image id in its turn, if it is still
// the prepared one and nothing is armed. It reports whether it dropped it.
func (h *Helper) dropPrepared(id uint64, why string) bool {
	defer h.takeTurn()()
	p := h.prepared()
	if p == nil || p.id != id || h.current() != nil {
		return false
	}
	h.dropPreparedNow(why)
	return true
}

// dropPreparedNow, in the caller's turn: arming's Disarm (the product's
// image, the loaded and pending marks; a failed unload keeps the loaded
// mark for the hook) and the record forgotten. Nothing is armed here.
func (h *Helper) dropPreparedNow(why string) {
	h.mu.Lock()
	p := h.prep
	h.mu.Unlock()
	if p == nil {
		return
	}
	// Forgotten last, so that Prepared turns false only once it is done.
	defer h.forgetPrepared()
	if h.current() != nil {
		return
	}
	if err := h.mech.Disarm(); err != nil {
		h.cfg.Log.Err("cannot unload the prepared Linux %s (%s): %v", p.loaded.Plan.Version, why, err)
		return
	}
	h.cfg.Log.Notice("unloaded the prepared Linux %s: %s", p.loaded.Plan.Version, why)
}

// forgetPrepared drops the record (its timer and watch), not the image:
// the image was armed, replaced or unloaded by the caller.
func (h *Helper) forgetPrepared() {
	h.mu.Lock()
	p := h.prep
	h.prep = nil
	h.mu.Unlock()
	if p == nil {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.stop != nil {
		p.stop()
	}
}

// Prepared reports whether an image is loaded by Prepare and not armed
// (tests, and Idle: the helper stays while one is, to unload it).
func (h *Helper) Prepared() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.prep != nil
}

// takeTurn waits for this call's turn in the helper's queue (Arm, Disarm,
// Prepare and the drops run one at a time, in arrival order) and returns
// the function that ends it.
func (h *Helper) takeTurn() (done func()) {
	h.mu.Lock()
	t := h.ticketLocked()
	h.mu.Unlock()
	h.waitTurn(t)
	return h.doneTurn
}

// prepared is the image a caller prepared, or nil.
func (h *Helper) prepared() *prepared {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.prep
}
