// GnomeSessionStandIn: a stand-in for gnome-session on the private session
// bus of the headless GNOME Shell test — NOT gnome-session. It owns
// org.gnome.SessionManager and does what gnome-session does for a restart
// up to the point of ending the session: Reboot() asks the Shell's
// end-session dialog to open (Open(RESTART, …)), and the dialog's answer is
// recorded. It never ends anything. Every call and answer is appended, one
// a line, to the file named by its first argument.
//
//   gjs -m sm-standin.js /out/sm.log SHELL_MAJOR
// It speaks the session manager API of the Shell's version: GNOME 50 asks
// CanShutdown and CanReboot for an availability (u), earlier ones
// CanShutdown for a boolean.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';

const [logPath, major] = ARGV;
const v50 = Number(major) >= 50;
const AVAILABLE = 3; // GNOME 50's GnomeSession.ActionAvailability.AVAILABLE
const loop = new GLib.MainLoop(null, false);

function record(line) {
    const f = Gio.File.new_for_path(logPath);
    const s = f.append_to(Gio.FileCreateFlags.NONE, null);
    s.write_all(`${line}\n`, null);
    s.close(null);
}

const iface = `<node><interface name="org.gnome.SessionManager">
  <method name="Reboot"/>
  <method name="Shutdown"/>
  <method name="Logout"><arg type="u" direction="in"/></method>
  <method name="CanShutdown"><arg type="${v50 ? 'u' : 'b'}" direction="out"/></method>
  <method name="CanReboot"><arg type="u" direction="out"/></method>
  <method name="IsSessionRunning"><arg type="b" direction="out"/></method>
  <method name="IsInhibited"><arg type="u" direction="in"/><arg type="b" direction="out"/></method>
  <property name="SessionIsActive" type="b" access="read"/>
  <method name="StandInEmit"><arg type="s" direction="in"/></method>
  <signal name="SessionRunning"/>
  <signal name="SessionOver"/>
</interface></node>`;

const RESTART = 2; // gnome-session's GSM_SHELL_END_SESSION_DIALOG_TYPE_RESTART
let impl;

const service = {
    Reboot() {
        record('Reboot');
        Gio.DBus.session.call('org.gnome.Shell', '/org/gnome/SessionManager/EndSessionDialog',
            'org.gnome.SessionManager.EndSessionDialog', 'Open',
            new GLib.Variant('(uuuao)', [RESTART, 0, 60, []]), null, Gio.DBusCallFlags.NONE, -1, null,
            (conn, res) => {
                try {
                    conn.call_finish(res);
                    record('dialog opened');
                } catch (e) {
                    record(`dialog failed: ${e.message}`);
                }
            });
    },
    Shutdown() {
        record('Shutdown');
    },
    Logout(mode) {
        record(`Logout ${mode}`);
    },
    // The test's control (not gnome-session's API): emit one of
    // gnome-session's signals, e.g. SessionRunning as gnome-session does
    // when it goes back to running after its prompt was cancelled.
    StandInEmit(name) {
        record(`emit ${name}`);
        impl.emit_signal(name, null);
    },
    CanShutdown() {
        return v50 ? AVAILABLE : true;
    },
    CanReboot() {
        return AVAILABLE;
    },
    IsSessionRunning() {
        return true;
    },
    IsInhibited() {
        return false;
    },
    get SessionIsActive() {
        return true;
    },
};

Gio.DBus.session.signal_subscribe(null, 'org.gnome.SessionManager.EndSessionDialog', null,
    '/org/gnome/SessionManager/EndSessionDialog', null, Gio.DBusSignalFlags.NONE,
    (conn, sender, path, ifaceName, member) => {
        record(`dialog ${member}`);
        // gnome-session ends the session after a confirmation: say so, as
        // it does (it would then ask logind to reboot; this stand-in stops).
        if (member === 'ConfirmedReboot')
            impl.emit_signal('SessionOver', null);
    });

impl = Gio.DBusExportedObject.wrapJSObject(iface, service);
impl.export(Gio.DBus.session, '/org/gnome/SessionManager');
Gio.bus_own_name(Gio.BusType.SESSION, 'org.gnome.SessionManager', Gio.BusNameOwnerFlags.NONE,
    null, () => record('ready'), () => {
        record('name lost');
        System.exit(1);
    });
loop.run();
