#!/usr/bin/python3
"""Start and reaction times of rapidreboot's dialog against two peers, under
one X server, in one run, rounds interleaved (see bench.sh, which sets up
Xvfb and the buses).

  map    process start -> its first top-level window is mapped
         (MapNotify on the root window, SubstructureNotifyMask)
  relabel  XTest Shift press -> the first damage (X DAMAGE extension, on
         the root window) after it: "Restart" redrawn as "Quick Restart"
  tab    XTest Tab press -> the first damage after it (the focus
         moving to the next button): the same "react to a key and draw"
         path for every program, since the peers have no Shift relabel

Times are CLOCK_MONOTONIC in this process. Medians are printed with the
ratio of rapidreboot's to each peer's.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

from Xlib import X, XK, display
from Xlib.ext import damage, xtest  # noqa: F401  (registers the extensions)

PROGRAMS = {
    "rapidreboot": None,  # the path is given on the command line
    "lxsession-logout": ["lxsession-logout"],
    "zenity": ["zenity", "--question", "--title=Shut Down", "--text=What do you want to do?"],
}


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class X11:
    def __init__(self):
        self.d = display.Display()
        self.root = self.d.screen().root
        self.root.change_attributes(event_mask=X.SubstructureNotifyMask)
        if not self.d.has_extension("DAMAGE"):
            sys.exit("the X server has no DAMAGE extension")
        self.d.damage_query_version()
        self.damage_event = self.d.extension_event.DamageNotify
        self.d.sync()

    def drain(self):
        while self.d.pending_events():
            self.d.next_event()

    def next_event(self, deadline):
        """The next event, or None at the deadline (monotonic seconds)."""
        while True:
            if self.d.pending_events():
                return self.d.next_event()
            left = deadline - now()
            if left <= 0:
                return None
            import select
            select.select([self.d.fileno()], [], [], min(left, 0.05))

    def wait_map(self, deadline):
        while True:
            ev = self.next_event(deadline)
            if ev is None:
                return None, None
            if ev.type == X.MapNotify and ev.event == self.root and not getattr(ev, "override", 0):
                return now(), ev.window

    def quiet(self, dmg, quiet_for, deadline):
        """Waits until the window has not been drawn for quiet_for seconds."""
        last = now()
        while now() < deadline:
            ev = self.next_event(min(deadline, last + quiet_for))
            if ev is None:
                if now() - last >= quiet_for:
                    return True
                continue
            if ev.type == self.damage_event and ev.damage == dmg:
                last = now()
                self.d.damage_subtract(dmg)
                self.d.flush()
        return False

    def key_to_damage(self, dmg, keysym, deadline):
        """Presses keysym; returns seconds to the first damage, and releases."""
        code = self.d.keysym_to_keycode(keysym)
        self.d.damage_subtract(dmg)
        self.d.sync()
        self.drain()
        t0 = now()
        xtest.fake_input(self.d, X.KeyPress, code)
        self.d.flush()
        took = None
        while True:
            ev = self.next_event(deadline)
            if ev is None:
                break
            if ev.type == self.damage_event and ev.damage == dmg:
                took = now() - t0
                break
        xtest.fake_input(self.d, X.KeyRelease, code)
        self.d.sync()
        return took


def traced(env, what, after):
    """The dialog's own CLOCK_MONOTONIC time of a trace line after a moment."""
    path = env.get("RAPIDREBOOT_TRACE")
    if not path:
        return None
    try:
        with open(path) as f:
            for line in f:
                ns, _, text = line.partition(" ")
                if text.startswith(what) and int(ns) / 1e9 >= after:
                    return int(ns) / 1e9
    except OSError:
        return None
    return None


def one_run(x, name, argv, env, measure_relabel):
    if measure_relabel and env.get("RAPIDREBOOT_TRACE"):
        open(env["RAPIDREBOOT_TRACE"], "w").close()
    x.drain()
    t0 = now()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    res = {}
    try:
        t_map, win = x.wait_map(t0 + 20)
        if t_map is None:
            print("  %s: no window within 20 s" % name, file=sys.stderr)
            return res
        res["map"] = t_map - t0
        # The client may map more than one window (lxsession-logout first
        # maps its dimmed backdrop); the reaction is measured on the window
        # with the focus, which is the dialog.
        time.sleep(0.4)
        x.drain()
        focus = x.d.get_input_focus().focus
        target = win
        if focus not in (X.NONE, X.PointerRoot) and hasattr(focus, "id"):
            target = focus
        # Give the keyboard to the dialog (no window manager here).
        x.d.set_input_focus(target, X.RevertToParent, X.CurrentTime)
        x.d.sync()
        # Damage on the root window sees every window's drawing (children,
        # GTK 2's own subwindows): one measure for all programs. Nothing
        # else draws on this Xvfb.
        dmg = x.root.damage_create(damage.DamageReportNonEmpty)
        x.d.sync()
        if not x.quiet(dmg, 0.3, now() + 10):
            print("  %s: window never stopped redrawing" % name, file=sys.stderr)
        if measure_relabel:
            t_press = now()
            took = x.key_to_damage(dmg, XK.string_to_keysym("Shift_L"), now() + 5)
            if took is not None:
                res["relabel"] = took
            x.quiet(dmg, 0.2, now() + 5)
            drawn = traced(env, "drawn quick", t_press)
            if drawn is not None:
                res["traced"] = drawn - t_press
        took = x.key_to_damage(dmg, XK.string_to_keysym("Tab"), now() + 1)
        if took is not None:
            res["tab"] = took
        x.d.damage_destroy(dmg)
        x.d.sync()
    finally:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rapidreboot", help="path of the rapidreboot binary")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    progs = dict(PROGRAMS)
    progs["rapidreboot"] = [os.path.abspath(args.rapidreboot)]
    for name, argv in progs.items():
        if subprocess.call(["sh", "-c", "command -v %s >/dev/null" % argv[0]]) != 0:
            sys.exit("bench: %s is not installed (scripts/deps/gui.txt)" % argv[0])
    env = dict(os.environ)
    x = X11()
    results = {n: {"map": [], "relabel": [], "tab": [], "traced": []} for n in progs}
    # One warm-up round: page cache, the accessibility bus, font caches.
    for name, argv in progs.items():
        one_run(x, name, argv, env, name == "rapidreboot")
    for r in range(args.rounds):
        for name, argv in progs.items():
            res = one_run(x, name, argv, env, name == "rapidreboot")
            for k, v in res.items():
                results[name][k].append(v)
        print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)

    def med(name, k):
        v = results[name][k]
        return statistics.median(v) * 1000 if v else None

    print()
    print("medians of %d interleaved rounds, milliseconds (n = samples)" % args.rounds)
    print("%-18s %10s %10s %10s" % ("program", "map", "relabel", "tab"))
    for name in progs:
        row = []
        for k in ("map", "relabel", "tab"):
            m = med(name, k)
            row.append("%7.1f/%-2d" % (m, len(results[name][k])) if m is not None else "%10s" % "-")
        print("%-18s %s" % (name, " ".join(row)))
    print()
    ours = med("rapidreboot", "map")
    for peer in ("lxsession-logout", "zenity"):
        theirs = med(peer, "map")
        if ours and theirs:
            print("map ratio rapidreboot/%s: %.2f" % (peer, ours / theirs))
    for peer in ("lxsession-logout", "zenity"):
        a, b = med("rapidreboot", "tab"), med(peer, "tab")
        if a and b:
            print("key-to-draw ratio rapidreboot/%s (Tab): %.2f" % (peer, a / b))
    rel = med("rapidreboot", "relabel")
    traced_ms = med("rapidreboot", "traced")
    if traced_ms is not None:
        print("relabel as the dialog's trace sees it (Shift press to after-paint of the new label): %.1f ms median" % traced_ms)
    if rel is not None:
        print("relabel (Shift to Quick Restart drawn): %.1f ms median, max %.1f ms, one frame = 16.7 ms: %s" % (
            rel, max(results["rapidreboot"]["relabel"]) * 1000, "within" if rel <= 16.7 else "OVER"))
    x.d.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
