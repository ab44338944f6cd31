// Package kver orders kernel release strings the way Debian does.
//
// The order is that of `linux-version sort` (linux-base, DebianLinux.pm
// version_cmp), which /etc/kernel/postinst.d hooks and update-grub's
// 10_linux use to decide which kernel is newest. It is not dpkg's order:
// a release is split into runs of digits and runs of other characters
// (a hyphen starts a new run), digit runs compare as numbers, other runs
// byte-wise ('.' > '-', so 2.6.32.1 > 2.6.32-1), a shorter release sorts
// first, and the runs "-rc" and "-trunk" sort before anything, even the end
// of the string (6.1-rc5 < 6.1). Examples: 6.1.0-9 < 6.1.0-27 < 6.10.0-1.
//
// Numbers are compared exactly at any length (Perl compares them as
// doubles, so the two differ only beyond 2^53).
package kver

import (
	"sort"
	"strings"
)

// split returns the runs of v as DebianLinux.pm's version_split does,
// including the empty run Perl's //g yields at the end of the string.
// It is an iterator rather than a slice so Compare allocates nothing.
type splitter struct {
	s    string
	i    int
	done bool
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next run and false at the end. The regex is
// /(?:\d+|-?[^-\d]*)/g: a digit run, or an optional hyphen followed by
// non-digit non-hyphen characters (possibly none).
func (sp *splitter) next() (string, bool) {
	if sp.done {
		return "", false
	}
	if sp.i >= len(sp.s) {
		sp.done = true // the trailing empty match
		return "", true
	}
	start := sp.i
	if isDigit(sp.s[sp.i]) {
		for sp.i < len(sp.s) && isDigit(sp.s[sp.i]) {
			sp.i++
		}
		return sp.s[start:sp.i], true
	}
	if sp.s[sp.i] == '-' {
		sp.i++
	}
	for sp.i < len(sp.s) && sp.s[sp.i] != '-' && !isDigit(sp.s[sp.i]) {
		sp.i++
	}
	return sp.s[start:sp.i], true
}

func isPre(run string) bool { return run == "-rc" || run == "-trunk" }

// compareNum compares two digit runs as unbounded integers.
func compareNum(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// Compare returns -1, 0 or 1 as release a sorts before, equal to or after b.
func Compare(a, b string) int {
	l, r := splitter{s: a}, splitter{s: b}
	for {
		lr, lok := l.next()
		rr, rok := r.next()
		lpre, rpre := lok && isPre(lr), rok && isPre(rr)
		// Pre-releases sort before anything, even end of string.
		if lpre || rpre {
			if !rpre {
				return -1
			}
			if !lpre {
				return 1
			}
		}
		if !lok || !rok {
			switch {
			case lok:
				return 1
			case rok:
				return -1
			}
			return 0
		}
		if lr != "" && rr != "" && isDigit(lr[0]) && isDigit(rr[0]) {
			if c := compareNum(lr, rr); c != 0 {
				return c
			}
			continue
		}
		if c := strings.Compare(lr, rr); c != 0 {
			return c
		}
	}
}

// Sort sorts releases oldest first, as `linux-version sort` prints them.
// Equal releases keep their order.
func Sort(vs []string) {
	sort.SliceStable(vs, func(i, j int) bool { return Compare(vs[i], vs[j]) < 0 })
}

// Newest returns the newest release of vs, or "" for none.
func Newest(vs []string) string {
	best := ""
	for i, v := range vs {
		if i == 0 || Compare(v, best) > 0 {
			best = v
		}
	}
	return best
}
