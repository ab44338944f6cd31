#!/bin/bash
# The headless GNOME Shell test's outer half, as root on the host:
#   run.sh ROOT BUSDIR OUTDIR [LANG [LOCALEDIR]]
# ROOT is the Debian 13 root from chroot.sh; BUSDIR holds the private system
# bus's socket (system_bus_socket) that the Go test started, with the real
# helper behind it; OUTDIR receives screenshots and logs. Everything is
# mounted in a mount namespace of its own, so nothing stays mounted and the
# cached root is not changed: the extension (this tree's copy, read-only),
# the test scripts, and the administrator's dconf defaults exactly as
# docs/desktops.md gives them (gnome-shell/test/dconf-defaults).
set -euo pipefail
root=$1 busdir=$2 out=$3 lang=${4:-C.UTF-8} localedir=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
uuid=rapidreboot@rapidreboot.github.io
mkdir -p "$out"
for d in out rr-test run tmp root "usr/share/gnome-shell/extensions/$uuid"; do
	[ -d "$root/$d" ] || mkdir -p "$root/$d"
done
# The product's catalogs (make mo) where the package puts them; a
# placeholder file in the root is the mount point.
mos=
if [ -n "$localedir" ]; then
	for mo in "$localedir"/*/LC_MESSAGES/rapidreboot.mo; do
		[ -e "$mo" ] || continue
		l=${mo#"$localedir"/}; l=${l%%/*}
		dst=$root/usr/share/locale/$l/LC_MESSAGES/rapidreboot.mo
		mkdir -p "${dst%/*}"; [ -e "$dst" ] || : >"$dst"
		mos="$mos $mo:$dst"
	done
fi
export root busdir out here uuid lang mos
exec unshare -m --propagation private bash -euc '
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs run "$root/run"
mount -t tmpfs tmp "$root/tmp"
mount -t tmpfs home "$root/root"
mkdir -p "$root/run/rr-system" "$root/run/user/0"
chmod 700 "$root/run/user/0"
mount --bind "$busdir" "$root/run/rr-system"
mount --bind "$out" "$root/out"
mount --bind -o ro "$here" "$root/rr-test"
mount --bind -o ro "$here/../$uuid" "$root/usr/share/gnome-shell/extensions/$uuid"
for m in $mos; do mount --bind -o ro "${m%%:*}" "${m#*:}"; done
mount -t tmpfs dconf "$root/etc/dconf"
mkdir -p "$root/etc/dconf/profile" "$root/etc/dconf/db/local.d"
printf "user-db:user\nsystem-db:local\n" >"$root/etc/dconf/profile/user"
cp "$here/dconf-defaults" "$root/etc/dconf/db/local.d/00-rapidreboot"
chroot "$root" dconf update
exec chroot "$root" env -i HOME=/root XDG_RUNTIME_DIR=/run/user/0 LANG="$lang" \
	PATH=/usr/bin:/bin:/usr/sbin:/sbin \
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/rr-system/system_bus_socket \
	dbus-run-session -- /rr-test/scenario.sh
'
