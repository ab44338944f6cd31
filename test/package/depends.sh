#!/bin/sh
# Do the package's Depends resolve on a Debian release? (issue 15 Required 5:
# one package for Debian 12 and 13.)
#
#   test/package/depends.sh SUITE PACKAGE.deb CACHE
#
# A private apt configuration under CACHE/apt-SUITE (its own sources list,
# lists, archive cache and an empty dpkg status) lets `apt-get install -s`
# resolve the .deb against SUITE's archive as on a fresh system. It never
# touches this machine's apt sources or state. Debian 13 renamed many
# libraries for the 64-bit time_t transition (libgtk-3-0 -> libgtk-3-0t64);
# the new packages provide the old names with a version, which is what this
# proves for the names ${shlibs:Depends} wrote on the build machine.
#
# Exit status: 0 resolvable, 1 not, 77 the archive cannot be reached.
set -u

suite=${1:?usage: depends.sh SUITE PACKAGE.deb CACHE}
deb=${2:?usage: depends.sh SUITE PACKAGE.deb CACHE}
cache=${3:?usage: depends.sh SUITE PACKAGE.deb CACHE}
mirror=${RAPIDREBOOT_DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

a=$cache/apt-$suite
mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/sources.list.d" "$a/preferences.d"
cat >"$a/sources.list" <<EOF
deb [signed-by=$keyring] $mirror/debian $suite main
deb [signed-by=$keyring] $mirror/debian $suite-updates main
deb [signed-by=$keyring] $mirror/debian-security $suite-security main
EOF
: >"$a/status"
cat >"$a/apt.conf" <<EOF
Dir::Etc::SourceList "$a/sources.list";
Dir::Etc::SourceParts "$a/sources.list.d";
Dir::Etc::Preferences "$a/preferences";
Dir::Etc::PreferencesParts "$a/preferences.d";
Dir::State::Lists "$a/lists";
Dir::State::status "$a/status";
Dir::Cache "$a/cache";
APT::Sandbox::User "root";
EOF
export APT_CONFIG="$a/apt.conf"

# Lists younger than a day are used as they are.
if [ -z "$(find "$a/lists" -maxdepth 1 -name '*_InRelease' -mmin -1440 2>/dev/null)" ]; then
	if ! apt-get -qq update >"$a/update.log" 2>&1; then
		echo "depends: cannot reach the $suite archive at $mirror:"
		sed 's/^/    /' "$a/update.log"
		exit 77
	fi
fi

# The .deb is copied: apt reads a local file as the _apt user when it can.
tmp=$(mktemp -d /tmp/rr-depends.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$deb" "$tmp/"
out=$(apt-get install -s --no-install-recommends "$tmp/$(basename "$deb")" 2>&1)
status=$?
if [ $status -ne 0 ]; then
	echo "depends: $(basename "$deb") does not install on $suite:"
	echo "$out" | grep -v '^\(Inst\|Conf\) ' | sed 's/^/    /'
	exit 1
fi
# Say which packages the library names resolved to (the t64 ones on 13).
pkgs=$(echo "$out" | sed -n 's/^Inst \(lib[^ ]*\|dbus\|polkitd\) .*/\1/p' |
	grep -E '^(libgtk-3|libglib2|libatk1|libcairo|libpango|libgdk-pixbuf|libfontconfig|libc6$|dbus$|polkitd$)' | tr '\n' ' ')
echo "depends: installs on $suite ($(echo "$out" | grep -c '^Inst ') packages): $pkgs"
exit 0
