package grub

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The reader of /etc/default/grub before it used the one lexer: kept here
// only to fuzz the new one against (differential), values and warnings.
func oldParseDefaults(src []byte, file string, vars map[string]string) (warnings []string) {
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
						n, ok := oldExpandShellVar(s, &i, vars, &val)
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
				n, ok := oldExpandShellVar(s, &i, vars, &val)
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

// oldExpandShellVar expands $NAME, ${NAME} or a lone '$' at s[*i], appending to
// val. It returns (true, false) for $( ... ), which it skips.
func oldExpandShellVar(s string, i *int, vars map[string]string, val *strings.Builder) (subst bool, ok bool) {
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

var lineNo = regexp.MustCompile(`^d:\d+: `)

func FuzzParseDefaultsAgreesWithTheOldReader(f *testing.F) {
	for _, b := range fixtureFiles("etc/default/grub") {
		f.Add(b)
	}
	f.Add([]byte("GRUB_CMDLINE_LINUX=\"a $B 'c'\"\nexport X='y'\n"))
	f.Add([]byte("A=$(b $(c))\nB=`x`\"\\\n\""))
	f.Add([]byte("A={x} B=${Y:-z}\"${A\"}'\n$1$?a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v1, v2 := map[string]string{"Y": "y"}, map[string]string{"Y": "y"}
		w1 := oldParseDefaults(b, "d", v1)
		w2 := ParseDefaults(b, "d", v2)
		if !reflect.DeepEqual(v1, v2) {
			t.Fatalf("values\nold %q\nnew %q", v1, v2)
		}
		for i := range w1 {
			w1[i] = lineNo.ReplaceAllString(w1[i], "")
		}
		for i := range w2 {
			w2[i] = lineNo.ReplaceAllString(w2[i], "")
		}
		if strings.Join(w1, "\n") != strings.Join(w2, "\n") {
			t.Fatalf("warnings\nold %q\nnew %q", w1, w2)
		}
		_ = fmt.Sprint()
	})
}
