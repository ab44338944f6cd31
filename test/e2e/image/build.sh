#!/bin/bash
# Builds the Debian guest of the end-to-end tests (Debian 12 "bookworm" or
# Debian 13 "trixie") and prints the path of its disk image; an image
# already built from the same inputs is reused.
#
#   build.sh [SUITE]                   build if needed, print .../e2e/<key>/base.img
#   build.sh --key [SUITE]             print the cache key only
#   build.sh --sources [SUITE]         print the apt sources the guest will use
#   build.sh --check-packages [SUITE]  ask the suite's archive (a private apt
#                                      configuration under the cache) for every
#                                      package and the two kernels, build nothing
#
# SUITE is bookworm or trixie; without it RAPIDREBOOT_E2E_SUITE, else
# bookworm. The guest boots the way a PC does: OVMF (UEFI) → GRUB (Debian's
# 5 s menu) → kernel + initramfs → systemd. Disk: GPT, an ESP filled with
# mtools (this host's kernel has no vfat) holding a grub-mkstandalone
# BOOTX64.EFI, and an ext4 root made by debootstrap. Two kernels are
# installed (the newest and one older), so that "newest" is tested. See
# docs/e2e.md.
#
# Cache: ${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/e2e/<key>/, keyed by
# the suite, this directory's files, the apt sources (read from this
# machine's apt configuration now, never stored in the repository) and the
# architecture. Needs root (loop devices, mount, chroot).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log() { printf 'e2e image: %s\n' "$*" >&2; }
die() { log "cannot build the guest image: $*"; exit 1; }
die_early() { log "$*"; exit 2; }
cache=${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/e2e
# shellcheck source=lib.sh
. "$here/lib.sh"
suite=${RAPIDREBOOT_E2E_SUITE:-bookworm}
mode=build
for a in "$@"; do
	case $a in
	--key | --sources | --check-packages) mode=${a#--} ;;
	-*) die_early "unknown argument $a (use --key, --sources or --check-packages, and a suite)" ;;
	*) suite=$a ;;
	esac
done
arch=$(dpkg --print-architecture)
# The first boot's vCPUs, as the harness's (test/e2e/vcpu.go): Debian 13's
# 6.12 hung early and oopsed on its own patched code under multi-threaded
# TCG with two vCPUs, so its guest runs them round-robin in one host thread.
case $suite in
bookworm) thread=multi ;;
trixie) thread=single ;;
*) die_early "unknown suite '$suite' (bookworm = Debian 12, trixie = Debian 13)" ;;
esac
accel=${RAPIDREBOOT_E2E_BUILD_ACCEL:-tcg,thread=$thread}
cpu=${RAPIDREBOOT_E2E_BUILD_CPU:-max}


# sources prints this machine's Debian apt sources for $suite (and its
# -updates and -security suites) in one-line form, from sources.list,
# *.list and deb822 *.sources. A suite this machine has no source for
# (trixie on a Debian 12 host) gets the same mirrors as the host's own
# release, with the suite's name: the archive serves both; nothing is added
# to this machine's apt configuration. RAPIDREBOOT_E2E_SOURCES (one-line
# form) replaces them.
sources() {
	local own host
	own=$(host_sources "$suite")
	if [ -n "$own" ]; then
		printf '%s\n' "$own"
		return
	fi
	host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$host" ] && [ "$host" != "$suite" ] || return 0
	host_sources "$host" | awk -v h="$host" -v s="$suite" '{
		if ($3 == h) $3 = s
		else if ($3 == h "-updates") $3 = s "-updates"
		else if ($3 == h "-security" || $3 == h "/updates") $3 = s "-security"
		print }' | sort -u
}

host_sources() {
	local suite=$1
	if [ -n "${RAPIDREBOOT_E2E_SOURCES:-}" ]; then
		printf '%s\n' "$RAPIDREBOOT_E2E_SOURCES"
		return
	fi
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 4 { printf "deb %s %s", $2, $3; for (i = 4; i <= NF; i++) printf " %s", $i; print "" }'
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no")
					for (u in uris) for (s in suites) print "deb " uris[u] " " suites[s] " " comps
				types = ""; comps = ""; enabled = ""; delete uris; delete suites
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
				if (key == "types") types = $0
				else if (key == "uris") { n = split($0, a, " "); for (i = 1; i <= n; i++) uris[i] = a[i] }
				else if (key == "suites") { n = split($0, a, " "); for (i = 1; i <= n; i++) suites[i] = a[i] }
				else if (key == "components") comps = $0
				else if (key == "enabled") enabled = tolower($0)
			}
			END { flush() }' "$f"
		done
	} | awk -v s="$suite" '$3 == s || $3 == s "-updates" || $3 == s "-security" || $3 == s "/updates"' | sort -u
}

key() {
	{
		echo "arch $arch suite $suite"
		sources
		cd "$here"
		find . -type f ! -name '*~' | LC_ALL=C sort | while read -r f; do
			if [ -x "$f" ]; then echo "x $f"; else echo "- $f"; fi
			sha256sum <"$f"
		done
	} | sha256sum | cut -c1-16
}

pkgs=$(packages_for "$suite" <"$here/packages.txt" | tr '\n' ' ')

# private_apt: an apt configuration of its own under the cache (sources,
# lists, status), so that the suite's archive can be asked from this
# machine without touching /etc/apt (trixie must never be added there).
private_apt() {
	local d=$cache/apt-$suite
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/parts" "$d/prefs"
	: >"$d/status"
	sources | sed 's#^deb #deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] #' >"$d/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/parts"
		-o "Dir::Etc::Preferences=$d/prefs/none" -o "Dir::Etc::PreferencesParts=$d/prefs"
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "Dir::State::Status=$d/status"
		-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o APT::Sandbox::User=root)
}

case $mode in
key) key; exit 0 ;;
sources) sources; exit 0 ;;
check-packages)
	[ -n "$(sources)" ] || die "no apt source for $suite (set RAPIDREBOOT_E2E_SOURCES)"
	private_apt
	apt-get -q "${apt_opts[@]}" update >&2 || die "apt-get update of the $suite sources failed (archive unreachable?)"
	pick_kernels apt-cache "${apt_opts[@]}"
	check_packages apt-cache "${apt_opts[@]}"
	log "$suite: all $(echo $pkgs | wc -w) packages found; kernels $newest (newest) and $older"
	exit 0
	;;
esac

k=$(key)
out=$cache/$k
if [ -s "$out/base.img" ]; then
	echo "$out/base.img"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building needs root (loop devices, mount, chroot)"
for tool in debootstrap sfdisk losetup partx mkfs.ext4 mkfs.vfat mmd mcopy blkid qemu-system-x86_64 flock; do
	command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps/e2e.txt)"
done
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -r "$ovmf_code" ] && [ -r "$ovmf_vars" ] || die "OVMF is missing (package ovmf)"

mirror=$(sources | awk -v s="$suite" '$3 == s { print $2; exit }')
[ -n "$mirror" ] || die "no apt source for $suite or this machine's own release in /etc/apt (set RAPIDREBOOT_E2E_SOURCES)"

mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock -w 3600 9 || die "another build holds $cache/.build.lock"
if [ -s "$out/base.img" ]; then # built by the holder of the lock
	echo "$out/base.img"
	exit 0
fi

work=$(mktemp -d "$cache/build.XXXXXX")
mnt=$work/root
loop=""
cleanup() {
	set +e
	for m in dev/pts dev proc sys; do
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
t0=$(date +%s)
stamp() { echo "$1 $(($(date +%s) - t0))" >>"$work/manifest.times"; }

log "building $k from $mirror into $work (log: $work/build.log)"
img=$work/base.img
truncate -s 6G "$img"
sfdisk -q "$img" <<EOF
label: gpt
size=100MiB, type=uefi, name="EFI system partition"
type=linux, name="root"
EOF
loop=$(losetup -f --show "$img")
# A loop driver that scans partitions itself has added them already, and
# partx -a then fails with EBUSY: what counts is that both appear.
partx -a "$loop" 2>/dev/null || partx -u "$loop" 2>/dev/null || true
for p in 1 2; do
	for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b "${loop}p$p" ] && break; sleep 0.2; done
	[ -b "${loop}p$p" ] || die "${loop}p$p did not appear after partx -a"
done
mkfs.vfat -F 32 -n ESP "${loop}p1" >/dev/null
mkfs.ext4 -q -L root "${loop}p2"
root_uuid=$(blkid -s UUID -o value "${loop}p2")
esp_uuid=$(blkid -s UUID -o value "${loop}p1")
mkdir -p "$mnt"
mount "${loop}p2" "$mnt"

log "debootstrap $suite (minbase)"
debootstrap --variant=minbase --arch="$arch" "$suite" "$mnt" "$mirror" >>"$work/build.log" 2>&1 ||
	{ tail -20 "$work/build.log" >&2; die "debootstrap failed"; }
stamp debootstrap

mount -t proc proc "$mnt/proc"
mount -t sysfs sys "$mnt/sys"
mount --bind /dev "$mnt/dev"
mount --bind /dev/pts "$mnt/dev/pts"
in_root() { chroot "$mnt" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

sources >"$mnt/etc/apt/sources.list"
# No service starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod +x "$mnt/usr/sbin/policy-rc.d"
in_root debconf-set-selections <<'EOF'
kexec-tools kexec-tools/load_kexec boolean false
kexec-tools kexec-tools/use_grub_config boolean false
grub-efi-amd64 grub2/update_nvram boolean false
grub-efi-amd64 grub2/force_efi_extra_removable boolean false
EOF
echo e2e-guest >"$mnt/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 e2e-guest\n' >"$mnt/etc/hosts"
cat >"$mnt/etc/fstab" <<EOF
UUID=$root_uuid / ext4 errors=remount-ro 0 1
UUID=$esp_uuid /boot/efi vfat umask=0077 0 1
EOF
mkdir -p "$mnt/boot/efi"

log "apt-get update and packages"
in_root apt-get update -qq >>"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; die "apt-get update failed"; }
pick_kernels in_root apt-cache
log "kernels: $newest (newest) and $older"
check_packages in_root apt-cache
# shellcheck disable=SC2086
in_root apt-get install -y -q --no-install-recommends $pkgs "$older" >>"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log" >&2; die "apt-get install failed"; }
in_root apt-get clean
stamp packages

log "configuring"
cp -a "$here/guest/." "$mnt/"
in_root glib-compile-schemas /usr/share/glib-2.0/schemas >>"$work/build.log" 2>&1 || die "glib-compile-schemas failed"
chown -R root:root "$mnt/etc/systemd" "$mnt/usr/local/lib/e2e" "$mnt/etc/tmpfiles.d" "$mnt/usr/share/glib-2.0/schemas"
in_root useradd -m -s /bin/bash -u 1000 -c "tty1 desktop user" alice
in_root useradd -m -s /bin/bash -u 1001 -c "user without a session" bob
cat >>"$mnt/home/alice/.profile" <<'EOF'

# e2e: run the harness's user commands inside this seat0 session.
if [ "$(tty)" = /dev/tty1 ]; then exec /usr/local/lib/e2e/user-loop; fi
EOF
in_root systemctl enable e2e-marker.service e2e-firstboot.service e2e-console.service >>"$work/build.log" 2>&1
# The console's loop replaces the getty that console=ttyS0 would get.
in_root systemctl mask serial-getty@ttyS0.service >>"$work/build.log" 2>&1
in_root systemctl set-default multi-user.target >>"$work/build.log" 2>&1
mkdir -p "$mnt/var/log/journal"
touch "$mnt/etc/e2e-firstboot"
# Debian's defaults (GRUB_TIMEOUT=5, "quiet") stay: they are part of what a
# cold boot costs and of the command line the product must reproduce. Only
# the consoles are added, so that the harness sees the guest.
sed -i 's/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"/' "$mnt/etc/default/grub"
grep -q '^GRUB_TIMEOUT=5$' "$mnt/etc/default/grub" || die "Debian's GRUB_TIMEOUT=5 is not in /etc/default/grub"
echo "${newest#linux-image-} ${older#linux-image-}" >"$mnt/etc/e2e-kernels"

log "boot loader"
mkdir -p "$mnt/boot/grub/fonts"
cp -r "$mnt/usr/lib/grub/x86_64-efi" "$mnt/boot/grub/"
cp "$mnt/usr/share/grub/unicode.pf2" "$mnt/boot/grub/fonts/"
in_root grub-editenv /boot/grub/grubenv create
in_root update-grub >>"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; die "update-grub failed"; }
# No udev here, so grub-mkconfig named the loop device; the first boot
# regenerates grub.cfg with root=UUID=. This one only has to boot once.
sed -i "s#root=${loop}p2#root=UUID=$root_uuid#g" "$mnt/boot/grub/grub.cfg"
# A standalone image preloads no file system: load them before searching.
cat >"$mnt/tmp/e2e-embed.cfg" <<EOF
insmod part_gpt
insmod ext2
if search --no-floppy --fs-uuid --set=root $root_uuid; then
	set prefix=(\$root)/boot/grub
	configfile \$prefix/grub.cfg
else
	echo "e2e: no root file system $root_uuid"
fi
EOF
in_root grub-mkstandalone -O x86_64-efi -o /tmp/BOOTX64.EFI "boot/grub/grub.cfg=/tmp/e2e-embed.cfg" >>"$work/build.log" 2>&1 ||
	die "grub-mkstandalone failed"
mmd -i "${loop}p1" ::/EFI ::/EFI/BOOT
mcopy -i "${loop}p1" "$mnt/tmp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
rm -f "$mnt/tmp/BOOTX64.EFI" "$mnt/tmp/e2e-embed.cfg" "$mnt/usr/sbin/policy-rc.d" "$mnt/etc/resolv.conf"
stamp configure

for m in dev/pts dev proc sys; do umount "$mnt/$m"; done
umount "$mnt"
# A partition can stay busy for a moment after its unmount (seen once:
# "partx: /dev/loop0: error deleting partition 2"): try again before
# failing the build.
n=0
until partx -d "$loop" 2>>"$work/build.log"; do
	n=$((n + 1))
	[ "$n" -lt 10 ] || die "partx -d $loop failed 10 times (see $work/build.log)"
	sleep 1
done
losetup -d "$loop"
loop=""

log "first boot (regenerates grub.cfg, then powers off; about a minute under TCG)"
# Never two guests at once on this machine: the tests hold this lock while
# their guest runs (and say so when they start this build).
# RAPIDREBOOT_E2E_GUEST_LOCK names another lock file for it (a machine
# where other programs boot guests too).
if [ -z "${RAPIDREBOOT_E2E_GUEST_LOCK_HELD:-}" ]; then
	glock=${RAPIDREBOOT_E2E_GUEST_LOCK:-$cache/.guest.lock}
	exec 8>"$glock"
	flock -w 3600 8 || die "a guest of another run holds $glock"
fi
# firstboot N: one attempt. Under TCG a Debian 13 kernel (6.12) has been
# seen to hang early in its boot now and then, idle, with RCU stall
# reports every 21 s and nothing else ("Possible timer handling issue on
# cpu=1": a wake-up of the second vCPU lost); the same image booted
# again. Three such reports (and no line of systemd's) end the attempt
# and the next one starts: the first boot's script (guest/…/firstboot)
# can run again, it removes its flag file last.
firstboot() {
	local n=$1 qemu
	cp "$ovmf_vars" "$work/vars.fd"
	: >"$work/firstboot.log"
	timeout 900 qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -m 2048 -smp 2 \
		-drive if=pflash,format=raw,readonly=on,file="$ovmf_code" \
		-drive if=pflash,format=raw,file="$work/vars.fd" \
		-drive file="$img",format=raw,if=virtio \
		-nic none -display none -no-reboot \
		-serial file:"$work/firstboot.log" >>"$work/build.log" 2>&1 &
	qemu=$!
	# Stop early on the ways a first boot goes wrong, rather than at the timeout.
	while kill -0 "$qemu" 2>/dev/null; do
		if grep -a -q -E 'grub> |e2e: no root file system|@@FIRSTBOOT-FAILED|Kernel panic|emergency mode|Give root password' "$work/firstboot.log"; then
			kill "$qemu"
			break
		fi
		if [ "$(grep -a -c 'rcu: INFO: rcu_[a-z]* detected stalls' "$work/firstboot.log")" -ge 3 ] &&
			! grep -a -q -E 'systemd\[1\]|Run /init|Freeing unused kernel' "$work/firstboot.log"; then
			log "first boot, attempt $n: the kernel hangs early (RCU stalls, nothing else); trying again"
			cat "$work/firstboot.log" >>"$work/build.log"
			kill "$qemu"
			wait "$qemu" || true
			return 2
		fi
		sleep 2
	done
	wait "$qemu" || true
	grep -q '@@FIRSTBOOT-OK' "$work/firstboot.log"
}
rc=1
for n in 1 2 3; do
	firstboot "$n" && { rc=0; break; } || rc=$?
	[ "$rc" -eq 2 ] || break
done
[ "$rc" -eq 0 ] ||
	{ tail -40 "$work/firstboot.log" >&2; die "the first boot did not finish (log above)"; }
stamp firstboot

{
	echo "key $k"
	echo "suite $suite"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernels ${newest#linux-image-} ${older#linux-image-}"
	echo "root_uuid $root_uuid"
	sed 's/^/seconds /' "$work/manifest.times"
	sources | sed 's/^/source /'
} >"$work/manifest"
mkdir -p "$out"
mv "$work/manifest" "$work/firstboot.log" "$work/build.log" "$out/"
chmod 0444 "$img"
mv "$img" "$out/base.img"
log "built in $(($(date +%s) - t0)) s: $out/base.img"
echo "$out/base.img"
