package grub

import (
	"fmt"
	"strings"
	"testing"
)

// skipBlock scans from just after a '{' to its matching '}' token with the
// lexer's rules (quotes, escapes, ${...}, comments) but builds nothing,
// and returns the text between them.
func (lx *lexer) oldSkipBlock() (string, error) {
	s := lx.src
	start := lx.pos
	depth := 1
	wordStart := true // where '#' begins a comment
	for lx.pos < len(s) {
		c := s[lx.pos]
		switch c {
		case ' ', '\t', '\r', ';':
			wordStart = true
			lx.pos++
		case '\n':
			wordStart = true
			lx.line++
			lx.pos++
		case '#':
			if wordStart {
				for lx.pos < len(s) && s[lx.pos] != '\n' {
					lx.pos++
				}
				continue
			}
			lx.pos++
		case '{':
			depth++
			if depth > maxDepth {
				return "", lx.errorf("blocks nested more than %d deep", maxDepth)
			}
			wordStart = true
			lx.pos++
		case '}':
			depth--
			lx.pos++
			if depth == 0 {
				return s[start : lx.pos-1], nil
			}
			wordStart = true
		case '\\':
			if lx.pos+1 < len(s) && s[lx.pos+1] == '\n' {
				lx.line++
				lx.pos += 2
				continue // a continuation keeps the word state
			}
			lx.pos += 2
			wordStart = false
		case '\'':
			end := strings.IndexByte(s[lx.pos+1:], '\'')
			if end < 0 {
				return "", lx.errorf("unterminated single quote")
			}
			lx.line += strings.Count(s[lx.pos+1:lx.pos+1+end], "\n")
			lx.pos += end + 2
			wordStart = false
		case '"':
			lx.pos++
			closed := false
			for lx.pos < len(s) && !closed {
				switch d := s[lx.pos]; d {
				case '"':
					closed = true
					lx.pos++
				case '\\':
					if lx.pos+1 < len(s) && strings.IndexByte("$\"\\\n", s[lx.pos+1]) >= 0 {
						if s[lx.pos+1] == '\n' {
							lx.line++
						}
						lx.pos += 2
					} else {
						lx.pos++
					}
				case '$':
					lx.oldSkipVar()
				default:
					if d == '\n' {
						lx.line++
					}
					lx.pos++
				}
			}
			if !closed {
				return "", lx.errorf("unterminated double quote")
			}
			wordStart = false
		case '$':
			lx.oldSkipVar()
			wordStart = false
		default:
			lx.pos++
			wordStart = false
		}
	}
	return "", lx.errorf("missing '}'")
}

// skipVar steps over a '$' at pos as varName would read it.
func (lx *lexer) oldSkipVar() {
	if _, ok := lx.varName(); !ok {
		lx.pos++
	}
}

func FuzzSkipBlockAgreesWithTheOldScanner(f *testing.F) {
	for _, b := range fixtureConfigs(f) {
		f.Add(b)
	}
	f.Add([]byte("a { b \"${x}\" } '}' # }\n}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l1 := lexer{src: string(b), line: 1, file: "f"}
		l2 := l1
		s1, e1 := l1.oldSkipBlock()
		s2, e2 := l2.skipBlock()
		if s1 != s2 || fmt.Sprint(e1) != fmt.Sprint(e2) || (e1 == nil && (l1.pos != l2.pos || l1.line != l2.line)) {
			t.Fatalf("old %q %v %d:%d\nnew %q %v %d:%d", s1, e1, l1.pos, l1.line, s2, e2, l2.pos, l2.line)
		}
		_ = strings.Count
	})
}
