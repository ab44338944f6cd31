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
func ParseDefaults(src []byte, file string, vars map[string]string) (warnings []string) {
	s := string(src)
	line := 1
	warn := func(l int, format string, a ...any) {
		if len(warnings) < 20 {
			warnings = append(warnings, fmt.Sprintf("%s:%d: ", file, l)+fmt.Sprintf(format, a...))
		}
	}
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
		i = j + 1
		var val strings.Builder
		subst := false
	word:
		for i < len(s) {
			c := s[i]
			switch c {
			case ' ', '\t', '\r', '\n', ';':
				break word
			case '\\':
				if i+1 < len(s) {
					if s[i+1] == '\n' {
						line++
					} else {
						val.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				i++
			case '\'':
				end := strings.IndexByte(s[i+1:], '\'')
				if end < 0 {
					warn(start, "unterminated quote in %s", name)
					end = len(s) - i - 1
				}
				part := s[i+1 : i+1+end]
				line += strings.Count(part, "\n")
				val.WriteString(part)
				i += end + 2
			case '"':
				i++
				for i < len(s) && s[i] != '"' {
					d := s[i]
					switch {
					case d == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0:
						if s[i+1] == '\n' {
							line++
						} else {
							val.WriteByte(s[i+1])
						}
						i += 2
					case d == '$':
						n, ok := expandShellVar(s, &i, vars, &val)
						if !ok {
							subst = subst || n
						}
					case d == '`':
						subst = true
						end := strings.IndexByte(s[i+1:], '`')
						if end < 0 {
							i = len(s)
						} else {
							i += end + 2
						}
					default:
						if d == '\n' {
							line++
						}
						val.WriteByte(d)
						i++
					}
				}
				if i >= len(s) {
					warn(start, "unterminated quote in %s", name)
				}
				i++
			case '$':
				n, ok := expandShellVar(s, &i, vars, &val)
				if !ok {
					subst = subst || n
				}
			case '`':
				subst = true
				end := strings.IndexByte(s[i+1:], '`')
				if end < 0 {
					i = len(s)
				} else {
					i += end + 2
				}
			default:
				val.WriteByte(c)
				i++
			}
		}
		if subst {
			warn(start, "%s uses a command substitution, which is not run", name)
		}
		vars[name] = val.String()
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

// expandShellVar expands $NAME, ${NAME} or a lone '$' at s[*i], appending to
// val. It returns (true, false) for $( ... ), which it skips.
func expandShellVar(s string, i *int, vars map[string]string, val *strings.Builder) (subst bool, ok bool) {
	j := *i + 1
	if j < len(s) && s[j] == '(' {
		depth := 0
		for j < len(s) {
			if s[j] == '(' {
				depth++
			} else if s[j] == ')' {
				depth--
				if depth == 0 {
					j++
					break
				}
			}
			j++
		}
		*i = j
		return true, false
	}
	if j < len(s) && s[j] == '{' {
		end := strings.IndexByte(s[j:], '}')
		if end > 0 {
			name := s[j+1 : j+end]
			// ${NAME:-default} and friends: take the name part only.
			if k := strings.IndexAny(name, ":-=+?#%"); k >= 0 {
				name = name[:k]
			}
			val.WriteString(vars[name])
			*i = j + end + 1
			return false, true
		}
	}
	k := j
	for k < len(s) && isNameChar(s[k]) {
		k++
	}
	if k == j {
		val.WriteByte('$')
		*i = j
		return false, true
	}
	val.WriteString(vars[s[j:k]])
	*i = k
	return false, true
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
