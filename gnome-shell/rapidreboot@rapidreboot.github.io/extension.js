// rapidreboot's door in GNOME Shell's system menu: while Shift or Ctrl is
// held, the power submenu's "Restart…" reads "Quick Restart…"; a click arms
// the helper (polkit may ask) and then asks gnome-session to restart, so
// GNOME's own end-session dialog asks the user once and applications may
// save. A cancel there disarms. While Quick Restart is on offer the helper
// prepares (loads the kernel unarmed), so the click's Arm only writes the
// arm. The decisions live in quickrestart.js.
//
// GNOME Shell 45 and later (ES modules). The menu is GNOME's; this file only
// relabels its Restart item and adds one insensitive line under it when
// Quick Restart is impossible, and puts everything back on disable.

import Clutter from 'gi://Clutter';
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Pango from 'gi://Pango';

import * as LoginManager from 'resource:///org/gnome/shell/misc/loginManager.js';
import * as Main from 'resource:///org/gnome/shell/ui/main.js';
import * as PopupMenu from 'resource:///org/gnome/shell/ui/popupMenu.js';
import {Extension, gettext as _} from 'resource:///org/gnome/shell/extensions/extension.js';

import * as L from './quickrestart.js';

const SM_NAME = 'org.gnome.SessionManager';
const SM_PATH = '/org/gnome/SessionManager';
const DIALOG_PATH = '/org/gnome/SessionManager/EndSessionDialog';
const DIALOG_IFACE = 'org.gnome.SessionManager.EndSessionDialog';
const LOGIND_NAME = 'org.freedesktop.login1';
const LOGIND_IFACE = 'org.freedesktop.login1.Manager';
const CALL_TIMEOUT_MS = 25000;
// Arm may wait for the user to type a password into polkit's dialog.
const ARM_TIMEOUT_MS = 5 * 60 * 1000;
// Prepare loads the kernel: seconds under emulation (as the dialog's).
const PREPARE_TIMEOUT_MS = 60000;
// How long the system menu may take to appear after enable (panel.js
// creates its indicators asynchronously).
const FIND_TRIES = 50;

/**
 * Calls one of the helper's methods on the system bus and resolves with the
 * plan (or null for Disarm). The reply is read as a message, not through
 * Gio's call(): a GError keeps only an error's first string, and the helper's
 * refusals carry the reason code in the second (backend/busapi).
 */
function callHelper(method, interactive, timeout, cancellable) {
    const msg = Gio.DBusMessage.new_method_call(L.BUS_NAME, L.OBJECT_PATH, L.INTERFACE, method);
    if (interactive)
        msg.set_flags(Gio.DBusMessageFlags.ALLOW_INTERACTIVE_AUTHORIZATION);
    return new Promise((resolve, reject) => {
        Gio.DBus.system.send_message_with_reply(msg, Gio.DBusSendMessageFlags.NONE,
            timeout, cancellable, (conn, res) => {
                let reply;
                try {
                    reply = conn.send_message_with_reply_finish(res);
                } catch (e) {
                    reject(e);
                    return;
                }
                const body = reply.get_body()?.deepUnpack() ?? [];
                if (reply.get_message_type() === Gio.DBusMessageType.ERROR)
                    resolve(L.planFromError(reply.get_error_name() ?? '', body));
                else if (method === 'Disarm' || method === 'Unprepare')
                    resolve(null);
                else
                    resolve(L.planFromReply(body[0]));
            });
    });
}

let watching = null;

// The helper's Prepare and Unprepare, one after the other, each sent after
// the last one's reply: an Unprepare that overtook its Prepare (still
// being authorised) would find nothing to unload, and the kernel would stay
// loaded until the helper's bound (3 min); the Shell never leaves the bus.
// Never awaited by the shell; failures are only logged (the click's Arm
// loads when nothing is prepared).
let preparing = Promise.resolve();

function prepareCall(method) {
    if (!method)
        return;
    preparing = preparing.then(() => callHelper(method, false,
        method === 'Prepare' ? PREPARE_TIMEOUT_MS : CALL_TIMEOUT_MS, null)).then(res => {
        // Where polkit would ask for a password nothing is prepared;
        // the click asks.
        if (res && !res.available && res.reason !== 'authentication-required')
            console.log(`rapidreboot: ${method}: ${L.sentence(s => s, res.reason, res.detail)}`);
    }).catch(e => console.log(`rapidreboot: ${method}: ${e.message}`));
}

export default class RapidrebootExtension extends Extension {
    enable() {
        this._tracker = new L.ModifierTracker();
        this._prep = new L.PrepareTracker();
        this._plan = null;
        this._cancellable = new Gio.Cancellable();
        this._findTries = 0;
        this._findMenu();
    }

    disable() {
        // The lock screen disables extensions; a Quick Restart already
        // requested stays watched (RestartWatch is not ours to stop), so
        // only the menu is put back.
        if (this._findId) {
            GLib.source_remove(this._findId);
            this._findId = 0;
        }
        this._cancellable?.cancel();
        this._cancellable = null;
        prepareCall(this._prep?.offer(false));
        this._unhook();
        this._tracker = null;
        this._prep = null;
        this._plan = null;
    }

    // The power submenu is built by panel.js's async _setupIndicators:
    // wait for it rather than fail when enabled early at start-up.
    _findMenu() {
        const menu = Main.panel.statusArea.quickSettings?._system?._systemItem?.menu;
        const item = menu ? this._restartItem(menu) : null;
        if (item) {
            this._hook(menu, item);
            return;
        }
        if (++this._findTries > FIND_TRIES) {
            console.warn('rapidreboot: the system menu\'s Restart item was not found; Quick Restart is not offered there');
            return;
        }
        this._findId = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 200, () => {
            this._findId = 0;
            this._findMenu();
            return GLib.SOURCE_REMOVE;
        });
    }

    // GNOME's Restart item is the one labelled with gnome-shell's own
    // translation of "Restart…" (system.js: _addSystemAction(_('Restart…'))).
    _restartItem(menu) {
        const want = GLib.dgettext('gnome-shell', 'Restart…');
        return menu._getMenuItems().find(i => i instanceof PopupMenu.PopupMenuItem &&
            i.label?.text === want) ?? null;
    }

    _hook(menu, item) {
        this._menu = menu;
        this._item = item;
        this._origLabel = item.label.text;
        this._origActivate = Object.hasOwn(item, 'activate') ? item.activate : undefined;

        // One insensitive line under Restart…, shown only while the keys are
        // held and Quick Restart is impossible.
        this._why = new PopupMenu.PopupMenuItem('', {reactive: false, can_focus: false});
        this._why.label.clutter_text.set({line_wrap: true, ellipsize: Pango.EllipsizeMode.NONE});
        this._why.add_style_class_name('rapidreboot-why');
        this._why.visible = false;
        const items = menu._getMenuItems();
        menu.addMenuItem(this._why, items.indexOf(item) + 1);

        // The click decides by its own event's state (as the dialog does).
        item.activate = event => this._activate(event);

        // The open menus hold the keyboard: the quick settings menu, and
        // the power submenu its own grab inside it (QuickToggleMenu), so
        // key events, bare modifier presses included, reach only actors
        // under that grab. Seeing the same event twice does no harm.
        const top = Main.panel.statusArea.quickSettings.menu;
        this._top = top;
        this._keyIds = [top.actor, menu.actor].map(a =>
            [a, a.connect('captured-event', (_a, ev) => this._onEvent(ev))]);
        this._openIds = [top, menu].map(m => [m, m.connect('open-state-changed', (_m, open) => {
            if (open)
                this._onOpen();
            else
                this._refresh();
        })]);
        if (menu.isOpen)
            this._onOpen();
    }

    _unhook() {
        if (!this._item)
            return;
        for (const [a, id] of this._keyIds ?? [])
            a.disconnect(id);
        for (const [m, id] of this._openIds ?? [])
            m.disconnect(id);
        if (this._origActivate === undefined)
            delete this._item.activate;
        else
            this._item.activate = this._origActivate;
        this._item.label.text = this._origLabel;
        this._why.destroy();
        this._why = null;
        this._item = null;
        this._menu = null;
        this._top = null;
        this._keyIds = null;
        this._openIds = null;
    }

    _onOpen() {
        // The key may already be down when the menu opens.
        const [, , mods] = global.get_pointer();
        this._tracker.reset(mods);
        this._refresh();
        this._askPlan();
    }

    _onEvent(ev) {
        const type = ev.type();
        if (type === Clutter.EventType.KEY_PRESS || type === Clutter.EventType.KEY_RELEASE) {
            this._tracker.key(type === Clutter.EventType.KEY_PRESS,
                ev.get_key_symbol(), ev.get_state());
            this._refresh();
        }
        return Clutter.EVENT_PROPAGATE;
    }

    _askPlan() {
        const cancellable = this._cancellable;
        callHelper('GetPlan', false, CALL_TIMEOUT_MS, cancellable).then(plan => {
            if (cancellable.is_cancelled())
                return;
            this._plan = plan;
            this._refresh();
        }).catch(e => {
            if (cancellable.is_cancelled())
                return;
            this._plan = L.planFromError('', [e.message]);
            this._refresh();
        });
    }

    _refresh() {
        if (!this._item)
            return;
        const v = L.view(this._tracker.held, this._plan, _);
        this._item.label.text = v.label ?? this._origLabel;
        this._why.label.text = v.why ?? '';
        this._why.visible = v.why !== null;
        prepareCall(this._prep.offer(L.onOffer(this._top.isOpen && this._menu.isOpen,
            this._tracker.held, this._plan)));
    }

    _activate(event) {
        // Without an event (a gesture that calls activate() outside event
        // dispatch), the state drawn is the state clicked.
        const state = event ? event.get_state() : (this._tracker.held ? L.SHIFT_MASK : 0);
        if (!L.clickIsQuick(state, this._plan)) {
            this._origActivateCall(event);
            return;
        }
        this._prep.clicked();
        Main.panel.closeQuickSettings();
        this._quickRestart().catch(e => logError(e, 'rapidreboot: Quick Restart'));
    }

    _origActivateCall(event) {
        if (this._origActivate)
            this._origActivate.call(this._item, event);
        else
            PopupMenu.PopupMenuItem.prototype.activate.call(this._item, event);
    }

    // Arm, then gnome-session's Reboot (GNOME's end-session dialog asks the
    // user; applications may inhibit and save). Watch for the outcome: a
    // cancel anywhere, a failure, or nothing within the grace period disarms.
    async _quickRestart() {
        const plan = await callHelper('Arm', true, ARM_TIMEOUT_MS, null).catch(e =>
            L.planFromError('', [e.message]));
        if (!plan.available) {
            Main.notify(_('Quick Restart is not possible: %s').replace('%s',
                L.sentence(_, plan.reason, plan.detail)));
            return;
        }
        // One requested Quick Restart is watched at a time.
        watching?.stop();
        const watch = new RestartWatch(() => this._disarm());
        watching = watch;
        try {
            await new Promise((resolve, reject) => {
                // No timeout: the real gnome-session answers Reboot only
                // once its end-session dialog is over (60 s countdown), and
                // D-Bus's default 25 s ended the call first — the guest's
                // GNOME 48 on 2026-12-03: "Timeout was reached", disarmed,
                // then GNOME's firmware restart. RestartWatch bounds the wait.
                Gio.DBus.session.call(SM_NAME, SM_PATH, SM_NAME, 'Reboot', null, null,
                    Gio.DBusCallFlags.NONE, GLib.MAXINT32, null, (conn, res) => {
                        try {
                            conn.call_finish(res);
                            resolve();
                        } catch (e) {
                            reject(e);
                        }
                    });
            });
        } catch (e) {
            watch.stop();
            logError(e, 'rapidreboot: gnome-session Reboot');
            await this._disarm();
        }
    }

    async _disarm() {
        let res;
        try {
            res = await callHelper('Disarm', false, CALL_TIMEOUT_MS, null);
        } catch (e) {
            res = L.planFromError('', [e.message]);
        }
        if (res === null) {
            Main.notify(_('Quick Restart was cancelled. The next restart will be a normal one.'));
        } else {
            Main.notify(_('Quick Restart was cancelled. The next restart will be a normal one.'),
                _('Undoing the preparation failed (%s), so the next restart may still skip the firmware.').replace('%s',
                    L.sentence(_, res.reason, res.detail)));
        }
    }
}

/**
 * Watches one requested Quick Restart until it proceeds (SessionOver,
 * logind's PrepareForShutdown(true)) or is cancelled (the end-session
 * dialog's Canceled, gnome-session's SessionRunning) or the grace period
 * ends; calls onCancel once in the last two cases. It lives outside the
 * extension object so that a disable (the screen locking while the dialog
 * is up) does not drop an armed restart unwatched.
 *
 * Also cancelled: the end-session dialog's "Boot Options" (Alt held on its
 * Restart), which asks logind for the boot menu through the Shell's
 * LoginManager and then confirms a reboot: an arm left in place would kexec
 * past the very menu the user asked for.
 */
class RestartWatch {
    constructor(onCancel) {
        this._onCancel = onCancel;
        this._login = LoginManager.getLoginManager();
        const own = Object.hasOwn(this._login, 'setRebootToBootLoaderMenu');
        const orig = this._login.setRebootToBootLoaderMenu;
        this._restoreLogin = () => {
            if (own)
                this._login.setRebootToBootLoaderMenu = orig;
            else
                delete this._login.setRebootToBootLoaderMenu;
        };
        this._login.setRebootToBootLoaderMenu = (...args) => {
            this._end(true);
            return orig.apply(this._login, args);
        };
        this._subs = [
            [Gio.DBus.session, Gio.DBus.session.signal_subscribe(null, DIALOG_IFACE, 'Canceled',
                DIALOG_PATH, null, Gio.DBusSignalFlags.NONE, this._signal.bind(this))],
            [Gio.DBus.session, Gio.DBus.session.signal_subscribe(SM_NAME, SM_NAME, null,
                SM_PATH, null, Gio.DBusSignalFlags.NONE, this._signal.bind(this))],
            [Gio.DBus.system, Gio.DBus.system.signal_subscribe(LOGIND_NAME, LOGIND_IFACE,
                'PrepareForShutdown', '/org/freedesktop/login1', null, Gio.DBusSignalFlags.NONE,
                this._signal.bind(this))],
        ];
        this._timer = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, L.GRACE_SECONDS, () => {
            this._timer = 0;
            this._end(true);
            return GLib.SOURCE_REMOVE;
        });
    }

    _signal(conn, sender, path, iface, member, params) {
        const news = L.restartNews(iface, member, params?.deepUnpack() ?? []);
        if (news)
            this._end(news === 'cancelled');
    }

    _end(cancelled) {
        this.stop();
        if (cancelled)
            this._onCancel();
    }

    stop() {
        this._restoreLogin?.();
        this._restoreLogin = null;
        for (const [conn, id] of this._subs)
            conn.signal_unsubscribe(id);
        this._subs = [];
        if (this._timer)
            GLib.source_remove(this._timer);
        this._timer = 0;
    }
}
