// The extension's decisions, free of GNOME Shell and of GObject, so that
// they run under plain gjs (gnome-shell/test/logic.test.js): which label
// the Restart item shows, what a click means, how a helper's reply or
// refusal reads, and which modifier keys are held.
//
// The names below are the helper's D-Bus API (backend/busapi/busapi.go) and
// reason sentences (backend/reason/reason.go); gnome-shell/extension_test.go
// fails when they drift apart.

export const BUS_NAME = 'io.github.rapidreboot.Helper1';
export const OBJECT_PATH = '/io/github/rapidreboot/Helper1';
export const INTERFACE = 'io.github.rapidreboot.Helper1';
export const ERROR_PREFIX = 'io.github.rapidreboot.Helper1.Error.';
export const PLAN_SIGNATURE = '(ssasssasasbss)';

// Clutter's values (ClutterModifierType, keysyms): fixed by X11's protocol.
export const SHIFT_MASK = 1 << 0;
export const CONTROL_MASK = 1 << 2;
const KEYS = {
    0xffe1: SHIFT_MASK, // Shift_L
    0xffe2: SHIFT_MASK, // Shift_R
    0xffe3: CONTROL_MASK, // Control_L
    0xffe4: CONTROL_MASK, // Control_R
};
export const QUICK_MASK = SHIFT_MASK | CONTROL_MASK;

/** N_ marks a string for xgettext without translating it here. */
export const N_ = s => s;

// The helper's reason codes and their English sentences: msgids of the
// domain rapidreboot, the same strings the dialog translates.
export const REASONS = {
    'no-boot-entries': N_('The boot loader configuration names no kernel that can be started.'),
    'default-not-linux': N_('The default boot entry does not start Linux (%s).'),
    'kernel-missing': N_('No kernel was found in /boot (is /boot mounted?).'),
    'initrd-missing': N_('The kernel %s has no initial RAM disk.'),
    'modules-missing': N_('The modules of kernel %s are not installed.'),
    'initrd-stale': N_('The initial RAM disk of kernel %s is older than the kernel.'),
    'unsafe-file': N_('The boot file %s is not safe to use: it must be a regular file owned by root and writable only by root.'),
    'leaves-boot': N_('The boot file %s points outside /boot.'),
    'too-large': N_('The file %s is too large.'),
    'bad-config': N_('The boot loader configuration cannot be read: %s.'),
    'cmdline-too-long': N_('The kernel command line is longer than this machine allows.'),
    'precondition': N_('Cannot restart into the installed system: %s.'),
    'no-kexec': N_('This kernel cannot start another kernel directly (kexec is not available).'),
    'kexec-disabled': N_('Starting another kernel directly has been switched off on this machine until the next restart.'),
    'lockdown': N_('The kernel is locked down and refuses this kernel image (it is not signed for this machine).'),
    'container': N_('This system runs in a container; only its host can restart the kernel.'),
    'package-manager': N_('Software is being installed or removed (%s). Wait until it has finished.'),
    'inhibited': N_('Restarting is blocked by %s.'),
    'last-kexec-failed': N_('The last Quick Restart did not come up, so Quick Restart is switched off until a normal restart succeeds.'),
    'exitrd': N_('This system needs its shutdown initramfs to finish a restart (root on complex storage), which a Quick Restart would skip.'),
    'image-format': N_('The kernel cannot load this kernel image (unsupported format).'),
    'no-memory': N_('There is not enough free memory to load the new kernel.'),
    'image-too-big': N_('The kernel image or initial RAM disk is too large to load.'),
    'load-failed': N_('The new kernel could not be loaded: %s.'),
    'not-authorized': N_('You are not allowed to use Quick Restart on this computer.'),
    'restart-not-allowed': N_('You are not allowed to restart this computer.'),
    'authentication-required': N_('Authentication is required to restart this computer.'),
    'not-root': N_('This needs to be run as root.'),
    'internal': N_('An internal error occurred: %s.'),
    'cold-reboot': N_('You asked for the next restart to be a normal one, so Quick Restart is not offered until then.'),
    'soft-unavailable': N_('Restarting only the programs needs systemd 254 or newer (this system has %s).'),
    'soft-no-session': N_('Restarting only the programs after logging out needs a login session to follow, and this program runs in none.'),
    'shutting-down': N_('The computer is already restarting or shutting down.'),
    'nvidia-driver': N_('The NVIDIA graphics driver is loaded: after a Quick Restart the screen may stay black. A normal Restart is the safe choice.'),
    'unified-kernel-image': N_('The kernel %s is a unified kernel image, which Quick Restart cannot start. Use a normal Restart.'),
};

/**
 * The sentence for a reason code, as backend/reason.Sentence renders it:
 * translated with tr, %s filled with detail ("?" when missing); an unknown
 * code (from a newer helper) still gives a sentence.
 *
 * @param {function(string): string} tr - gettext
 * @param {string} code - reason code
 * @param {string} detail - the sentence's argument
 * @returns {string}
 */
export function sentence(tr, code, detail) {
    const t = Object.hasOwn(REASONS, code) ? REASONS[code] : null;
    if (t === null) {
        if (detail)
            return tr(N_('Quick Restart is not possible: %s.')).replace('%s', detail);
        return tr(N_('Quick Restart is not possible.'));
    }
    const s = tr(t);
    return s.includes('%s') ? s.replace('%s', detail || '?') : s;
}

/**
 * The plan from GetPlan's or Arm's reply, unpacked ((ssasssasasbss)).
 *
 * @param {Array} fields - the reply's structure, deep-unpacked
 * @returns {{version: string, available: boolean, reason: string, detail: string}}
 */
export function planFromReply(fields) {
    if (!Array.isArray(fields) || fields.length !== 10)
        return {version: '', available: false, reason: 'internal', detail: 'unexpected reply from the helper'};
    return {
        version: String(fields[1]),
        available: fields[7] === true,
        reason: fields[7] === true ? '' : String(fields[8] || 'internal'),
        detail: String(fields[9] ?? ''),
    };
}

/**
 * A refusal or failure as a plan that is not available, as
 * backend/busapi's asCallError reads it: the helper's errors carry
 * (message, code, detail); anyone else's (no helper installed, bus gone)
 * keep the bus's words as the detail of "internal".
 *
 * @param {string} name - D-Bus error name
 * @param {Array} body - the error's body, deep-unpacked ([] when none)
 * @returns {{version: string, available: boolean, reason: string, detail: string}}
 */
export function planFromError(name, body) {
    body = Array.isArray(body) ? body : [];
    const msg = typeof body[0] === 'string' ? body[0] : '';
    let code = typeof body[1] === 'string' && body[1] ? body[1] : 'internal';
    let detail = typeof body[2] === 'string' ? body[2] : '';
    if (code === 'internal' && name === ERROR_PREFIX + 'NotAuthorized')
        code = 'not-authorized';
    else if (code === 'internal' && name === ERROR_PREFIX + 'AuthenticationRequired')
        code = 'authentication-required';
    else if (!name.startsWith(ERROR_PREFIX) && !detail)
        detail = msg || name;
    return {version: '', available: false, reason: code, detail};
}

/**
 * Which of Shift and Ctrl are held, from key events: the event's state is
 * the one before the event, so a press or release of a modifier key itself
 * is counted here. Both Shift keys held and one released still reads as
 * held. reset() takes the state read when the menu opens (key already down).
 */
export class ModifierTracker {
    constructor() {
        this.reset(0);
    }

    /** @param {number} mask - modifier state now (e.g. global.get_pointer()[2]) */
    reset(mask) {
        this._down = new Set();
        // Held before we watched: which key is unknown; its release clears it.
        this._early = mask & QUICK_MASK;
    }

    /**
     * @param {boolean} press - key press (true) or release (false)
     * @param {number} keyval - the key's symbol
     * @param {number} state - the event's modifier state (before the event)
     * @returns {boolean} whether Quick Restart's keys are held now
     */
    key(press, keyval, state) {
        const m = KEYS[keyval];
        if (m !== undefined) {
            if (press) {
                this._down.add(keyval);
            } else {
                this._down.delete(keyval);
                this._early &= ~m;
            }
        } else {
            // Any other key's state tells what is held now; a modifier
            // released while we did not see it (focus elsewhere) is gone.
            this._early = state & QUICK_MASK & ~this._downMask();
        }
        return this.held;
    }

    _downMask() {
        let m = 0;
        for (const k of this._down)
            m |= KEYS[k];
        return m;
    }

    get held() {
        return (this._downMask() | this._early) !== 0;
    }
}

/**
 * What the Restart item shows.
 *
 * @param {boolean} held - Shift or Ctrl held
 * @param {?{available: boolean, reason: string, detail: string}} plan - the
 *   helper's last answer; null while it has not answered
 * @param {function(string): string} tr - gettext of the domain rapidreboot
 * @returns {{quick: boolean, label: ?string, why: ?string}} label: the
 *   Restart item's text, null for GNOME's own "Restart…" (untouched); why:
 *   a line telling why Quick Restart is impossible, or null
 */
export function view(held, plan, tr) {
    if (!held)
        return {quick: false, label: null, why: null};
    if (plan && !plan.available) {
        return {
            quick: false,
            label: null,
            why: tr(N_('Quick Restart is not possible: %s')).replace('%s',
                sentence(tr, plan.reason, plan.detail)),
        };
    }
    // TRANSLATORS: GNOME Shell's Restart… item in the Power Off menu, while Shift or Ctrl is held.
    return {quick: true, label: tr(N_('Quick Restart…')), why: null};
}

/**
 * Whether a click on the Restart item is a Quick Restart: exactly when the
 * click's own event carries Shift or Ctrl and the label drawn for that
 * state is Quick Restart (with Quick Restart impossible, the item reads
 * "Restart…" and is one).
 *
 * @param {number} state - the click event's modifier state
 * @param {?object} plan - as for view()
 * @returns {boolean}
 */
export function clickIsQuick(state, plan) {
    return view((state & QUICK_MASK) !== 0, plan, s => s).quick;
}

/**
 * Whether Quick Restart is on offer: the power submenu is open, Shift or
 * Ctrl is held, and the helper's last answer says Quick Restart is
 * possible (before its first answer nothing is offered to prepare for).
 *
 * @param {boolean} open - the system menu and its power submenu are open
 * @param {boolean} held - Shift or Ctrl held
 * @param {?object} plan - as for view()
 * @returns {boolean}
 */
export function onOffer(open, held, plan) {
    return open && plan?.available === true && view(held, plan, N_).quick;
}

/**
 * When to call the helper's Prepare and Unprepare (issue 16; the dialog's
 * ui/control/prepare.go): Prepare once when Quick Restart comes on offer,
 * however many key events come while it stays on offer; Unprepare when the
 * offer ends without a Quick Restart click (the key released, the menu
 * closed); nothing after such a click, whose Arm takes the prepared kernel
 * over.
 */
export class PrepareTracker {
    constructor() {
        this._on = false;
        this._prepared = false;
    }

    /**
     * @param {boolean} on - onOffer() now
     * @returns {?string} the helper's method to call: 'Prepare',
     *   'Unprepare', or null for none
     */
    offer(on) {
        if (on === this._on)
            return null;
        this._on = on;
        if (on) {
            this._prepared = true;
            return 'Prepare';
        }
        if (!this._prepared)
            return null;
        this._prepared = false;
        return 'Unprepare';
    }

    /** A Quick Restart click: its Arm takes the prepared kernel over. */
    clicked() {
        this._prepared = false;
    }
}

/**
 * What a session-manager or logind signal means for an armed Quick Restart
 * (docs/dialog.md, "When a Quick Restart is cancelled").
 *
 * @param {string} iface - the signal's interface
 * @param {string} member - the signal's name
 * @param {Array} args - its arguments, deep-unpacked
 * @returns {string} 'proceeds', 'cancelled' or '' (no news)
 */
export function restartNews(iface, member, args) {
    switch (iface + '.' + member) {
    case 'org.freedesktop.login1.Manager.PrepareForShutdown':
        return args?.[0] === true ? 'proceeds' : '';
    case 'org.gnome.SessionManager.SessionOver':
        return 'proceeds';
    case 'org.gnome.SessionManager.EndSessionDialog.Canceled':
    case 'org.gnome.SessionManager.SessionRunning':
        return 'cancelled';
    default:
        return '';
    }
}

/** Seconds a requested Quick Restart may take to begin before it is disarmed (the dialog's quick-restart-grace). */
export const GRACE_SECONDS = 90;
