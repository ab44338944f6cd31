// Tests of the extension's logic module under plain gjs (no GNOME Shell):
//   gjs -m gnome-shell/test/logic.test.js
// Prints one line per test and exits 1 when any fails.
import System from 'system';
import * as L from '../rapidreboot@rapidreboot.github.io/quickrestart.js';

const SHIFT_L = 0xffe1, SHIFT_R = 0xffe2, CTRL_L = 0xffe3, CTRL_R = 0xffe4, KEY_A = 0x61;
const tr = s => s;
const de = s => ({
    'Quick Restart…': 'Schneller Neustart …',
    'Quick Restart is not possible: %s': 'Schneller Neustart ist nicht möglich: %s',
    'Restarting is blocked by %s.': 'Der Neustart wird von %s blockiert.',
}[s] ?? s);
let failed = 0;

function eq(got, want, what) {
    const g = JSON.stringify(got), w = JSON.stringify(want);
    if (g !== w)
        throw new Error(`${what}: got ${g}, want ${w}`);
}

function test(name, fn) {
    try {
        fn();
        print(`ok   ${name}`);
    } catch (e) {
        failed++;
        print(`FAIL ${name}: ${e.message}`);
    }
}

const avail = {available: true, reason: '', detail: ''};
const blocked = {available: false, reason: 'inhibited', detail: 'Text Editor'};

test('view: label per key state and plan', () => {
    const cases = [
        // held, plan, want
        [false, null, {quick: false, label: null, why: null}],
        [false, avail, {quick: false, label: null, why: null}],
        [false, blocked, {quick: false, label: null, why: null}],
        [true, null, {quick: true, label: 'Quick Restart…', why: null}],
        [true, avail, {quick: true, label: 'Quick Restart…', why: null}],
        [true, blocked, {quick: false, label: null,
            why: 'Quick Restart is not possible: Restarting is blocked by Text Editor.'}],
    ];
    for (const [held, plan, want] of cases)
        eq(L.view(held, plan, tr), want, `view(${held}, ${JSON.stringify(plan)})`);
});

test('view: translated through the given gettext', () => {
    eq(L.view(true, avail, de).label, 'Schneller Neustart …', 'label');
    eq(L.view(true, blocked, de).why,
        'Schneller Neustart ist nicht möglich: Der Neustart wird von Text Editor blockiert.', 'why');
});

test('clickIsQuick: the click event\'s own state decides', () => {
    const cases = [
        [0, avail, false],
        [L.SHIFT_MASK, avail, true],
        [L.CONTROL_MASK, avail, true],
        [L.SHIFT_MASK | L.CONTROL_MASK, null, true],
        [1 << 3 /* Alt */, avail, false],
        [L.SHIFT_MASK, blocked, false], // drawn as "Restart…": a normal restart
    ];
    for (const [state, plan, want] of cases)
        eq(L.clickIsQuick(state, plan), want, `clickIsQuick(${state}, ${JSON.stringify(plan)})`);
});

test('sentence: every code, detail filled, unknown codes', () => {
    for (const [code, t] of Object.entries(L.REASONS)) {
        const s = L.sentence(tr, code, 'X');
        if (s.includes('%s'))
            throw new Error(`${code}: ${s}`);
        eq(s, t.replace('%s', 'X'), code);
    }
    eq(L.sentence(tr, 'inhibited', ''), 'Restarting is blocked by ?.', 'missing detail');
    eq(L.sentence(tr, 'from-a-newer-helper', 'why'), 'Quick Restart is not possible: why.', 'unknown code');
    eq(L.sentence(tr, 'from-a-newer-helper', ''), 'Quick Restart is not possible.', 'unknown code, no detail');
    eq(L.sentence(tr, 'toString', ''), 'Quick Restart is not possible.', 'no prototype lookups');
});

test('planFromReply: GetPlan and Arm replies', () => {
    eq(L.planFromReply(['/boot/vmlinuz-6.12', '6.12.1', [], '', '', [], [], true, '', '']),
        {version: '6.12.1', available: true, reason: '', detail: ''}, 'available');
    eq(L.planFromReply(['', '', [], '', '', [], [], false, 'package-manager', 'apt']),
        {version: '', available: false, reason: 'package-manager', detail: 'apt'}, 'unavailable');
    eq(L.planFromReply(['', '', [], '', '', [], [], false, '', '']).reason, 'internal', 'unavailable without code');
    eq(L.planFromReply(['short']).available, false, 'malformed');
    eq(L.planFromReply(null).available, false, 'null');
});

test('planFromError: the helper\'s errors and the bus\'s', () => {
    const P = L.ERROR_PREFIX;
    const cases = [
        [`${P}Unavailable`, ['Quick Restart is blocked', 'inhibited', 'Text Editor'], 'inhibited', 'Text Editor'],
        [`${P}NotAuthorized`, ['no'], 'not-authorized', ''],
        [`${P}NotAuthorized`, ['no', 'restart-not-allowed', ''], 'restart-not-allowed', ''],
        [`${P}AuthenticationRequired`, [], 'authentication-required', ''],
        [`${P}Failed`, ['load failed', 'load-failed', 'EPERM'], 'load-failed', 'EPERM'],
        ['org.freedesktop.DBus.Error.ServiceUnknown', ['The name is not activatable'], 'internal', 'The name is not activatable'],
        ['org.freedesktop.DBus.Error.NoReply', null, 'internal', 'org.freedesktop.DBus.Error.NoReply'],
    ];
    for (const [name, body, code, detail] of cases) {
        const p = L.planFromError(name, body);
        eq([p.available, p.reason, p.detail], [false, code, detail], name);
    }
});

test('ModifierTracker: press, release, both Shift keys, held before the menu opened', () => {
    const t = new L.ModifierTracker();
    eq(t.held, false, 'start');
    eq(t.key(true, SHIFT_L, 0), true, 'Shift_L down');
    eq(t.key(true, SHIFT_R, L.SHIFT_MASK), true, 'Shift_R down too');
    eq(t.key(false, SHIFT_L, L.SHIFT_MASK), true, 'Shift_L up, Shift_R still down');
    eq(t.key(false, SHIFT_R, L.SHIFT_MASK), false, 'both up');
    eq(t.key(true, CTRL_R, 0), true, 'Ctrl_R down');
    eq(t.key(false, CTRL_R, L.CONTROL_MASK), false, 'Ctrl_R up');
    eq(t.key(true, KEY_A, 0), false, 'a letter');

    t.reset(L.SHIFT_MASK); // menu opened with Shift already down
    eq(t.held, true, 'held at open');
    eq(t.key(true, KEY_A, L.SHIFT_MASK), true, 'a letter with Shift');
    eq(t.key(false, SHIFT_R, L.SHIFT_MASK), false, 'released');

    t.reset(L.CONTROL_MASK | L.SHIFT_MASK);
    eq(t.key(false, CTRL_L, L.CONTROL_MASK | L.SHIFT_MASK), true, 'Ctrl up, Shift still down');
    eq(t.key(false, SHIFT_L, L.SHIFT_MASK), false, 'Shift up');

    t.reset(L.SHIFT_MASK);
    eq(t.key(true, KEY_A, 0), false, 'released unseen: the next key\'s state tells');
    t.reset(1 << 3);
    eq(t.held, false, 'Alt alone is not Quick Restart');
});

test('onOffer: the menu open, the key held, the helper\'s yes', () => {
    const cases = [
        // open, held, plan, want
        [true, true, avail, true],
        [false, true, avail, false], // menu closed
        [true, false, avail, false], // no key
        [true, true, null, false], // the helper has not answered yet
        [true, true, blocked, false], // drawn as "Restart…"
    ];
    for (const [open, held, plan, want] of cases)
        eq(L.onOffer(open, held, plan), want, `onOffer(${open}, ${held}, ${JSON.stringify(plan)})`);
});

test('PrepareTracker: Prepare once per offer, Unprepare when it ends without a click', () => {
    const t = new L.PrepareTracker();
    eq(t.offer(false), null, 'nothing on offer');
    eq(t.offer(true), 'Prepare', 'Shift down: on offer');
    for (let i = 0; i < 5; i++)
        eq(t.offer(true), null, `key event ${i} while held`);
    eq(t.offer(false), 'Unprepare', 'Shift up');
    eq(t.offer(false), null, 'the menu closed afterwards');
    eq(t.offer(true), 'Prepare', 'on offer again');
    eq(t.offer(false), 'Unprepare', 'menu closed with the key down');

    // A Quick Restart click: its Arm takes the prepared kernel over.
    eq(t.offer(true), 'Prepare', 'on offer');
    t.clicked();
    eq(t.offer(true), null, 'a key event before the menu closes');
    eq(t.offer(false), null, 'the click closed the menu');
    eq(t.offer(true), 'Prepare', 'the next offer prepares again');

    // A click with nothing on offer (the helper had not answered).
    const u = new L.PrepareTracker();
    u.clicked();
    eq(u.offer(false), null, 'closed after a click without an offer');
});

test('restartNews: what proceeds, what cancels', () => {
    const cases = [
        ['org.freedesktop.login1.Manager', 'PrepareForShutdown', [true], 'proceeds'],
        ['org.freedesktop.login1.Manager', 'PrepareForShutdown', [false], ''],
        ['org.gnome.SessionManager', 'SessionOver', [], 'proceeds'],
        ['org.gnome.SessionManager', 'SessionRunning', [], 'cancelled'],
        ['org.gnome.SessionManager.EndSessionDialog', 'Canceled', [], 'cancelled'],
        ['org.gnome.SessionManager.EndSessionDialog', 'ConfirmedReboot', [], ''],
        ['org.gnome.SessionManager.EndSessionDialog', 'Closed', [], ''],
    ];
    for (const [iface, member, args, want] of cases)
        eq(L.restartNews(iface, member, args), want, `${iface}.${member}`);
});

if (failed) {
    print(`${failed} failed`);
    System.exit(1);
}
