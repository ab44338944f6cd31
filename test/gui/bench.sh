#!/bin/sh
# Benchmark: the dialog's start (process start -> window mapped) and
# relabel (Shift press -> "Quick Restart" drawn) against lxsession-logout
# (LXDE, GTK 2, C) and zenity --question (GTK 3, C), in one run under one
# Xvfb, with a session bus and its accessibility bus as on a real desktop.
#
#   usage: test/gui/bench.sh BUILD/test/rapidreboot [--rounds N]
#   (the test build, make build-test-dialog: only it writes the trace)
set -eu
bin=$(readlink -f "$1"); shift
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/rr-bench.XXXXXX)
xvfb="" standins=""
cleanup() {
	# The stand-ins stop their buses on EOF, and with them the accessibility
	# bus launcher, an X client: before the X server goes.
	exec 4>&- 2>/dev/null || true
	[ -z "$standins" ] || wait "$standins" 2>/dev/null || true
	[ -z "$xvfb" ] || kill "$xvfb" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Xvfb picks a free display itself and writes its number to fd 3.
Xvfb -displayfd 3 -screen 0 1920x1200x24 -nolisten tcp -noreset 3>"$tmp/display" 2>"$tmp/xvfb.log" &
xvfb=$!
i=0
while [ ! -s "$tmp/display" ]; do
	i=$((i + 1)); [ $i -lt 150 ] || { echo "bench: Xvfb did not start" >&2; cat "$tmp/xvfb.log" >&2; exit 1; }
	sleep 0.1
done
DISPLAY=:$(cat "$tmp/display"); export DISPLAY

# The private buses and the stand-ins for logind and the helper.
(cd "$repo" && go build -o "$tmp/standins" ./test/gui/standins)
mkfifo "$tmp/hold"
"$tmp/standins" <"$tmp/hold" >"$tmp/env" &
standins=$!
exec 4>"$tmp/hold"   # the stand-ins run while this stays open
i=0
while ! grep -q SYSTEM "$tmp/env" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 150 ] || { echo "bench: the stand-ins did not start" >&2; exit 1; }
	sleep 0.1
done
. "$tmp/env"
export DBUS_SESSION_BUS_ADDRESS DBUS_SYSTEM_BUS_ADDRESS
export RAPIDREBOOT_TRACE="$tmp/trace" RAPIDREBOOT_LOCALEDIR="$tmp/no-locale"
export XDG_RUNTIME_DIR="$tmp" HOME="$tmp" LANG=C.UTF-8 GTK_THEME=Adwaita
echo "bench: DISPLAY=$DISPLAY, session and system buses private; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 "$here/bench.py" "$bin" "$@"
