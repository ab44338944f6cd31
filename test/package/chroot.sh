#!/bin/sh
# Install and purge the package in a throwaway Debian 12 chroot, and show
# that purge leaves the tree as it was.   (part of test/package/run.sh)
#
#   chroot.sh PACKAGE.deb WORKDIR CACHEDIR
#
# The base chroot (debootstrap minbase + the package's dependencies) is
# built once and cached under CACHEDIR, keyed by the mirror, the suite and
# the dependencies; each run works on an overlay mount of it, so the cache
# stays clean. Nothing is installed on the host, and nothing is started:
# the chroot has no running init (maintainer scripts see no systemd), and a
# policy-rc.d forbids starting services.
#
# Exit status: 0 nothing left behind, 1 a check failed (or the package's
# Depends cannot be installed), 77 no chroot could be made (no debootstrap,
# no mirror or network, not root, no overlay mounts).
set -u
deb=$1 work=$2 cache=$3
suite=bookworm

say() { echo "chroot: $*"; }
bad=0
check() { # check DESCRIPTION COMMAND...
	desc=$1; shift
	if "$@"; then echo "ok:   chroot: $desc"; else echo "FAIL: chroot: $desc"; bad=1; fi
}

[ "$(id -u)" -eq 0 ] || { say "needs root for chroot and mount"; exit 77; }
command -v debootstrap >/dev/null 2>&1 ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1
command -v debootstrap >/dev/null 2>&1 || { say "cannot install debootstrap"; exit 77; }

# The mirror this machine uses (never written into the repository).
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\/*\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { say "no Debian mirror in the apt sources"; exit 77; }

# What the package needs. polkitd needs a logind provider to configure
# (libpam-systemd), which brings systemd: the same as a desktop install.
depends=$(dpkg-deb -f "$deb" Depends)
key=$(printf '%s\n' "$suite" "$mirror" "$depends" "libpam-systemd" "v1" | sha256sum | cut -c1-16)
base=$cache/chroot-$suite-$key

if [ ! -e "$base/.complete" ]; then
	say "building the base chroot in $base (once; a few minutes)"
	rm -rf "$base.tmp"
	mkdir -p "$cache"
	if ! debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1; then
		tail -5 "$cache/debootstrap.log"
		say "debootstrap failed (log: $cache/debootstrap.log)"
		rm -rf "$base.tmp"
		exit 77
	fi
	printf '#!/bin/sh\n# rapidreboot package test: start nothing\nexit 101\n' >"$base.tmp/usr/sbin/policy-rc.d"
	chmod 755 "$base.tmp/usr/sbin/policy-rc.d"
	mount -t proc proc "$base.tmp/proc"
	DEBIAN_FRONTEND=noninteractive chroot "$base.tmp" sh -c "
		apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends libpam-systemd &&
		apt-get satisfy -y -qq --no-install-recommends '$depends' &&
		apt-get clean" >"$cache/deps.log" 2>&1
	status=$?
	umount "$base.tmp/proc"
	if [ $status -ne 0 ]; then
		tail -5 "$cache/deps.log"
		# The mirror answered debootstrap, so this is the package's
		# Depends not being installable on Debian 12: a failure.
		say "cannot install the package's dependencies in Debian 12 (log: $cache/deps.log)"
		rm -rf "$base.tmp"
		exit 1
	fi
	touch "$base.tmp/.complete"
	rm -rf "$base"
	mv "$base.tmp" "$base"
	# Chroots for older dependencies are no use any more (400 MB each).
	for old in "$cache"/chroot-$suite-*; do
		[ "$old" = "$base" ] || rm -rf "$old"
	done
fi

echo "$base" >"$work/base"
upper=$work/overlay/upper lower_work=$work/overlay/work
merged=$work/merged
mkdir -p "$upper" "$lower_work" "$merged"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$upper,workdir=$lower_work" "$merged" || { say "cannot mount an overlay"; exit 77; }
mount -t proc proc "$merged/proc"
trap 'umount "$merged/proc" 2>/dev/null; umount "$merged" 2>/dev/null' EXIT

# snapshot NAME: every path with its type, mode, owner and link target,
# except what dpkg and apt keep about themselves, the test's own file, and
# /run/systemd (systemd-analyze's scratch space; a tmpfs on a real system).
snapshot() {
	chroot "$merged" find / -xdev \
		\( -path /proc -o -path /sys -o -path /var/lib/dpkg -o -path /var/log -o -path /var/cache \
		-o -path /tmp -o -path /var/lib/apt -o -path /run/systemd \) -prune -o -printf '%p %y %m %u:%g %l\n' |
		sort >"$work/$1"
}

cp "$deb" "$merged/tmp/rapidreboot.deb"
snapshot before
say "dpkg -i $(basename "$deb")"
if ! chroot "$merged" env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/rapidreboot.deb >"$work/install.log" 2>&1; then
	sed 's/^/      /' "$work/install.log"
	echo "FAIL: chroot: dpkg -i"
	exit 1
fi
sed 's/^/      /' "$work/install.log"
check "installed: dpkg says so" sh -c "chroot '$merged' dpkg-query -W -f='\${Status}' rapidreboot | grep -q '^install ok installed$'"
# Every file of the package arrived (dpkg -L lists dirs too).
check "installed: every file of the package is in place" sh -c "
	chroot '$merged' dpkg -L rapidreboot | while read -r f; do [ -e '$merged'\"\$f\" ] || [ -L '$merged'\"\$f\" ] || { echo \"      missing \$f\"; exit 1; }; done"
# Units as designed: the boot-time units enabled, the helper only D-Bus
# activated (no [Install]), the init scripts' names masked under systemd.
for u in $(ls "$merged/lib/systemd/system/" | grep '^rapidreboot-boot.*\.service$'); do
	check "installed: $u is enabled" sh -c "ls '$merged'/etc/systemd/system/*.wants/$u >/dev/null 2>&1"
done
check "installed: rapidreboot-helper.service is not enabled (D-Bus starts it)" \
	sh -c "! ls '$merged'/etc/systemd/system/*.wants/rapidreboot-helper.service >/dev/null 2>&1"
for s in $(ls "$merged/etc/init.d/" | grep '^rapidreboot'); do
	check "installed: init script $s registered for sysvinit" sh -c "ls '$merged'/etc/rc?.d/[SK][0-9][0-9]$s >/dev/null 2>&1"
	check "installed: $s.service masked for systemd" test "$(readlink "$merged/lib/systemd/system/$s.service")" = /dev/null
done
# The units as systemd reads them, in a root that has systemd's own units.
units=$(cd "$merged" && for u in lib/systemd/system/rapidreboot*.service; do [ -L "$u" ] || echo "/$u"; done)
if out=$(chroot "$merged" env SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no $units 2>&1) && [ -z "$out" ]; then
	echo "ok:   chroot: systemd-analyze verify $(echo $units | wc -w) units"
else
	echo "FAIL: chroot: systemd-analyze verify:"
	echo "$out" | sed 's/^/      /'
	bad=1
fi
check "installed: rapidrebootctl runs (--version)" sh -c "chroot '$merged' rapidrebootctl --version | grep -q '^rapidrebootctl '"

# What the helper would have written: purge must take it away.
mkdir -p "$merged/var/lib/rapidreboot" "$merged/run/rapidreboot"
echo test >"$merged/var/lib/rapidreboot/last-kexec-failed"
echo test >"$merged/run/rapidreboot/arm"

say "dpkg --purge rapidreboot"
if ! chroot "$merged" env DEBIAN_FRONTEND=noninteractive dpkg --purge rapidreboot >"$work/purge.log" 2>&1; then
	sed 's/^/      /' "$work/purge.log"
	echo "FAIL: chroot: dpkg --purge"
	exit 1
fi
sed 's/^/      /' "$work/purge.log"
snapshot after
left=$(diff "$work/before" "$work/after")
if [ -z "$left" ]; then
	echo "ok:   chroot: purge left nothing behind ($(wc -l <"$work/before") paths compared)"
else
	echo "FAIL: chroot: purge left the tree changed:"
	echo "$left" | sed 's/^/      /'
	bad=1
fi
exit $bad
