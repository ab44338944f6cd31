#!/bin/bash
# Builds (once) a Debian 13 root with GNOME Shell 48 under the cache, for the
# extension's headless test (test/gnome-shell/run.sh). debootstrap into a
# folder only: this machine's apt sources are never touched (BRIEF rule 7).
# Prints the root's path. Rebuilt when this file changes.
set -euo pipefail
cache=${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/gnome-shell
mirror=${RAPIDREBOOT_TRIXIE_MIRROR:-http://deb.debian.org/debian}
pkgs="gnome-shell dconf-cli gjs dbus-daemon dbus-bin libglib2.0-bin libgl1-mesa-dri fonts-cantarell gettext-base locales"
key=$(cat "$0" | sha256sum | cut -c1-12)
root=$cache/trixie-$key
log() { echo "gnome-shell chroot: $*" >&2; }
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ -e "$root/.done" ]; then echo "$root"; exit 0; fi
rm -rf "$root"
t0=$(date +%s)
log "debootstrap trixie into $root (log: $cache/build.log)"
debootstrap --variant=minbase trixie "$root" "$mirror" >"$cache/build.log" 2>&1 ||
	{ tail -20 "$cache/build.log" >&2; exit 1; }
t1=$(date +%s)
log "debootstrap: $((t1 - t0)) s; installing $pkgs"
mount -t proc proc "$root/proc"
trap 'umount "$root/proc"' EXIT
printf 'deb http://deb.debian.org/debian trixie main\n' >"$root/etc/apt/sources.list"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q update >>"$cache/build.log" 2>&1
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install $pkgs >>"$cache/build.log" 2>&1 ||
	{ tail -20 "$cache/build.log" >&2; exit 1; }
sed -i 's/^# *\(de_DE.UTF-8\)/\1/' "$root/etc/locale.gen"
chroot "$root" locale-gen >>"$cache/build.log" 2>&1
chroot "$root" apt-get clean
t2=$(date +%s)
log "packages: $((t2 - t1)) s; gnome-shell $(chroot "$root" dpkg-query -W -f '${Version}' gnome-shell)"
touch "$root/.done"
echo "$root"
