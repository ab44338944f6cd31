#!/bin/sh
# The package test (make test-package): checks the .deb that `make deb`
# built, as a user of the package would meet it.
#
#   test/package/run.sh build/rapidreboot_<version>_<arch>.changes
#
# 1. contents: the package holds exactly what `make install` lays out
#    (mk/install.mk's manifest, with Debian's directories), plus Debian's
#    own files; a file another area has not written yet fails here.
# 2. lintian: no error and no warning (overrides need a written reason,
#    debian/rapidreboot.lintian-overrides).
# 3. validators: desktop-file-validate, appstreamcli validate --no-net,
#    xmllint (well-formed, and valid against the D-Bus introspection and
#    polkit DTDs), the bus policy parsed by a real dbus-daemon, the D-Bus
#    activation file's names, sh -n on the maintainer and init scripts.
# 4. install and purge in a throwaway Debian 12 chroot (debootstrap, cached,
#    each run on an overlay): every file arrives, units are enabled as
#    designed and pass systemd-analyze verify, and after dpkg --purge the
#    tree is as before to the file.
#    The Depends resolve on Debian 12 and 13 (depends.sh, apt-get install -s
#    with a private apt configuration).
# 5. make install DESTDIR=… PREFIX=/usr/local lays out the same manifest,
#    and make uninstall takes it back.
#
# Each failing check is listed; the exit status is 1 if any failed. Tools
# that cannot be installed skip their check with a loud notice (a failure
# with RAPIDREBOOT_REQUIRE_TOOLS=1, as make check runs it).
set -u

changes=${1:?usage: run.sh PACKAGE.changes}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(dirname "$changes")
deb=$(sed -n 's/^ [0-9a-f]\{32\} [0-9]* [a-z]* [a-z]* \(rapidreboot_[^ ]*\.deb\)$/\1/p' "$changes" | head -1)
deb=$build/$deb
[ -f "$deb" ] || { echo "test-package: no .deb named in $changes"; exit 1; }
cache=${RAPIDREBOOT_CACHE:-$HOME/.cache/rapidreboot}/package
work=$(mktemp -d /tmp/rr-package.XXXXXX)
failed=""
skipped=""

cleanup() {
	if [ -n "${merged:-}" ] && mountpoint -q "$merged" 2>/dev/null; then
		for m in proc dev/pts dev; do umount "$merged/$m" 2>/dev/null; done
		umount "$merged"
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*"; failed="$failed
  - $*"; }
pass() { echo "ok:   $*"; }
skip() {
	# make check installed every tool first (make deps): there a skip
	# would pass a check that did not run, so it fails.
	if [ "${RAPIDREBOOT_REQUIRE_TOOLS:-}" = 1 ]; then fail "$* (RAPIDREBOOT_REQUIRE_TOOLS=1: no skips)"; return; fi
	echo "########################################################################"
	echo "SKIPPED: $*"
	echo "########################################################################"
	skipped="$skipped
  - $*"
}

# need TOOL PACKAGE: make TOOL available or say why not.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1
	command -v "$1" >/dev/null 2>&1
}

echo "test-package: $deb ($(du -k "$deb" | cut -f1) KiB)"
root=$work/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$work/control"

# --- 1. contents -------------------------------------------------------------
# The Debian build's install variables (debian/rules MAKE_VARS).
make -s --no-print-directory -C "$top" install-files $(make -s -C "$top" -f debian/rules print-install-vars) \
	| sed -e 's|^\(/usr/share/man/.*\)$|\1.gz|' >"$work/want"
# Debian's own files, and the masks of the init scripts' names under systemd.
{
	echo /usr/share/doc/rapidreboot/changelog.Debian.gz
	echo /usr/share/doc/rapidreboot/copyright
	echo /usr/share/lintian/overrides/rapidreboot
	grep '^/etc/init.d/' "$work/want" | sed 's|^/etc/init.d/\(.*\)|/lib/systemd/system/\1.service|'
} >>"$work/want"
sort -u -o "$work/want" "$work/want"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\.||' | sort -u >"$work/have"
missing=$(comm -23 "$work/want" "$work/have")
extra=$(comm -13 "$work/want" "$work/have")
if [ -z "$missing$extra" ]; then
	pass "contents: the $(wc -l <"$work/have") files make install lays out"
else
	[ -n "$missing" ] && fail "contents: missing from the package:
$(echo "$missing" | sed 's/^/      /')"
	[ -n "$extra" ] && fail "contents: in the package but not in mk/install.mk's manifest:
$(echo "$extra" | sed 's/^/      /')"
fi
for f in usr/bin/rapidreboot usr/bin/rapidrebootctl usr/libexec/rapidreboot/rapidreboot-helper \
	usr/lib/systemd/system-shutdown/rapidreboot; do
	[ -e "$root/$f" ] || continue
	if [ "$(stat -c %a "$root/$f")" != 755 ]; then fail "contents: /$f is not mode 0755"; fi
done

# The binaries' linkage (the root programs static, the dialog dynamic) and
# the installed units' systemd-analyze security scores: test/package's Go
# tests, on this unpacked package.
if out=$(cd "$top" && RAPIDREBOOT_PACKAGE_ROOT=$root ${GO:-go} test -count=1 -v \
	-run '^(TestThePackagedRootProgramsAreStaticAndTheDialogIsDynamic|TestThePackagedUnitsScoreAtMost25)$' ./test/package/ 2>&1); then
	echo "$out" | grep -E '^\s+package_test.go' | sed 's/^\s*package_test.go:[0-9]*: /      /'
	pass "linkage: helper, hook and rapidrebootctl static, the dialog dynamic; every unit's exposure at most 2.5"
else
	fail "linkage or unit exposure (test/package/package_test.go):
$(echo "$out" | sed 's/^/      /')"
fi

# Every vendored module has its licence in debian/copyright.
modules=$(ls "$build"/deb-work/rapidreboot-*/vendor/modules.txt 2>/dev/null | head -1)
if [ -n "$modules" ]; then
	nolicence=""
	for m in $(awk '$1 == "#" && $2 !~ /^=>/ {print $2}' "$modules"); do
		grep -q "^Files: vendor/$m/\*\$" "$top/debian/copyright" || nolicence="$nolicence $m"
	done
	if [ -z "$nolicence" ]; then
		pass "debian/copyright names all $(grep -c '^# ' "$modules") vendored modules"
	else
		fail "debian/copyright lacks a Files: vendor/<module>/* stanza for:$nolicence"
	fi
else
	fail "no vendor/modules.txt under $build/deb-work: was the package built by make deb?"
fi

# --- 4. install and purge in a chroot (first: its root also lends the
# validators the DTDs the host may lack) ------------------------------------------
"$here/chroot.sh" "$deb" "$work" "$cache"
case $? in
0) pass "install and purge in a Debian 12 chroot leave nothing behind" ;;
77) skip "install and purge: no chroot (see above)" ;;
*) fail "install and purge in a Debian 12 chroot (see above)" ;;
esac

# The Depends resolve on Debian 12 and on Debian 13, whose libraries carry
# the t64 names (a private apt configuration each, under the cache).
for suite in bookworm trixie; do
	"$here/depends.sh" "$suite" "$deb" "$cache"
	case $? in
	0) pass "Depends resolve on $suite (apt-get install -s, private apt configuration)" ;;
	77) skip "Depends on $suite: the archive cannot be reached" ;;
	*) fail "Depends do not resolve on $suite (see above)" ;;
	esac
done

# --- 2. lintian ----------------------------------------------------------------
if need lintian lintian; then
	# Info tags are shown for the record; errors and warnings fail.
	lintian --display-info --fail-on error,warning "$changes" >"$work/lintian" 2>&1
	status=$?
	grep -v '^running with root privileges' "$work/lintian" | sed 's/^/      /'
	if [ $status -eq 0 ]; then
		pass "lintian: no errors, no warnings ($(grep -c '^I:' "$work/lintian") info)"
	else
		fail "lintian: $(grep -c '^E:' "$work/lintian") error(s), $(grep -c '^W:' "$work/lintian") warning(s)"
	fi
else
	skip "lintian: cannot install lintian"
fi

# --- 3. validators -------------------------------------------------------------
if need desktop-file-validate desktop-file-utils; then
	for f in "$root"/usr/share/applications/*.desktop "$root"/etc/xdg/autostart/*.desktop; do
		[ -e "$f" ] || continue
		if out=$(desktop-file-validate "$f" 2>&1) && [ -z "$out" ]; then
			pass "desktop-file-validate ${f#"$root"}"
		else
			fail "desktop-file-validate ${f#"$root"}: $out"
		fi
	done
else
	skip "desktop-file-validate: cannot install desktop-file-utils"
fi

if need appstreamcli appstream; then
	for f in "$root"/usr/share/metainfo/*.xml; do
		[ -e "$f" ] || continue
		if out=$(appstreamcli validate --no-net --explain "$f" 2>&1); then
			pass "appstreamcli validate ${f#"$root"}"
		else
			fail "appstreamcli validate ${f#"$root"}:
$out"
		fi
	done
else
	skip "appstreamcli: cannot install appstream"
fi

if need xmllint libxml2-utils; then
	# validate FILE [DTD]: well-formed, and valid when a local DTD is known
	# (never fetched: --nonet).
	validate() {
		if [ -n "${2:-}" ] && [ ! -f "$2" ] && [ -f "$(cat "$work/base" 2>/dev/null)$2" ]; then
			set -- "$1" "$(cat "$work/base")$2"
		fi
		if [ -n "${2:-}" ] && [ -f "$2" ]; then
			out=$(xmllint --noout --nonet --dtdvalid "$2" "$1" 2>&1) && pass "xmllint ${1#"$root"} (valid: $(basename "$2"))" ||
				fail "xmllint ${1#"$root"} against $(basename "$2"): $out"
		else
			out=$(xmllint --noout --nonet "$1" 2>&1) && pass "xmllint ${1#"$root"} (well-formed)" ||
				fail "xmllint ${1#"$root"}: $out"
		fi
	}
	# dbus 1.14's busconfig.dtd predates send_destination and friends (every
	# .conf in Debian fails it), so the bus policy is checked well-formed
	# here and parsed by a real dbus-daemon below.
	for f in "$root"/usr/share/dbus-1/system.d/*.conf; do
		[ -e "$f" ] && validate "$f"
	done
	for f in "$root"/usr/share/dbus-1/interfaces/*.xml; do
		[ -e "$f" ] && validate "$f" /usr/share/xml/dbus-1/introspect.dtd
	done
	for f in "$root"/usr/share/polkit-1/actions/*.policy; do
		[ -e "$f" ] && validate "$f" /usr/share/polkit-1/policyconfig-1.dtd
	done
	for f in "$root"/usr/share/icons/hicolor/scalable/apps/*.svg "$root"/usr/share/metainfo/*.xml; do
		[ -e "$f" ] && validate "$f"
	done
	base=$(cat "$work/base" 2>/dev/null)
	[ -e /usr/share/xml/dbus-1/introspect.dtd ] || [ -e "$base/usr/share/xml/dbus-1/introspect.dtd" ] ||
		skip "D-Bus introspection DTD not found (package libdbus-1-dev): well-formedness only"
	[ -e /usr/share/polkit-1/policyconfig-1.dtd ] || [ -e "$base/usr/share/polkit-1/policyconfig-1.dtd" ] ||
		skip "polkit DTD not found (package polkitd, or the chroot): well-formedness only"
else
	skip "xmllint: cannot install libxml2-utils"
fi

# The activation file names the bus name, our helper and our unit.
svc=$root/usr/share/dbus-1/system-services/io.github.rapidreboot.Helper1.service
if [ -f "$svc" ]; then
	name=$(sed -n 's/^Name=//p' "$svc")
	exe=$(sed -n 's/^Exec=//p' "$svc" | cut -d' ' -f1)
	unit=$(sed -n 's/^SystemdService=//p' "$svc")
	user=$(sed -n 's/^User=//p' "$svc")
	if [ "$name" = io.github.rapidreboot.Helper1 ] && [ -x "$root$exe" ] && [ "$user" = root ] &&
		[ -f "$root/lib/systemd/system/$unit" ] &&
		grep -q "^BusName=$name\$" "$root/lib/systemd/system/$unit" &&
		grep -q "^ExecStart=$exe\$" "$root/lib/systemd/system/$unit" &&
		grep -q "own=\"$name\"" "$root/usr/share/dbus-1/system.d/$name.conf"; then
		pass "D-Bus activation: $name -> $exe as $user via $unit; policy lets root own it"
	else
		fail "D-Bus activation file, unit and policy disagree (Name=$name Exec=$exe User=$user SystemdService=$unit)"
	fi
fi

for f in "$work"/control/preinst "$work"/control/postinst "$work"/control/prerm "$work"/control/postrm "$root"/etc/init.d/*; do
	[ -e "$f" ] || continue
	if out=$(sh -n "$f" 2>&1); then pass "sh -n ${f#"$work"/}"; else fail "sh -n ${f#"$work"/}: $out"; fi
done

# The bus policy as dbus-daemon reads it: a private system-type bus that
# includes it must start (an unknown attribute or element stops it).
conf=$root/usr/share/dbus-1/system.d/io.github.rapidreboot.Helper1.conf
if [ -f "$conf" ] && command -v dbus-daemon >/dev/null 2>&1; then
	mkdir -p "$work/bus"
	cat >"$work/bus/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:dir=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/></policy>
  <include>$conf</include>
</busconfig>
EOF
	dbus-daemon --config-file="$work/bus/bus.conf" --nofork --print-address=1 >"$work/bus/addr" 2>"$work/bus/err" &
	pid=$!
	i=0
	while [ ! -s "$work/bus/addr" ] && kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	if [ -s "$work/bus/addr" ]; then
		pass "dbus-daemon accepts ${conf#"$root"}"
	else
		fail "dbus-daemon refuses ${conf#"$root"}: $(grep -v 'fd limit' "$work/bus/err")"
	fi
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
else
	[ -f "$conf" ] && skip "dbus-daemon not installed: the bus policy was not parsed"
fi

# --- 5. make install for other distributions -----------------------------------
# The same manifest under another prefix, and uninstall takes it all back.
stage=$work/stage
vars="PREFIX=/usr/local SYSCONFDIR=/usr/local/etc"
if make -s --no-print-directory -C "$top" install DESTDIR="$stage" $vars >"$work/install.log" 2>&1; then
	(cd "$stage" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$work/staged"
	make -s --no-print-directory -C "$top" install-files $vars | sort >"$work/manifest"
	if [ -z "$(comm -3 "$work/manifest" "$work/staged")" ]; then
		pass "make install DESTDIR=… $vars lays out the $(wc -l <"$work/staged") manifest files"
	else
		fail "make install $vars differs from install-files:
$(comm -3 "$work/manifest" "$work/staged" | sed 's/^/      /')"
	fi
	make -s --no-print-directory -C "$top" uninstall DESTDIR="$stage" $vars
	left=$(find "$stage" -type f -o -type l)
	if [ -z "$left" ]; then pass "make uninstall removes every file"; else fail "make uninstall left: $left"; fi
else
	sed 's/^/      /' "$work/install.log" | tail -20
	fail "make install DESTDIR=… $vars"
fi

echo
if [ -n "$skipped" ]; then echo "test-package: SKIPPED checks:$skipped"; fi
if [ -n "$failed" ]; then
	echo "test-package: FAILED:$failed"
	exit 1
fi
echo "test-package: all checks passed"
