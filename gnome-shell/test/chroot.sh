#!/bin/bash
# Builds (once) a Debian root with GNOME Shell under the cache, for the
# extension's headless test (gnome-shell/test/run.sh):
#   chroot.sh [SUITE]    trixie (Debian 13, GNOME 48; the default) or another
#                        Debian suite (forky: Debian's testing)
# debootstrap into a folder only: this machine's apt sources are never
# touched (BRIEF rule 7). Prints the root's path. Rebuilt when the suite,
# the package list or `layout` change; an older root of the suite is removed.
set -euo pipefail
suite=${1:-trixie}
cache=${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/gnome-shell
mirror=${RAPIDREBOOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# debootstrap 1.0.128 (Debian 12) knows trixie; later suites use sid's script.
script=
[ -e "/usr/share/debootstrap/scripts/$suite" ] || script=/usr/share/debootstrap/scripts/sid
pkgs="gnome-shell dconf-cli gjs dbus-daemon dbus-bin libglib2.0-bin libgl1-mesa-dri fonts-cantarell gettext-base locales"
layout=1 # bump when the build steps below change
key=$(echo "$suite $pkgs $layout" | sha256sum | cut -c1-12)
root=$cache/$suite-$key
log() { echo "gnome-shell chroot: $*" >&2; }
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ -e "$root/.done" ]; then echo "$root"; exit 0; fi
rm -rf "$root"
for old in "$cache/$suite"-*; do [ -d "$old" ] && rm -rf "$old"; done
t0=$(date +%s)
log "debootstrap $suite into $root (log: $cache/build-$suite.log)"
debootstrap --variant=minbase "$suite" "$root" "$mirror" $script >"$cache/build-$suite.log" 2>&1 ||
	{ tail -20 "$cache/build-$suite.log" >&2; exit 1; }
t1=$(date +%s)
log "debootstrap: $((t1 - t0)) s; installing $pkgs"
mount -t proc proc "$root/proc"
trap 'umount "$root/proc"' EXIT
printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
# The archive this machine reaches may serve a testing suite whose Release
# file has passed its Valid-Until (a frozen mirror); its signature is still
# checked.
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Check-Valid-Until=false update >>"$cache/build-$suite.log" 2>&1
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install $pkgs >>"$cache/build-$suite.log" 2>&1 ||
	{ tail -20 "$cache/build-$suite.log" >&2; exit 1; }
sed -i 's/^# *\(de_DE.UTF-8\)/\1/' "$root/etc/locale.gen"
chroot "$root" locale-gen >>"$cache/build-$suite.log" 2>&1
chroot "$root" apt-get clean
t2=$(date +%s)
log "packages: $((t2 - t1)) s; gnome-shell $(chroot "$root" dpkg-query -W -f '${Version}' gnome-shell)"
touch "$root/.done"
echo "$root"
