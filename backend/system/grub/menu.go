package grub

import (
	"fmt"
	"strings"
)

// Evaluate runs the grub.cfg script src as GRUB's normal mode would on a
// cold boot with no key pressed, picks the default entry (descending into
// submenus) and runs its body, recording the boot commands.
//
// Errors: *ParseError for a syntax error in the main file, ErrNoEntries
// when no entry is defined, ErrBudget when the script does unbounded work,
// and plain errors for oversized variables or an empty submenu.
func Evaluate(src []byte, opt Options) (*Boot, error) {
	list, err := parse(string(src), opt.File)
	if err != nil {
		return nil, err
	}
	in := &interp{
		opt:    opt,
		sc:     &scope{vars: map[string]*variable{}, funcs: map[string]*funcStmt{}},
		budget: baseBudget + len(src),
		file:   opt.File,
		boot:   &Boot{},
	}
	for k, v := range opt.Vars {
		in.sc.vars[k] = &variable{val: v, exported: true}
	}
	if err := in.run(list); err != nil {
		return nil, err
	}
	in.stop = false
	b := in.boot
	if len(in.sc.menu) == 0 {
		b.Warnings = in.warns
		return nil, ErrNoEntries
	}
	b.MenuLength = len(in.sc.menu)
	if v, ok := in.sc.vars["default"]; ok {
		b.DefaultSet = v.ref
		for _, name := range []string{"next_entry", "saved_entry"} {
			if v.fromEnv == name || v.val != "" && in.envValue(name) == v.val {
				b.DefaultVia = name
				break
			}
		}
		b.NextEntry = b.DefaultVia == "next_entry"
	}
	top, topScope := in.sc.menu, in.sc
	for {
		def, isSet := in.get("default")
		if isSet {
			b.Default = append(b.Default, def)
		} else {
			b.Default = append(b.Default, "")
		}
		idx, named := pick(in.sc.menu, def, isSet)
		e := in.sc.menu[idx]
		if !named && def != "" && b.Unmatched == "" {
			// An empty default is GRUB_DEFAULT=saved before anything
			// was saved: ordinary, and GRUB's entry 0 is what was meant.
			b.Unmatched, b.UnmatchedLevel = def, len(b.Path)
		}
		b.Path = append(b.Path, e.title)
		b.Indices = append(b.Indices, idx)
		rest, hasRest := remainder(def, isSet)
		if e.submenu {
			// GRUB opens a new environment context: only exported
			// variables cross into it; `default` becomes the rest of the path.
			sc := &scope{vars: map[string]*variable{}, funcs: in.sc.funcs}
			for k, v := range in.sc.vars {
				if v.exported {
					c := *v
					sc.vars[k] = &c
				}
			}
			delete(sc.vars, "default")
			if hasRest {
				sc.vars["default"] = &variable{val: rest, ref: e.ref}
			}
			in.sc = sc
			in.params = e.args
			in.file = e.ref.File
			body, err := e.body()
			if err != nil {
				return nil, err
			}
			if len(b.Path) > maxDepth {
				return nil, fmt.Errorf("%s: submenus nested more than %d deep", e.ref, maxDepth)
			}
			if err := in.run(body); err != nil {
				return nil, err
			}
			in.stop = false
			if len(in.sc.menu) == 0 {
				b.Warnings = in.warns
				return nil, fmt.Errorf("%s: submenu %q has no entries", e.ref, e.title)
			}
			continue
		}
		b.Entry = e.ref
		in.params = e.args
		in.file = e.ref.File
		in.inEntry = true
		body, err := e.body()
		if err != nil {
			return nil, err
		}
		if err := in.run(body); err != nil {
			return nil, err
		}
		in.inEntry = false
		break
	}
	if !bootCommands[b.Loader] {
		// Is the default the only problem, or does the menu start no
		// Linux at all? The caller words its refusal accordingly.
		b.MenuHasLinux = in.menuHasLinux(top, topScope, 0)
	}
	b.Warnings = in.warns
	b.EnvLoaded = in.loaded
	return b, nil
}

// copyScope copies variables so a probe cannot change them.
func copyScope(sc *scope, onlyExported bool) *scope {
	c := &scope{vars: map[string]*variable{}, funcs: sc.funcs}
	for k, v := range sc.vars {
		if !onlyExported || v.exported {
			vv := *v
			c.vars[k] = &vv
		}
	}
	return c
}

// menuHasLinux runs every entry of menu (and of its submenus) in a copy of
// sc and reports whether any of them loads a Linux kernel.
func (in *interp) menuHasLinux(menu []*entry, sc *scope, depth int) bool {
	if depth > maxDepth {
		return false
	}
	saved, savedBoot, savedIn := in.sc, in.boot, in.inEntry
	defer func() { in.sc, in.boot, in.inEntry = saved, savedBoot, savedIn }()
	for _, e := range menu {
		in.params = e.args
		in.stop = false
		if e.submenu {
			in.sc = copyScope(sc, true)
			in.sc.menu = nil
			in.inEntry = false
			body, err := e.body()
			if err != nil || in.run(body) != nil {
				continue
			}
			sub := in.sc
			if in.menuHasLinux(sub.menu, sub, depth+1) {
				return true
			}
			continue
		}
		in.sc = copyScope(sc, false)
		in.boot = &Boot{}
		in.inEntry = true
		body, err := e.body()
		if err != nil || in.run(body) != nil {
			continue
		}
		if bootCommands[in.boot.Loader] {
			return true
		}
	}
	return false
}

// envValue is the value grubenv gave name, if load_env read it (the
// script may have cleared the variable since, as it does next_entry).
func (in *interp) envValue(name string) string { return in.envVals[name] }

// pick returns the index of the entry `default` names, and whether it
// names one (false when GRUB falls back to entry 0), as
// grub-core/normal/menu.c get_entry_number does: a number (GRUB's strtoul:
// leading blanks, 0x hex, leading-0 octal, trailing text ignored), else the
// first entry whose title or id equals the value up to its first '>'
// (">>" stands for a literal '>'); anything else, or out of range, is 0.
func pick(menu []*entry, def string, isSet bool) (int, bool) {
	if !isSet {
		return 0, false
	}
	n, isNum := grubStrtoul(def)
	if !isNum {
		n = -1
		for i, e := range menu {
			if menuEq(e.title, def) || menuEq(e.id, def) {
				n = i
				break
			}
		}
	}
	if n < 0 || n >= len(menu) {
		return 0, false
	}
	return n, true
}

// grubStrtoul mimics grub_strtoul(s, 0, 0): ok is false only when there is
// no number at all (GRUB_ERR_BAD_NUMBER); overflow yields -1.
func grubStrtoul(s string) (int, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	base := 10
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		base = 16
		i += 2
	} else if i+1 < len(s) && s[i] == '0' && s[i+1] >= '0' && s[i+1] <= '7' {
		base = 8
	}
	n, found := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'f':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int(c-'A') + 10
		default:
			d = 99
		}
		if d >= base {
			break
		}
		found = true
		if n > (1<<31)/base {
			return -1, true
		}
		n = n*base + d
	}
	return n, found
}

// menuEq is GRUB's menuentry_eq.
func menuEq(id, spec string) bool {
	i, j := 0, 0
	for {
		if j < len(spec) && spec[j] == '>' {
			if j+1 >= len(spec) || spec[j+1] != '>' {
				return i == len(id)
			}
			j++
		}
		ie, je := i >= len(id), j >= len(spec)
		if ie || je {
			return ie && je
		}
		if id[i] != spec[j] {
			return false
		}
		i++
		j++
	}
}

// remainder is what `default` becomes inside a submenu: the text after the
// first '>' that is not part of ">>", if any is left.
func remainder(def string, isSet bool) (string, bool) {
	if !isSet {
		return "", false
	}
	for i := 0; i < len(def); i++ {
		if def[i] == '>' {
			if i+1 < len(def) && def[i+1] == '>' {
				i++
				continue
			}
			if i+1 < len(def) {
				return def[i+1:], true
			}
			return "", false
		}
	}
	return "", false
}

// Cmdline joins kernel arguments as grub-core/lib/cmdline.c does: '\\',
// '\” and '"' get a backslash, an argument with a space is put in double
// quotes, arguments are separated by one space.
func Cmdline(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		space := strings.IndexByte(a, ' ') >= 0
		if space {
			b.WriteByte('"')
		}
		for j := 0; j < len(a); j++ {
			if c := a[j]; c == '\\' || c == '\'' || c == '"' {
				b.WriteByte('\\')
			}
			b.WriteByte(a[j])
		}
		if space {
			b.WriteByte('"')
		}
	}
	return b.String()
}
