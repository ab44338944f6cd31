package grub

import (
	"fmt"
	"strings"
)

// ParseDefaults reads a shell file of assignments such as /etc/default/grub
// or /etc/default/grub.d/*.cfg into vars, which carries the values of
// earlier files (grub-mkconfig sources /etc/default/grub, then grub.d/*.cfg
// in name order, so later files override and may say "$GRUB_CMDLINE_LINUX").
//
// The subset is what these files contain in practice: NAME=word with an
// optional `export`, words made of unquoted text, '...' and "..." parts
// (spanning lines), $NAME and ${NAME} expansion, backslash escapes, and
// comments. Anything else — conditionals, commands, $(...) and `...` — is
// not run: the line is skipped (a command substitution expands to nothing)
// and a warning names it, since grub-mkconfig might have computed a
// different value.
//
// The value is read by grub.cfg's lexer in its shell dialect (lexer.sh):
// one implementation of quoting, escapes and expansions for both files.
func ParseDefaults(src []byte, file string, vars map[string]string) (warnings []string) {
	s := string(src)
	line := 1
	warn := func(l int, format string, a ...any) {
		if len(warnings) < 20 {
			warnings = append(warnings, fmt.Sprintf("%s:%d: ", file, l)+fmt.Sprintf(format, a...))
		}
	}
	lx := lexer{src: s, file: file, sh: true}
	i := 0
	for i < len(s) {
		// Skip blanks and empty lines.
		c := s[i]
		if c == ' ' || c == '\t' || c == '\r' || c == ';' {
			i++
			continue
		}
		if c == '\n' {
			line++
			i++
			continue
		}
		if c == '#' {
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		start := line
		j := i
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
		name := s[i:j]
		if name == "export" && j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			i = j
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			continue
		}
		if !validName(name) || j >= len(s) || s[j] != '=' {
			// Not an assignment: skip the rest of the line.
			end := strings.IndexByte(s[i:], '\n')
			text := s[i:]
			if end >= 0 {
				text = s[i : i+end]
			}
			if t := strings.TrimSpace(text); t != "" && t != "fi" && t != "then" && t != "else" {
				if len(t) > 60 {
					t = t[:60] + "..."
				}
				warn(start, "not an assignment, ignored: %s", t)
			}
			if end < 0 {
				break
			}
			i += end
			continue
		}
		// The value is one shell word, read by the lexer's shell dialect
		// and expanded here from the earlier assignments (no splitting:
		// an assignment's value is one word in the shell too).
		lx.pos, lx.line, lx.arena = j+1, line, lx.arena[:0]
		w, err := lx.word()
		i, line = lx.pos, lx.line
		if err != nil {
			warn(start, "unterminated quote in %s", name)
		}
		val, subst := w.join(func(n string) string { return vars[n] }, maxVarLen)
		if subst {
			warn(start, "%s uses a command substitution, which is not run", name)
		}
		// Bounded as GRUB bounds its variables: A="$A$A" on every line
		// would otherwise double a value until memory runs out.
		if len(val) > maxVarLen {
			warn(start, "the value of %s is longer than %d bytes; cut", name, maxVarLen)
			val = val[:maxVarLen]
		}
		vars[name] = val
		// Whatever follows on the line (a comment, another assignment
		// after ';') is handled by the main loop.
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
		if i < len(s) && s[i] != '\n' && s[i] != '#' && s[i] != ';' {
			end := strings.IndexByte(s[i:], '\n')
			warn(start, "text after the value of %s ignored", name)
			if end < 0 {
				break
			}
			i += end
		}
	}
	return warnings
}

// KernelArgs is what grub-mkconfig's 10_linux puts after "ro" for the
// default entry: GRUB_CMDLINE_LINUX then GRUB_CMDLINE_LINUX_DEFAULT. The
// values are pasted into grub.cfg's linux line, so GRUB's lexer, not the
// shell, has the last word on their quoting: they are run through it and
// joined as GRUB joins kernel arguments. Variables in them ($vt_handoff)
// are unknown here and expand to nothing.
func KernelArgs(vars map[string]string) (string, error) {
	text := vars["GRUB_CMDLINE_LINUX"] + " " + vars["GRUB_CMDLINE_LINUX_DEFAULT"]
	args, err := SplitArgs(text)
	if err != nil {
		return "", err
	}
	return Cmdline(args), nil
}

// SplitArgs splits text into arguments with GRUB's lexer, as if it followed
// a command on one line, variables expanding to nothing.
func SplitArgs(text string) ([]string, error) { return ExpandArgs(text, nil) }

// ExpandArgs splits text into arguments with GRUB's lexer and expands its
// variables from vars (unknown ones are empty), as a linux line would.
func ExpandArgs(text string, vars map[string]string) ([]string, error) {
	list, err := parse("x "+text, "command line")
	if err != nil {
		return nil, err
	}
	in := &interp{sc: &scope{vars: map[string]*variable{}}, budget: baseBudget + len(text)}
	for k, v := range vars {
		in.sc.vars[k] = &variable{val: v}
	}
	var args []string
	first := true
	for _, st := range list {
		c, ok := st.(*cmdStmt)
		if !ok {
			return nil, fmt.Errorf("not a plain list of arguments")
		}
		a, err := in.expand(c.words)
		if err != nil {
			return nil, err
		}
		if first {
			a, first = a[1:], false
		}
		args = append(args, a...)
	}
	return args, nil
}
