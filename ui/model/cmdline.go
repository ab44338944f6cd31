package model

import "strings"

// The kernel command line, as the kernel splits it (kernel/params.c,
// next_arg in lib/cmdline.c of Linux 6.1): parameters are separated by
// white space; a double quote starts a part where white space does not
// separate (`foo="a b"`, or the whole `"foo=a b"`); a parameter's name is
// what comes before the first '=', with '-' and '_' the same (parameq);
// everything after a lone "--" is for init, not the kernel.
//
// Not supported: the bootconfig file (CONFIG_BOOT_CONFIG), whose
// parameters are not in the image's command line either way.

// ChangeKind is how a parameter differs between two command lines.
type ChangeKind int

const (
	ParamAdded   ChangeKind = iota // only in the planned command line
	ParamRemoved                   // only in the running one
	ParamChanged                   // in both, with other values
)

// ParamChange is one parameter that differs. A name given more than once
// (console=tty0 console=ttyS0) is one change, its occurrences joined by a
// space in Old and New, as written.
type ParamChange struct {
	Kind     ChangeKind
	Name     string // as first written in the planned line (running, if removed)
	Old, New string
}

// ignoredParams are the boot loader's notes on how it loaded this boot,
// not choices of the system's, and a plan leaves them out
// (backend/system/bootplan's oneShotKeys): GRUB writes BOOT_IMAGE= with the path
// it loaded the kernel from, systemd-boot initrd=\… for each initrd it
// hands the EFI stub (kexec passes initrds itself). Shown, they would be
// a "removed:" line on every machine. The other words a plan drops
// (systemd.unit=, single, init=…) are real differences and are shown.
var ignoredParams = map[string]bool{"BOOT_IMAGE": true, "initrd": true}

// initArgs is the name the arguments after "--" are compared under.
const initArgs = "--"

// SplitCmdline splits a kernel command line into its parameters, as
// written (quotes kept).
func SplitCmdline(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	// Bytes, as the kernel reads them: a byte that is not UTF-8 stays
	// itself rather than becoming U+FFFD.
	for i := 0; i < len(s); i++ {
		r := s[i]
		if r == '"' {
			quoted = !quoted
		}
		if !quoted && isSpace(r) {
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
			continue
		}
		b.WriteByte(r)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// isSpace is the kernel's isspace() for the ASCII it allows.
func isSpace(r byte) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// paramName is the name the kernel matches a parameter by.
func paramName(p string) string {
	name, _, _ := strings.Cut(strings.ReplaceAll(p, `"`, ""), "=")
	return strings.ReplaceAll(name, "-", "_")
}

// paramMeaning is a parameter as the kernel reads it: the name as
// matched, and the value without its quotes.
func paramMeaning(p string) string {
	_, value, hasValue := strings.Cut(strings.ReplaceAll(p, `"`, ""), "=")
	if !hasValue {
		return paramName(p)
	}
	return paramName(p) + "=" + value
}

// group is one name's occurrences: as written, and as meant.
type group struct{ written, meant []string }

// params groups a command line's parameters by name, in order of first
// appearance; the arguments after "--" are one group named initArgs.
func params(s string) (order []string, byName map[string]*group, shownName map[string]string) {
	byName, shownName = map[string]*group{}, map[string]string{}
	add := func(key, shown, p, meant string) {
		g, seen := byName[key]
		if !seen {
			order = append(order, key)
			shownName[key] = shown
			g = &group{}
			byName[key] = g
		}
		g.written = append(g.written, p)
		g.meant = append(g.meant, meant)
	}
	ps := SplitCmdline(s)
	for i, p := range ps {
		if p == initArgs {
			if rest := ps[i+1:]; len(rest) > 0 {
				args := strings.Join(rest, " ")
				add(initArgs, initArgs, args, args)
			}
			break
		}
		shown, _, _ := strings.Cut(strings.ReplaceAll(p, `"`, ""), "=")
		name := paramName(p)
		if ignoredParams[name] {
			continue
		}
		add(name, shown, p, paramMeaning(p))
	}
	return order, byName, shownName
}

// DiffCmdline says how planned differs from running, parameter by name:
// the planned line's added and changed parameters in its order, then the
// removed ones in the running line's order. Lines the kernel reads alike
// give none: BOOT_IMAGE, spacing, quotes, '-' for '_' in a name, and the
// order of different names do not count; the order of one name's
// occurrences does (the last console= is /dev/console).
func DiffCmdline(running, planned string) []ParamChange {
	rOrder, rBy, rWritten := params(running)
	pOrder, pBy, pWritten := params(planned)
	var out []ParamChange
	for _, name := range pOrder {
		p := pBy[name]
		r, ok := rBy[name]
		switch {
		case !ok:
			out = append(out, ParamChange{Kind: ParamAdded, Name: pWritten[name], New: strings.Join(p.written, " ")})
		case strings.Join(r.meant, " ") != strings.Join(p.meant, " "):
			out = append(out, ParamChange{Kind: ParamChanged, Name: pWritten[name], Old: strings.Join(r.written, " "), New: strings.Join(p.written, " ")})
		}
	}
	for _, name := range rOrder {
		if _, ok := pBy[name]; !ok {
			out = append(out, ParamChange{Kind: ParamRemoved, Name: rWritten[name], Old: strings.Join(rBy[name].written, " ")})
		}
	}
	return out
}
