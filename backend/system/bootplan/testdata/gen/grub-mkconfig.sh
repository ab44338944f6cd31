#!/bin/sh
# Regenerates the testdata/debian-13-grub212-* and debian-12-grub206-* fixtures with Debian's real
# grub-mkconfig (and grub-reboot, grub-set-default, grub-editenv, grub-script-check).
#
#   sudo backend/system/bootplan/testdata/gen/grub-mkconfig.sh trixie|bookworm [case...]
#
# Needs root (mount namespace), network on the first run, and writes only:
#   ~/.cache/rapidreboot/apt-<suite>/   a private apt configuration (its own sources.list, lists, cache,
#                                       an empty dpkg status), the downloaded .debs and their `dpkg-deb -x`
#   backend/system/bootplan/testdata/<case>/  the fixture roots (expected.json is written by hand, never here)
# Nothing is installed on this machine and its apt sources are not touched.
#
# How it runs: every case builds a fake root (empty vmlinuz-*/initrd.img-*/config-* files, a Debian
# /etc/default/grub, an fstab), then `unshare --mount` gives it a private mount namespace in which
#   /boot       is the fake root's boot (bind mount)
#   /etc        is an overlay: the fake etc, the package's etc/grub.d, then this machine's /etc
#   /usr        is an overlay: the stand-ins below, the unpacked packages' usr, then this machine's /usr
#   /dev        is an overlay adding /dev/disk/by-uuid/<uuid> (10_linux writes root=UUID= only then)
#   /sys/firmware is a tmpfs, with OsIndicationsSupported for an EFI case (Debian 12's 30_uefi-firmware
#               writes its entry only when the build machine's firmware has it)
# and the suite's own /usr/sbin/grub-mkconfig writes /boot/grub/grub.cfg. Only the mount namespace
# sees any of it.
#
# Stand-ins (named so): grub-probe (answers for one ext4 root partition /dev/vda2 on a GPT disk with a
# fixed UUID; the real one reads the block device) and grub-mkrelpath (prints its argument: /boot is on
# the root file system; the real one would see the bind mount). Trixie's own binaries (grub-editenv,
# grub-script-check) need glibc 2.38, so they run through trixie's own ld.so and libraries (libc6,
# libdevmapper1.02.1, ... unpacked into the cache), not this machine's.
set -eu

suite=${1:?usage: $0 trixie|bookworm [case...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
testdata=${GRUB_FIXTURES_OUT:-$(dirname "$here")} # another folder: make grub-fixtures-check
mirror=http://deb.debian.org/debian
uuid=5c0e9f3a-7d1b-4e62-9a8f-2b4c6d1e8f70
partuuid=3f1c2a4e-01
esp_uuid=8A3C-51F2

case $suite in
trixie)
	prefix=debian-13-grub212
	kernels="6.12.107+deb13-amd64 6.12.117+deb13-amd64"
	older=6.12.107+deb13-amd64
	libs="libc6 libdevmapper1.02.1 libselinux1 libudev1 libpcre2-8-0 liblzma5 libcap2"
	;;
bookworm)
	prefix=debian-12-grub206
	kernels="6.1.0-26-amd64 6.1.0-27-amd64"
	older=6.1.0-26-amd64
	libs=""
	;;
*) echo "$0: unknown suite $suite (trixie or bookworm)" >&2; exit 2 ;;
esac

cache=${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/apt-$suite
pkgroot=$cache/root
libroot=$cache/libroot

# fetch downloads and unpacks the suite's packages once, through a private apt configuration.
fetch() {
	[ -x "$pkgroot/usr/sbin/grub-mkconfig" ] && { [ -z "$libs" ] || [ -d "$libroot" ]; } && return 0
	mkdir -p "$cache/etc" "$cache/lists/partial" "$cache/cache/archives/partial" "$cache/debs" "$cache/libdebs"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$cache/etc/sources.list"
	: >"$cache/status"
	set -- -o Dir::Etc::SourceList="$cache/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$cache/lists" -o Dir::Cache="$cache/cache" -o Dir::State::status="$cache/status" \
		-o APT::Architecture=amd64
	apt-get "$@" update
	(cd "$cache/debs" && apt-get "$@" download grub-common grub2-common)
	rm -rf "$pkgroot" && mkdir -p "$pkgroot"
	for d in "$cache"/debs/*.deb; do dpkg-deb -x "$d" "$pkgroot"; done
	if [ -n "$libs" ]; then
		# shellcheck disable=SC2086
		(cd "$cache/libdebs" && apt-get "$@" download $libs)
		rm -rf "$libroot" && mkdir -p "$libroot"
		for d in "$cache"/libdebs/*.deb; do dpkg-deb -x "$d" "$libroot"; done
	fi
}

# standins writes the /usr layer that goes above the packages' /usr.
standins() {
	d=$1
	mkdir -p "$d/usr/sbin" "$d/usr/bin"
	cat >"$d/usr/sbin/grub-probe" <<EOF
#!/bin/sh
# STAND-IN for grub-probe (rapidreboot fixture generator): one ext4 root partition /dev/vda2 on GPT.
target=
for a; do
	case \$a in --target=*) target=\${a#--target=} ;; esac
done
prev=
for a; do
	[ "\$prev" = -t ] && target=\$a
	prev=\$a
done
case \$target in
device) echo /dev/vda2 ;;
fs) echo ext2 ;;
fs_uuid) echo $uuid ;;
partuuid) echo $partuuid ;;
fs_label) exit 1 ;;
partmap) echo gpt ;;
abstraction|cryptodisk_uuid) ;;
drive) echo '(hd0,gpt2)' ;;
compatibility_hint) echo hd0,gpt2 ;;
hints_string) echo '--hint-bios=hd0,gpt2 --hint-efi=hd0,gpt2 --hint-baremetal=ahci0,gpt2' ;;
*) echo "stand-in grub-probe: no answer for --target=\$target" >&2; exit 1 ;;
esac
EOF
	cat >"$d/usr/bin/grub-mkrelpath" <<'EOF'
#!/bin/sh
# STAND-IN for grub-mkrelpath (rapidreboot fixture generator): /boot is on the root file system.
echo "$1"
EOF
	if [ -n "$libs" ]; then
		for b in grub-editenv grub-script-check; do
			cat >"$d/usr/bin/$b" <<EOF
#!/bin/sh
# $suite's own $b, run with $suite's own C library
exec $libroot/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $libroot/usr/lib/x86_64-linux-gnu:$libroot/lib/x86_64-linux-gnu $pkgroot/usr/bin/$b "\$@"
EOF
		done
	fi
	chmod 755 "$d"/usr/sbin/* "$d"/usr/bin/*
}

# cases: name | lines appended to /etc/default/grub | platform | command before grub-mkconfig | after it.
# The commands run inside the namespace, as a user would type them.
cases() {
	old_title="Debian GNU/Linux, with Linux $older"
	adv="Advanced options for Debian GNU/Linux"
	cat <<EOF
default-0||efi||
default-1-2|GRUB_DEFAULT="1>2"|efi||
default-id-path|GRUB_DEFAULT="gnulinux-advanced-$uuid>gnulinux-$older-recovery-$uuid"|efi||
saved-grub-reboot|GRUB_DEFAULT=saved|efi||grub-reboot "1>2"
saved-grub-set-default|GRUB_DEFAULT=saved|efi|grub-set-default "$adv>Debian GNU/Linux, with Linux $older"|
disable-submenu|GRUB_DISABLE_SUBMENU=y;GRUB_DEFAULT=2|efi||
old-title|GRUB_DEFAULT="$old_title"|efi||
grub-reboot-old-title|GRUB_DEFAULT=saved|efi||grub-reboot "$old_title"
default-uefi-firmware|GRUB_DEFAULT=uefi-firmware|efi||
bios-default-uefi-firmware|GRUB_DEFAULT=uefi-firmware|pc||
EOF
	[ "$suite" = trixie ] && echo "top-level|GRUB_TOP_LEVEL=/boot/vmlinuz-$older|efi||"
	return 0
}

# build makes one case's fake root in $1 and runs grub-mkconfig on it.
build() {
	root=$1 defaults=$2 platform=$3 pre=$4 post=$5 work=$6
	mkdir -p "$root/boot/grub" "$root/etc/default" "$root/usr/lib/modules"
	for v in $kernels; do
		: >"$root/boot/vmlinuz-$v"
		: >"$root/boot/initrd.img-$v"
		: >"$root/boot/config-$v"
		mkdir -p "$root/usr/lib/modules/$v"
		echo "kernel/fs/ext4/ext4.ko: kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko" >"$root/usr/lib/modules/$v/modules.dep"
	done
	if [ "$platform" = efi ]; then
		mkdir -p "$root/boot/grub/x86_64-efi" "$root/boot/efi"
		echo "placeholder: grub-install copies GRUB's EFI modules here" >"$root/boot/grub/x86_64-efi/README"
		fstab_esp="UUID=$esp_uuid  /boot/efi       vfat    umask=0077      0       1"
	else
		mkdir -p "$root/boot/grub/i386-pc"
		echo "placeholder: grub-install copies GRUB's BIOS modules here" >"$root/boot/grub/i386-pc/README"
		fstab_esp=""
	fi
	cp "$pkgroot/usr/share/grub/default/grub" "$root/etc/default/grub"
	if [ -n "$defaults" ]; then
		printf '\n# rapidreboot fixture: this case'"'"'s settings\n' >>"$root/etc/default/grub"
		echo "$defaults" | tr ';' '\n' >>"$root/etc/default/grub"
	fi
	cat >"$root/etc/fstab" <<EOF
# /etc/fstab: static file system information.
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$uuid /               ext4    errors=remount-ro 0       1
$fstab_esp
EOF
	mkdir -p "$work/etc" "$work/usr" "$work/dev/disk/by-uuid" "$work/up/etc" "$work/up/usr" "$work/up/dev" \
		"$work/wk/etc" "$work/wk/usr" "$work/wk/dev" "$work/grubd/etc"
	cp -a "$root/etc/." "$work/etc/"
	printf 'PRETTY_NAME="Debian GNU/Linux"\nNAME="Debian GNU/Linux"\nID=debian\n' >"$work/etc/os-release"
	cp -a "$pkgroot/etc/grub.d" "$work/grubd/etc/"
	: >"$work/dev/disk/by-uuid/$uuid" # test -e must succeed; nothing opens it
	standins "$work/standins"
	# The grubenv a Debian install starts with (grub-install creates it).
	env PATH="$work/standins/usr/bin:$pkgroot/usr/bin:$PATH" grub-editenv "$root/boot/grub/grubenv" create
	# shellcheck disable=SC2016 # the script expands its own arguments
	unshare --mount --propagation private sh -eu -c '
		w=$1 root=$2 pkg=$3 pre=$4 post=$5 platform=$6
		mount -t overlay overlay -o "lowerdir=$w/etc:$w/grubd/etc:/etc,upperdir=$w/up/etc,workdir=$w/wk/etc" /etc
		mount -t overlay overlay -o "lowerdir=$w/standins/usr:$pkg/usr:/usr,upperdir=$w/up/usr,workdir=$w/wk/usr" /usr
		mount -t overlay overlay -o "lowerdir=$w/dev:/dev,upperdir=$w/up/dev,workdir=$w/wk/dev" /dev
		mount --bind "$root/boot" /boot
		mount -t tmpfs tmpfs /sys/firmware
		if [ "$platform" = efi ]; then
			# OVMF: OsIndicationsSupported has EFI_OS_INDICATIONS_BOOT_TO_FW_UI (bit 0).
			mkdir -p /sys/firmware/efi/efivars
			printf "\007\000\000\000\001\000\000\000\000\000\000\000" >/sys/firmware/efi/efivars/OsIndicationsSupported-8be4df61-93ca-11d2-aa0d-00e098032b8c
		fi
		export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
		if [ -n "$pre" ]; then echo "+ $pre" >&2; eval "$pre"; fi
		echo "+ grub-mkconfig -o /boot/grub/grub.cfg" >&2
		grub-mkconfig -o /boot/grub/grub.cfg
		if [ -n "$post" ]; then echo "+ $post" >&2; eval "$post"; fi
	' sh "$work" "$root" "$pkgroot" "$pre" "$post" "$platform"
}

fetch
version=$(dpkg-deb -f "$(ls "$cache"/debs/grub-common_*.deb)" Version)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cases | while IFS='|' read -r name defaults platform pre post; do
	if [ $# -gt 0 ]; then
		want=no
		for c; do [ "$c" = "$name" ] && want=yes; done
		[ $want = yes ] || continue
	fi
	dir=$testdata/$prefix-$name
	echo "== $prefix-$name" >&2
	rm -rf "$tmp/root" "$tmp/work"
	build "$tmp/root" "$defaults" "$platform" "$pre" "$post" "$tmp/work" 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
	rm -rf "$dir/root"
	mkdir -p "$dir"
	cp -a "$tmp/root" "$dir/root"
	# git keeps no empty directory (boot/efi, the ESP's mount point), so
	# neither does the fixture: grub-fixtures-check compares with git's copy.
	find "$dir/root" -type d -empty -delete
	{
		echo "case: $prefix-$name"
		echo "repository: none; generated by Debian's own grub-mkconfig from grub-common $version ($suite, $mirror),"
		echo "  unpacked with dpkg-deb -x into a cache, never installed; regenerate with"
		echo "  backend/system/bootplan/testdata/gen/grub-mkconfig.sh $suite $name (see that script for the namespace and stand-ins)"
		echo "stand-ins: grub-probe (ext4 root /dev/vda2, GPT, fs UUID $uuid), grub-mkrelpath (prints its argument)"
		echo "platform: $platform (boot/grub/$( [ "$platform" = efi ] && echo x86_64-efi || echo i386-pc)/README is a placeholder that says so)"
		echo "etc/default/grub: the package's usr/share/grub/default/grub$( [ -n "$defaults" ] && echo " plus: $defaults")"
		[ -n "$pre" ] && echo "before grub-mkconfig: $pre"
		echo "then: grub-mkconfig -o /boot/grub/grub.cfg"
		[ -n "$post" ] && echo "after grub-mkconfig: $post"
		echo "empty placeholders: boot/vmlinuz-*, boot/initrd.img-*, boot/config-*; usr/lib/modules/*/modules.dep hold one line"
		echo "grub-mkconfig's messages:"
		sed 's/^/  /' "$tmp/log"
		echo "expected.json: written by hand from GRUB's rules, not by the code under test"
	} >"$dir/SOURCE"
done
