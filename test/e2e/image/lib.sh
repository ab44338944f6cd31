# Helpers of build.sh, kept apart so that the harness's unit tests
# (test/e2e/image_unit_test.go) can run them on canned apt output without
# root, a chroot or the archive. Sourced by bash; every function reads its
# input from arguments and stdin and writes to stdout.

# packages_for SUITE < packages.txt: the package names for SUITE, one a
# line. A line "name" is for every suite; "SUITE: name..." only for that
# suite (packages renamed between releases, e.g. libgtk-3-0 of bookworm is
# libgtk-3-0t64 in trixie). '#' starts a comment.
packages_for() {
	sed 's/#.*//' | awk -v s="$1" '
		{ i = 1 }
		$1 ~ /:$/ { if ($1 != s ":") next; i = 2 }
		{ for (; i <= NF; i++) print $i }'
}

# kernel_series NAME: the series of a Debian kernel image package, the part
# every ABI of the same release shares, as an extended regular expression
# that matches the other ABIs' package names (the flavour stays anchored,
# so -rt-amd64, -dbg and -unsigned do not match):
#   Debian 12: linux-image-6.1.0-56-amd64        -> ^linux-image-6\.1\.0-[0-9]+-amd64$
#   Debian 13: linux-image-6.12.117+deb13-amd64  -> ^linux-image-6\.12\.[0-9]+\+deb13-amd64$
# Prints nothing and fails for a name of neither form.
kernel_series() {
	local n=$1 m
	if [[ $n =~ ^linux-image-([0-9]+)\.([0-9]+)\.([0-9]+)-[0-9]+-([a-z0-9]+)$ ]]; then
		m=("${BASH_REMATCH[@]}")
		printf '^linux-image-%s\\.%s\\.%s-[0-9]+-%s$\n' "${m[1]}" "${m[2]}" "${m[3]}" "${m[4]}"
	elif [[ $n =~ ^linux-image-([0-9]+)\.([0-9]+)\.[0-9]+\+(deb[0-9]+)-([a-z0-9]+)$ ]]; then
		m=("${BASH_REMATCH[@]}")
		printf '^linux-image-%s\\.%s\\.[0-9]+\\+%s-%s$\n' "${m[1]}" "${m[2]}" "${m[3]}" "${m[4]}"
	else
		return 1
	fi
}

# older_kernel NEWEST < package names: of the names of NEWEST's series
# (kernel_series), the highest version below NEWEST; nothing if there is
# none (or NEWEST has neither form).
older_kernel() {
	local newest=$1 re
	re=$(kernel_series "$newest") || return 0
	{ grep -E "$re"; echo "$newest"; } | sort -uV | awk -v n="$newest" '$0 == n { exit } { last = $0 } END { if (last != "") print last }'
}

# missing_packages NAME... < `apt-cache policy NAME...`: the names that
# have no installation candidate (not in the sources at all, or only a
# virtual package some other package provides), one a line.
missing_packages() {
	awk -v want="$*" '
		/^[^ \t].*:$/ { name = substr($0, 1, length($0) - 1); next }
		/^  Candidate: / { if ($2 != "(none)") ok[name] = 1 }
		END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in ok)) print w[i] }'
}

# The two below need die and log from the caller, and suite (and pkgs for
# check_packages) set.

# pick_kernels APT-CACHE...: sets newest and older from the sources that
# the apt-cache command given sees. newest is what linux-image-amd64 depends
# on (the newest in these sources); older what an older linux-image-amd64 of
# the sources depends on (the highest such), else the highest older ABI of
# the same series (kernel_series).
pick_kernels() {
	local v d best=""
	kdep() { "$@" show "linux-image-amd64${v:+=$v}" 2>/dev/null | sed -n 's/^Depends: \(linux-image-[0-9][^ ,]*\).*/\1/p' | head -1; }
	v=""
	newest=$(kdep "$@")
	older=""
	for v in $("$@" madison linux-image-amd64 | awk '{print $3}' | sort -uV); do
		d=$(kdep "$@")
		if [ -n "$d" ] && [ "$d" != "$newest" ]; then best=$d; fi
	done
	older=$best
	if [ -z "$older" ] && [ -n "$newest" ]; then
		older=$("$@" pkgnames linux-image- | older_kernel "$newest")
	fi
	[ -n "$newest" ] && [ -n "$older" ] ||
		die "cannot find two kernel versions in the $suite sources (newest '$newest', older '$older')"
}

# check_packages APT-CACHE...: fails, naming them, when the sources have
# no candidate for some of the packages in pkgs and older (renamed, only
# virtual, or the archive not read), and says who provides a virtual one:
# a quick, clear failure instead of apt-get install's later one.
check_packages() {
	local missing m hint
	# shellcheck disable=SC2086
	missing=$("$@" policy $pkgs "$older" 2>/dev/null | missing_packages $pkgs "$older" | tr '\n' ' ')
	[ -z "$missing" ] && return 0
	for m in $missing; do
		hint=$("$@" showpkg "$m" 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | sed '1d' | awk '{print $1}' | sort -u | tr '\n' ' ')
		log "not in the $suite sources: $m${hint:+ (a virtual package; provided by: ${hint% })}"
	done
	die "packages not found in the $suite sources: ${missing% } (test/e2e/image/packages.txt: use a \"$suite: name\" line)"
}
