#!/bin/bash
# Runs inside the Debian 13 root under dbus-run-session (see run.sh): the
# real GNOME Shell 48, headless, with the extension installed and enabled
# the way docs/desktops.md tells an administrator; GnomeSessionStandIn on
# the session bus; the helper's API on the private system bus the Go test
# started (DBUS_SYSTEM_BUS_ADDRESS). Drives the system menu with Clutter
# virtual input devices, reads it back through Shell's Eval, saves
# screenshots to /out. Prints "STEP name: result" lines; "FAIL" on the
# first wrong answer (exit 1). The Go test (shell_test.go) reads /out and
# the helper's side (what was loaded and unloaded).
#
# Handshake with the Go test through files in /run/rr-system (the bus's
# directory, shared): "phase-N" written here, "go-N" written there.
set -u
uuid=rapidreboot@rapidreboot.github.io
out=/out
sync=/run/rr-system
mkdir -p "$out"

# fail also ends the script from inside $(...) (the subshell's exit would not).
fail() {
	{ echo "FAIL $*"; echo "--- shell log"; tail -40 "$out/shell.log"; } >&2
	kill -TERM $$
	exit 1
}
step() { echo "STEP $*"; }

# ev JS: Shell's Eval; prints the JSON result, fails on an exception.
ev() {
	local r
	r=$(gdbus call --session -d org.gnome.Shell -o /org/gnome/Shell -m org.gnome.Shell.Eval "$1" 2>&1) || fail "Eval: $r"
	case $r in
	"(true, "*) r=${r#(true, \'}; r=${r%\')}; r=${r#\"}; r=${r%\"}; printf '%s\n' "$r" ;;
	*) fail "Eval of [$1]: $r" ;;
	esac
}

# waitfor JS WANT: polls (10 s) until ev JS prints WANT.
waitfor() {
	local got i
	for i in $(seq 100); do
		got=$(ev "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	fail "waited for [$1] = $2, got $got; modifiers, key focus, grab: $(ev "[global.get_pointer()[2], String(global.stage.get_key_focus()), String(global.stage.get_grab_actor())]")"
}

shot() {
	gdbus call --session -d org.gnome.Shell.Screenshot -o /org/gnome/Shell/Screenshot \
		-m org.gnome.Shell.Screenshot.Screenshot false false "$out/$1.png" >/dev/null ||
		fail "screenshot $1"
	step "screenshot $1.png"
}

phase() {
	: >"$sync/phase-$1"
	for i in $(seq 300); do [ -e "$sync/go-$1" ] && return 0; sleep 0.1; done
	fail "the Go test did not answer phase $1"
}

major=$(gnome-shell --version | sed -n 's/^GNOME Shell \([0-9]*\).*/\1/p')
gjs -m /rr-test/sm-standin.js "$out/sm.log" "$major" &
for i in $(seq 100); do grep -q ready "$out/sm.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$out/sm.log" || fail "GnomeSessionStandIn did not start"

t0=$(date +%s.%N)
gnome-shell --headless --wayland --no-x11 --virtual-monitor 1280x800 --unsafe-mode >"$out/shell.log" 2>&1 &
shell=$!
for i in $(seq 300); do
	r=$(gdbus call --session -d org.gnome.Shell -o /org/gnome/Shell -m org.gnome.Shell.Eval 'Main.layoutManager._startingUp === false' 2>/dev/null) &&
		[ "$r" = "(true, 'true')" ] && break
	kill -0 $shell 2>/dev/null || fail "gnome-shell exited"
	sleep 0.2
done
step "shell up in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s: $(gnome-shell --version)"

# The extension, enabled by the dconf defaults only (no user setting).
waitfor "Main.extensionManager.lookup('$uuid')?.state" 1
step "extension enabled by the dconf defaults: $(gnome-extensions info $uuid | tr '\n' ' ')"

# Test handles: virtual keyboard and pointer, the power submenu, its items.
ev "(async () => {
  const Clutter = (await import('gi://Clutter')).default;
  const seat = Clutter.get_default_backend().get_default_seat();
  const kb = seat.create_virtual_device(Clutter.InputDeviceType.KEYBOARD_DEVICE);
  const ptr = seat.create_virtual_device(Clutter.InputDeviceType.POINTER_DEVICE);
  const now = () => GLib.get_monotonic_time();
  const qs = Main.panel.statusArea.quickSettings;
  const menu = () => qs._system._systemItem.menu;
  const items = () => menu()._getMenuItems().filter(i => i.visible && i.label);
  const K = {Shift_L: Clutter.KEY_Shift_L, Shift_R: Clutter.KEY_Shift_R, Control_L: Clutter.KEY_Control_L, Escape: Clutter.KEY_Escape};
  globalThis.rr = {
    key(name, down) { kb.notify_keyval(now(), K[name], down ? Clutter.KeyState.PRESSED : Clutter.KeyState.RELEASED); },
    open() { qs.menu.open(false); menu().open(false); return menu().isOpen; },
    close() { qs.menu.close(false); return qs.menu.isOpen; },
    items,
    labels() { return items().map(i => i.label.text).filter(t => t).join('|'); },
    insensitive() { return items().filter(i => !i.reactive).map(i => i.label.text).filter(t => t).join('|'); },
    // A press, and the release a moment later.
    click(text) {
      const it = items().find(i => i.label.text === text);
      if (!it) throw new Error('no item ' + text);
      rr.clickActor(it);
      return true;
    },
    clickActor(a) {
      const [x, y] = a.get_transformed_position();
      const [w, h] = a.get_transformed_size();
      // Moved there twice: on GNOME 50.5 the first absolute motion lands
      // at the right x but y = 0 (the panel), the second where asked.
      ptr.notify_absolute_motion(now(), x + w / 2, y + h / 2);
      GLib.timeout_add(GLib.PRIORITY_DEFAULT, 30, () => {
        ptr.notify_absolute_motion(now(), x + w / 2 + 1, y + h / 2);
        return GLib.SOURCE_REMOVE;
      });
      GLib.timeout_add(GLib.PRIORITY_DEFAULT, 100, () => {
        ptr.notify_button(now(), Clutter.BUTTON_PRIMARY, Clutter.ButtonState.PRESSED);
        return GLib.SOURCE_REMOVE;
      });
      GLib.timeout_add(GLib.PRIORITY_DEFAULT, 200, () => {
        ptr.notify_button(now(), Clutter.BUTTON_PRIMARY, Clutter.ButtonState.RELEASED);
        return GLib.SOURCE_REMOVE;
      });
    },
    findButton(text) {
      const find = a => {
        if (a.mapped && a.reactive && a.label === text) return a;
        for (const c of a.get_children()) { const r = find(c); if (r) return r; }
        return null;
      };
      return find(Main.layoutManager.modalDialogGroup);
    },
    hasButton(text) { return rr.findButton(text) !== null; },
    clickButton(text) {
      const b = rr.findButton(text);
      if (!b) throw new Error('no button ' + text);
      rr.clickActor(b);
      return true;
    },
  };
  return true;
})()" >/dev/null

# GNOME's items around Restart… here (no Suspend or Switch User without
# logind and other users).
rest='Power Off…|Log Out…'
R='Restart…'
Q='Quick Restart…'
# In another language (run.sh's LANG): GNOME's own words from gnome-shell's
# catalog, ours from the product's (/usr/share/locale/*/rapidreboot.mo).
if [ "${LANG%%.*}" != C ]; then
	R=$(gettext -d gnome-shell 'Restart…')
	Q=$(gettext -d rapidreboot 'Quick Restart…')
	rest="$(gettext -d gnome-shell 'Power Off…')|$(gettext -d gnome-shell 'Log Out…')"
	[ "$Q" != 'Quick Restart…' ] || fail "no $LANG translation of Quick Restart… (make mo)"
fi
menu_is() { waitfor "rr.labels()" "$1"; step "menu: $1"; }

# 1. No key: GNOME's own item. Shift down: Quick Restart; up: back. Ctrl too.
[ "$(ev 'rr.open()')" = true ] || fail "power submenu did not open"
menu_is "$R|$rest"
shot 1-menu-no-key
ev "rr.key('Shift_L', true)" >/dev/null
menu_is "$Q|$rest"
shot 2-menu-shift-held
ev "rr.key('Shift_L', false)" >/dev/null
menu_is "$R|$rest"
ev "rr.key('Control_L', true)" >/dev/null
menu_is "$Q|$rest"
ev "rr.key('Control_L', false)" >/dev/null
# Both Shift keys: releasing one keeps Quick Restart.
ev "rr.key('Shift_L', true)" >/dev/null; ev "rr.key('Shift_R', true)" >/dev/null
ev "rr.key('Shift_L', false)" >/dev/null
sleep 0.3
menu_is "$Q|$rest"
ev "rr.key('Shift_R', false)" >/dev/null
menu_is "$R|$rest"
ev 'rr.close()' >/dev/null

# 2. Shift already down when the menu opens.
ev "rr.key('Shift_L', true)" >/dev/null
sleep 0.3
ev 'rr.open()' >/dev/null
menu_is "$Q|$rest"
ev "rr.key('Shift_L', false)" >/dev/null
menu_is "$R|$rest"
ev 'rr.close()' >/dev/null

# 2b. Prepared while on offer: Shift held in the open menu → the helper's
#     Prepare (the kernel loaded, not armed), once however many key events
#     come while it stays on offer; the menu closed without a click →
#     Unprepare (unloaded). The Go test reads the helper's side.
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
menu_is "$Q|$rest"
phase prepared # the Go test checks: prepared (loaded, not armed)
ev "rr.key('Shift_R', true)" >/dev/null; ev "rr.key('Shift_R', false)" >/dev/null
ev "rr.key('Control_L', true)" >/dev/null; ev "rr.key('Control_L', false)" >/dev/null
menu_is "$Q|$rest"
ev 'rr.close()' >/dev/null
ev "rr.key('Shift_L', false)" >/dev/null
phase unprepared # the Go test checks: no second Prepare, unprepared (unloaded)
step "prepared while Quick Restart was on offer, unprepared when the menu closed (the Go side checks the helper)"

# 3. Quick Restart impossible (the Go test adds a logind block inhibitor):
#    Restart… stays, a line says why.
phase 1
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
if [ "${LANG%%.*}" = C ]; then
	why="Quick Restart is not possible: $(cat "$sync/why")"
else
	# why-template: the reason's msgid; why-detail: its argument.
	sentence=$(printf "$(gettext -d rapidreboot "$(cat "$sync/why-template")")" "$(cat "$sync/why-detail")")
	why=$(printf "$(gettext -d rapidreboot 'Quick Restart is not possible: %s')" "$sentence")
fi
waitfor "rr.labels()" "$R|$why|$rest"
step "menu: $R|$why|$rest"
[ "$(ev 'rr.insensitive()')" = "$why" ] || fail "the reason line is not insensitive: $(ev 'rr.insensitive()')"
shot 3-menu-shift-held-unavailable
ev "rr.key('Shift_L', false)" >/dev/null
menu_is "$R|$rest"
ev 'rr.close()' >/dev/null
if [ "${LANG%%.*}" != C ]; then
	echo "DONE"
	kill $shell
	exit 0
fi

# 4. Shift+click: Arm (the kernel prepared when Quick Restart… appeared,
#    so the Arm loads nothing more), then GNOME's end-session dialog through
#    the session manager; Escape cancels it; the extension disarms.
phase 2
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
menu_is "$Q|$rest"
step "clicking at $(ev "(() => { const it = rr.items().find(i => i.label.text === '$Q'); return [...it.get_transformed_position(), ...it.get_transformed_size()].map(Math.round).join(','); })()")"
shot 4-before-click
ev "rr.click('$Q')" >/dev/null
sleep 0.5
ev "rr.key('Shift_L', false)" >/dev/null
# The dialog is there when its Restart button is (the Open call's reply
# does not come back in this headless Shell; the dialog is up regardless).
waitfor "rr.hasButton('Restart')" true
grep -q "^Reboot" "$out/sm.log" || fail "the session manager was not asked to Reboot: $(cat "$out/sm.log")"
step "end-session dialog opened by the session manager after Reboot: $(tr '\n' ',' <"$out/sm.log")"
sleep 1
shot 5-end-session-dialog
phase 3 # the Go test checks: armed
# The Shell's own notices about this odd session (root, no GDM) would hide
# ours in the screenshot: dismissed first.
ev "Main.messageTray.getSources().forEach(s => s.destroy()), true" >/dev/null
ev "rr.key('Escape', true)" >/dev/null; ev "rr.key('Escape', false)" >/dev/null
for i in $(seq 100); do grep -q "dialog Canceled" "$out/sm.log" && break; sleep 0.1; done
grep -q "dialog Canceled" "$out/sm.log" || fail "the dialog was not cancelled: $(cat "$out/sm.log")"
step "dialog cancelled with Escape"
waitfor "Main.messageTray.getSources().some(s => s.notifications.some(n => n.title === '$(gettext -d rapidreboot 'Quick Restart was cancelled. The next restart will be a normal one.')'))" true
step "notification: Quick Restart was cancelled. The next restart will be a normal one."
sleep 1.5
shot 6-after-cancel
phase 4 # the Go test checks: disarmed, unloaded

# 5. Shift+click, then the dialog's "Boot Options" (Alt on Restart): the
#    dialog asks the Shell's LoginManager for the boot menu before it
#    confirms. This Shell has no logind, so the dialog offers no Boot
#    Options: the same call is made through Eval. Then Escape closes it.
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
menu_is "$Q|$rest"
ev "rr.click('$Q')" >/dev/null
sleep 0.5
ev "rr.key('Shift_L', false)" >/dev/null
waitfor "rr.hasButton('Restart')" true
phase 6 # the Go test checks: armed
ev "(async () => { (await import('resource:///org/gnome/shell/misc/loginManager.js')).getLoginManager().setRebootToBootLoaderMenu(); return true; })()" >/dev/null
phase 7 # the Go test checks: disarmed
ev "rr.key('Escape', true)" >/dev/null; ev "rr.key('Escape', false)" >/dev/null
waitfor "rr.hasButton('Restart')" false
step "boot menu asked for in the dialog (the Go side checks the disarm)"

# 6. Shift+click, then gnome-session goes back to running (as after its
#    "some programs are still running" prompt was cancelled): disarmed.
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
menu_is "$Q|$rest"
ev "rr.click('$Q')" >/dev/null
sleep 0.5
ev "rr.key('Shift_L', false)" >/dev/null
waitfor "rr.hasButton('Restart')" true
phase 8 # the Go test checks: armed
gdbus call --session -d org.gnome.SessionManager -o /org/gnome/SessionManager \
	-m org.gnome.SessionManager.StandInEmit SessionRunning >/dev/null || fail "StandInEmit"
phase 9 # the Go test checks: disarmed
ev "rr.key('Escape', true)" >/dev/null; ev "rr.key('Escape', false)" >/dev/null
waitfor "rr.hasButton('Restart')" false
step "gnome-session back to running (SessionRunning) (the Go side checks the disarm)"

# 7. Shift+click, then the dialog's Restart: the arm stays for the reboot.
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
menu_is "$Q|$rest"
ev "rr.click('$Q')" >/dev/null
sleep 0.5
ev "rr.key('Shift_L', false)" >/dev/null
waitfor "rr.hasButton('Restart')" true
[ "$(grep -c "^Reboot" "$out/sm.log")" = 4 ] || fail "the session manager was not asked to Reboot again: $(cat "$out/sm.log")"
sleep 1
# The dialog's own Restart button, clicked with the pointer.
ev "rr.clickButton('Restart')" >/dev/null
for i in $(seq 50); do grep -q "dialog ConfirmedReboot" "$out/sm.log" && break; sleep 0.1; done
grep -q "dialog ConfirmedReboot" "$out/sm.log" || fail "the dialog was not confirmed: $(cat "$out/sm.log")"
step "dialog confirmed"
phase 5 # the Go test checks: still armed, no disarm

# 8. Disable restores GNOME's item.
gnome-extensions disable $uuid
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
sleep 0.5
menu_is "$R|$rest"
ev "rr.key('Shift_L', false)" >/dev/null
step "disabled: Restart… untouched with Shift held"
ev 'rr.close()' >/dev/null

# 9. The user's one command (docs/desktops.md) turns it back on.
gnome-extensions enable $uuid
waitfor "Main.extensionManager.lookup('$uuid')?.state" 1
ev 'rr.open()' >/dev/null
ev "rr.key('Shift_L', true)" >/dev/null
menu_is "$Q|$rest"
ev "rr.key('Shift_L', false)" >/dev/null
step "gnome-extensions enable: Quick Restart… again"
echo "DONE"
kill $shell
