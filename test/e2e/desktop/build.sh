#!/bin/bash
# Builds the desktop guest of issue 13 — Debian 13 with GNOME 48 (Wayland,
# GDM autologin) and Xfce 4.20 (X11, LightDM autologin) — on top of the
# Debian 13 base image of the end-to-end tests, and prints the path of its
# disk image; an image already built from the same inputs is reused.
#
#   build.sh                   build if needed, print .../e2e/desktop-<key>/desktop.img
#   build.sh --key             print the cache key only
#   build.sh --download        fetch the packages into the private apt cache
#                              only (network, no root file system touched)
#   build.sh --check-packages  ask the archive for every package, build nothing
#
# How: a sparse copy of the base image (test/e2e/image/build.sh trixie,
# built first if needed), mounted through a loop device, the packages of
# packages.txt installed with --no-install-recommends in a chroot, then the
# files of guest/ and the few links below. A copy rather than a qcow2
# overlay on base.img: the harness boots it exactly as it boots the base
# (a raw image under each run's own overlay), it stays valid whatever
# happens to the base image's cache folder, and no nbd module is needed to
# write into it (this host's kernel has none loaded); it costs the base's
# allocated gigabyte once more.
#
# Which desktop a boot starts is the harness's choice, made when it starts
# qemu (-fw_cfg name=opt/rapidreboot/desktop,string=gnome|xfce, see
# guest/usr/local/lib/e2e/desktop-choice): both display managers are
# enabled and each runs only in its own boots. One image serves both
# desktops, and the choice holds across the guest's own restarts (kexec or
# firmware), which the tests need: the session must come back.
#
# Cache: ${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/e2e/desktop-<key>/,
# keyed by the base image's key, this directory's files, the apt sources
# and the architecture. Packages come only through an apt configuration of
# its own under the cache (e2e/apt-desktop-trixie/), never through this
# machine's. Needs root (loop devices, mount, chroot).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
base_build=$here/../image/build.sh
suite=trixie
log() { printf 'e2e desktop image: %s\n' "$*" >&2; }
die() { log "cannot build the desktop image: $*"; exit 1; }
cache=${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/e2e
mode=build
for a in "$@"; do
	case $a in
	--key | --download | --check-packages) mode=${a#--} ;;
	*) log "unknown argument $a (use --key, --download or --check-packages)"; exit 2 ;;
	esac
done
arch=$(dpkg --print-architecture)
# shellcheck source=../image/lib.sh
. "$here/../image/lib.sh"
pkgs=$(packages_for "$suite" <"$here/packages.txt" | tr '\n' ' ')

key() {
	{
		echo "desktop arch $arch suite $suite"
		echo "base $("$base_build" --key "$suite")"
		"$base_build" --sources "$suite"
		cd "$here"
		find . -type f ! -name '*~' | LC_ALL=C sort | while read -r f; do
			if [ -x "$f" ]; then echo "x $f"; else echo "- $f"; fi
			sha256sum <"$f"
		done
	} | sha256sum | cut -c1-16
}

# private_apt: sources, lists and the package cache under the cache folder,
# as build.sh --check-packages does; the status is empty, so --download
# fetches the whole dependency closure (the base's packages too: a few
# hundred MB, read again from the cache by the chroot's apt).
apt_dir=$cache/apt-desktop-$suite
private_apt() {
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/prefs"
	: >"$apt_dir/status"
	"$base_build" --sources "$suite" | sed 's#^deb #deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] #' >"$apt_dir/sources.list"
	[ -s "$apt_dir/sources.list" ] || die "no apt source for $suite (set RAPIDREBOOT_E2E_SOURCES)"
	apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
		-o "Dir::Etc::Preferences=$apt_dir/prefs/none" -o "Dir::Etc::PreferencesParts=$apt_dir/prefs"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::Status=$apt_dir/status"
		-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o APT::Sandbox::User=root)
	apt-get -q "${apt_opts[@]}" update >&2 || die "apt-get update of the $suite sources failed (archive unreachable?)"
}

# check_desktop_packages: every package has a candidate (lib.sh's
# missing_packages on apt-cache policy), else fail naming them.
check_desktop_packages() {
	local missing
	# shellcheck disable=SC2086
	missing=$("$@" policy $pkgs 2>/dev/null | missing_packages $pkgs | tr '\n' ' ')
	[ -z "$missing" ] || die "packages not found in the $suite sources: ${missing% } (test/e2e/desktop/packages.txt)"
}

case $mode in
key) key; exit 0 ;;
check-packages)
	private_apt
	check_desktop_packages apt-cache "${apt_opts[@]}"
	log "$suite: all $(echo "$pkgs" | wc -w) desktop packages found"
	exit 0
	;;
download)
	private_apt
	check_desktop_packages apt-cache "${apt_opts[@]}"
	# shellcheck disable=SC2086
	apt-get -q -y "${apt_opts[@]}" install --download-only --no-install-recommends $pkgs >&2 ||
		die "downloading the packages failed"
	log "packages in $apt_dir/cache/archives ($(du -sh "$apt_dir/cache/archives" | cut -f1))"
	exit 0
	;;
esac

k=$(key)
out=$cache/desktop-$k
if [ -s "$out/desktop.img" ]; then
	echo "$out/desktop.img"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "building needs root (loop devices, mount, chroot)"
for tool in losetup partx chroot cp flock; do
	command -v "$tool" >/dev/null || die "$tool is missing"
done

t0=$(date +%s)
# The base first (its own build takes .build.lock: not held here yet).
base=$("$base_build" "$suite") || die "no Debian 13 base image"
t_base=$(($(date +%s) - t0))

mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock -w 3600 9 || die "another build holds $cache/.build.lock"
if [ -s "$out/desktop.img" ]; then # built by the holder of the lock
	echo "$out/desktop.img"
	exit 0
fi

work=$(mktemp -d "$cache/desktop-build.XXXXXX")
mnt=$work/root
loop=""
cleanup() {
	set +e
	for m in var/cache/apt/archives dev/pts dev proc sys; do
		mountpoint -q "$mnt/$m" 2>/dev/null && umount -l "$mnt/$m"
	done
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	if [ -n "$loop" ]; then
		partx -d "$loop" 2>/dev/null
		losetup -d "$loop"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
t1=$(date +%s)
stamp() { echo "$1 $(($(date +%s) - t1))" >>"$work/manifest.times"; }
echo "base $t_base" >"$work/manifest.times"

log "building desktop-$k on $base into $work (log: $work/build.log)"
img=$work/desktop.img
cp --sparse=always "$base" "$img"
chmod 0644 "$img"
loop=$(losetup -f --show "$img")
partx -a "$loop" 2>/dev/null || partx -u "$loop" 2>/dev/null || true
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b "${loop}p2" ] && break; sleep 0.2; done
[ -b "${loop}p2" ] || die "${loop}p2 did not appear after partx -a"
mkdir -p "$mnt"
mount "${loop}p2" "$mnt"
[ -f "$mnt/etc/e2e-kernels" ] || die "$base holds no e2e root file system"
stamp copy

mount -t proc proc "$mnt/proc"
mount -t sysfs sys "$mnt/sys"
mount --bind /dev "$mnt/dev"
mount --bind /dev/pts "$mnt/dev/pts"
in_root() { chroot "$mnt" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
cp /etc/resolv.conf "$mnt/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod +x "$mnt/usr/sbin/policy-rc.d"
# The packages fetched by --download (if it ran) are found there; apt
# fetches what is missing into the same folder.
mkdir -p "$apt_dir/cache/archives/partial"
mount --bind "$apt_dir/cache/archives" "$mnt/var/cache/apt/archives"
in_root debconf-set-selections <<'EOF'
gdm3 shared/default-x-display-manager select gdm3
lightdm shared/default-x-display-manager select gdm3
EOF

log "apt-get update and $(echo "$pkgs" | wc -w) packages"
in_root apt-get update -qq >>"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; die "apt-get update failed"; }
check_desktop_packages in_root apt-cache
# desktop-base's postinst runs update-grub, which inside this chroot
# writes the loop device as root= (root=/dev/loop0p2: the guest then
# drops to the initramfs shell). The kernels do not change here, so the
# base image's grub.cfg, made by its first boot, is put back.
cp -a "$mnt/boot/grub/grub.cfg" "$work/grub.cfg.base"
# shellcheck disable=SC2086
in_root apt-get install -y -q --no-install-recommends $pkgs >>"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log" >&2; die "apt-get install failed"; }
cp -a "$work/grub.cfg.base" "$mnt/boot/grub/grub.cfg"
umount "$mnt/var/cache/apt/archives"
in_root apt-get clean
stamp packages

log "configuring"
cp -a "$here/guest/." "$mnt/"
chown -R root:root "$mnt/etc/gdm3" "$mnt/etc/lightdm" "$mnt/etc/systemd" "$mnt/etc/xdg/autostart" \
	"$mnt/etc/X11/xorg.conf.d" "$mnt/usr/local/lib/e2e" "$mnt/usr/share/glib-2.0/schemas" "$mnt/var/lib/AccountsService"
chmod 0700 "$mnt/var/lib/AccountsService/users"
chmod 0600 "$mnt/var/lib/AccountsService/users/alice"
# alice's desktop session replaces her tty1 login: the harness's user
# loop starts from the session (guest/etc/xdg/autostart).
rm -f "$mnt/etc/systemd/system/getty@tty1.service.d/autologin.conf"
rmdir "$mnt/etc/systemd/system/getty@tty1.service.d" 2>/dev/null || true
# Both display managers are enabled; e2e-desktop.service lets one start.
ln -sf /usr/lib/systemd/system/gdm.service "$mnt/etc/systemd/system/display-manager.service"
mkdir -p "$mnt/etc/systemd/system/graphical.target.wants"
ln -sf /usr/lib/systemd/system/lightdm.service "$mnt/etc/systemd/system/graphical.target.wants/lightdm.service"
ln -sf /etc/systemd/system/e2e-payload.service "$mnt/etc/systemd/system/graphical.target.wants/e2e-payload.service"
in_root systemctl set-default graphical.target >>"$work/build.log" 2>&1
# Xfce's panel asks on its first start whether to use the default panel;
# alice has it already.
install -d -o 1000 -g 1000 "$mnt/home/alice/.config" "$mnt/home/alice/.config/xfce4" \
	"$mnt/home/alice/.config/xfce4/xfconf" "$mnt/home/alice/.config/xfce4/xfconf/xfce-perchannel-xml"
install -o 1000 -g 1000 -m 0644 "$mnt/etc/xdg/xfce4/panel/default.xml" \
	"$mnt/home/alice/.config/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml"
in_root glib-compile-schemas /usr/share/glib-2.0/schemas >>"$work/build.log" 2>&1 || die "glib-compile-schemas failed"
# shellcheck disable=SC2016
versions=$(in_root dpkg-query -W -f '${Package} ${Version}\n' gdm3 gnome-shell gnome-session-bin xfce4-session lightdm mousepad gnome-text-editor xfce4-whiskermenu-plugin)
rm -f "$mnt/usr/sbin/policy-rc.d" "$mnt/etc/resolv.conf"
stamp configure

for m in dev/pts dev proc sys; do umount "$mnt/$m"; done
umount "$mnt"
n=0
until partx -d "$loop" 2>>"$work/build.log"; do
	n=$((n + 1))
	[ "$n" -lt 10 ] || die "partx -d $loop failed 10 times (see $work/build.log)"
	sleep 1
done
losetup -d "$loop"
loop=""

{
	echo "key $k"
	echo "suite $suite"
	echo "base $base"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	grep '^kernels ' "$(dirname "$base")/manifest" || true
	sed 's/^/seconds /' "$work/manifest.times"
	echo "$versions" | sed 's/^/version /'
	"$base_build" --sources "$suite" | sed 's/^/source /'
} >"$work/manifest"
mkdir -p "$out"
mv "$work/manifest" "$work/build.log" "$out/"
chmod 0444 "$img"
mv "$img" "$out/desktop.img"
log "built in $(($(date +%s) - t0)) s: $out/desktop.img"
echo "$out/desktop.img"
