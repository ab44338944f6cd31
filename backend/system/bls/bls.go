// Package bls reads Boot Loader Specification type #1 entries
// (loader/entries/*.conf) and systemd-boot's loader/loader.conf, and orders
// and picks entries as systemd-boot does.
//
// References: the UAPI Group's Boot Loader Specification ("Type #1 Boot
// Loader Entry Keys", "Sorting") and systemd's sources: boot_entry_compare
// in src/boot/efi/boot.c, strverscmp_improved in
// src/fundamental/string-util-fundamental.c, loader.conf(5) for `default`.
//
// Supported keys: title, version, machine-id, sort-key, linux, initrd (may
// repeat; a line may hold several paths, as Fedora's grubby writes
// "$tuned_initrd"), options (may repeat, joined with a space), efi,
// devicetree, architecture; Fedora's grub_* keys are ignored. Boot
// counting suffixes ("+3-0") are stripped from the id and entries with no
// tries left sort last. Not supported: type #2 unified kernel images in
// EFI/Linux, the EFI variables LoaderEntryDefault/LoaderEntryOneShot (a
// target root has none), and loader.conf's @saved (treated as unset).
package bls

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Entry is one parsed .conf file.
type Entry struct {
	ID        string // file name without .conf and boot counter
	FileName  string // the file name as found
	Title     string
	Version   string
	MachineID string
	SortKey   string
	Linux     string
	Initrds   []string
	Options   string
	EFI       string
	Arch      string
	TriesLeft int // -1 when the name carries no boot counter
	Lines     map[string]int
}

// Parse parses one entry. name is its file name (e.g. "arch.conf").
func Parse(b []byte, name string) (*Entry, []string) {
	e := &Entry{FileName: name, TriesLeft: -1, Lines: map[string]int{}}
	e.ID = strings.TrimSuffix(name, ".conf")
	// Boot counting: "name+LEFT[-DONE].conf".
	if i := strings.LastIndexByte(e.ID, '+'); i >= 0 {
		left, _, _ := strings.Cut(e.ID[i+1:], "-")
		if n, err := strconv.Atoi(left); err == nil && n >= 0 {
			e.TriesLeft = n
			e.ID = e.ID[:i]
		}
	}
	var warns []string
	var opts []string
	for ln, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		if k2, v2, ok := strings.Cut(line, "\t"); ok && len(k2) < len(key) {
			key, val = k2, v2
		}
		val = strings.TrimSpace(val)
		if _, seen := e.Lines[key]; !seen {
			e.Lines[key] = ln + 1
		}
		switch key {
		case "title":
			e.Title = val
		case "version":
			e.Version = val
		case "machine-id":
			e.MachineID = val
		case "sort-key":
			e.SortKey = val
		case "linux":
			e.Linux = val
			e.Lines[key] = ln + 1
		case "initrd":
			e.Initrds = append(e.Initrds, strings.Fields(val)...)
		case "options":
			opts = append(opts, val)
		case "efi":
			e.EFI = val
		case "architecture":
			e.Arch = val
		case "devicetree", "devicetree-overlay", "grub_users", "grub_arg", "grub_class", "id":
		default:
			if len(warns) < 10 {
				warns = append(warns, fmt.Sprintf("%s:%d: unknown key %q ignored", name, ln+1, key))
			}
		}
	}
	e.Options = strings.Join(opts, " ")
	return e, warns
}

// Loader is loader/loader.conf.
type Loader struct {
	Default     string // glob pattern, "" when unset
	DefaultLine int
}

// ParseLoader parses loader.conf: "key value" lines, '#' comments.
func ParseLoader(b []byte) Loader {
	var l Loader
	for ln, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, _ := strings.Cut(strings.ReplaceAll(line, "\t", " "), " ")
		if key == "default" {
			l.Default = strings.TrimSpace(val)
			l.DefaultLine = ln + 1
		}
	}
	return l
}

// Sort orders entries as systemd-boot's menu does, first entry on top:
// entries with no tries left last; entries with a sort-key before those
// without, by sort-key, machine-id, then version newest first; finally by
// id, newest first (strverscmp_improved).
func Sort(es []*Entry) {
	sort.SliceStable(es, func(i, j int) bool { return compareEntries(es[i], es[j]) < 0 })
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func compareEntries(a, b *Entry) int {
	if c := b2i(a.TriesLeft == 0) - b2i(b.TriesLeft == 0); c != 0 {
		return c
	}
	if c := b2i(a.SortKey == "") - b2i(b.SortKey == ""); c != 0 {
		return c
	}
	if a.SortKey != "" && b.SortKey != "" {
		if c := strings.Compare(a.SortKey, b.SortKey); c != 0 {
			return c
		}
		if c := strings.Compare(a.MachineID, b.MachineID); c != 0 {
			return c
		}
		if c := -VersionCompare(a.Version, b.Version); c != 0 {
			return c
		}
	}
	return -VersionCompare(a.ID, b.ID)
}

// SortByVersion orders entries as Fedora's GRUB blscfg does: newest
// version first, then by id, newest first. (blscfg uses rpm's vercmp;
// strverscmp_improved is rpm's order for the releases kernels use.)
func SortByVersion(es []*Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		if c := VersionCompare(es[i].Version, es[j].Version); c != 0 {
			return c > 0
		}
		return VersionCompare(es[i].ID, es[j].ID) > 0
	})
}

// Default returns the index of the entry systemd-boot boots by default:
// the first in menu order whose id (with or without ".conf") matches the
// loader.conf pattern, else the first entry. matched reports whether the
// pattern matched.
func Default(es []*Entry, pattern string) (idx int, matched bool) {
	if pattern != "" && !strings.HasPrefix(pattern, "@") {
		for i, e := range es {
			for _, id := range []string{e.ID, e.ID + ".conf", e.FileName} {
				if ok, err := path.Match(pattern, id); err == nil && ok {
					return i, true
				}
			}
		}
	}
	return 0, false
}

func isValidVersionChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '~' || c == '-' || c == '^' || c == '.'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// VersionCompare is systemd's strverscmp_improved: '~' segments are oldest,
// then end of string, then '-', '^', '.' prefixed segments; numbers compare
// numerically and are newer than letters.
func VersionCompare(a, b string) int {
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	i, j := 0, 0
	for {
		for i < len(a) && !isValidVersionChar(a[i]) {
			i++
		}
		for j < len(b) && !isValidVersionChar(b[j]) {
			j++
		}
		ca, cb := at(a, i), at(b, j)
		if ca == '~' || cb == '~' {
			if r := cmp(b2i(ca != '~'), b2i(cb != '~')); r != 0 {
				return r
			}
			i++
			j++
		}
		ca, cb = at(a, i), at(b, j)
		if ca == 0 || cb == 0 {
			return cmp(int(ca), int(cb))
		}
		for _, sep := range []byte{'-', '^', '.'} {
			ca, cb = at(a, i), at(b, j)
			if ca == sep || cb == sep {
				if r := cmp(b2i(ca != sep), b2i(cb != sep)); r != 0 {
					return r
				}
				i++
				j++
			}
		}
		ca, cb = at(a, i), at(b, j)
		if isDigit(ca) || isDigit(cb) {
			ii, jj := i, j
			for ii < len(a) && isDigit(a[ii]) {
				ii++
			}
			for jj < len(b) && isDigit(b[jj]) {
				jj++
			}
			if r := cmp(b2i(i != ii), b2i(j != jj)); r != 0 {
				return r
			}
			for i < ii && a[i] == '0' {
				i++
			}
			for j < jj && b[j] == '0' {
				j++
			}
			if r := cmp(ii-i, jj-j); r != 0 {
				return r
			}
			if r := strings.Compare(a[i:ii], b[j:jj]); r != 0 {
				return r
			}
			i, j = ii, jj
			continue
		}
		ii, jj := i, j
		for ii < len(a) && isAlpha(a[ii]) {
			ii++
		}
		for jj < len(b) && isAlpha(b[jj]) {
			jj++
		}
		n := min(ii-i, jj-j)
		if r := strings.Compare(a[i:i+n], b[j:j+n]); r != 0 {
			return r
		}
		if r := cmp(ii-i, jj-j); r != 0 {
			return r
		}
		i, j = ii, jj
	}
}
