// Package grub reads GRUB 2's configuration as GRUB itself would at boot:
// the grub.cfg script language (lexer, parser and an evaluator for the
// subset grub-mkconfig and distributions write), the grubenv block, and the
// shell-style /etc/default/grub that grub-mkconfig reads.
//
// References: the GRUB manual ("Shell-like scripting", "Simple
// configuration", "menuentry", "submenu", "default", "Environment block")
// and GRUB's own sources: grub-core/script/yylex.l for quoting,
// grub-core/normal/menu.c for how `default` picks an entry (numbers, titles,
// --id values, "a>b" submenu paths, ">>" escaping), grub-core/lib/cmdline.c
// for how `linux` arguments become the kernel command line, and
// grub-core/lib/envblk.c for grubenv.
//
// Supported: set/unset/export, NAME=value, if/elif/else, for, while/until,
// functions with positional parameters, menuentry/submenu with their
// options, load_env (-f, variable lists), source, configfile, [ ] / test,
// true/false, Fedora's blscfg (entries supplied by the caller), and the boot
// commands linux/linux16/linuxefi, initrd/initrd16/initrdefi and the
// non-Linux loaders (chainloader, multiboot, kfreebsd, ...), which are
// recorded rather than run. Variables are expanded as GRUB does: unquoted
// expansions split into words, quoted ones do not, unknown ones are empty;
// only exported variables are visible inside a submenu. Not supported:
// `fallback` (a failing default entry is refused, not retried), regexp,
// eval, return/break/continue, hotkeys and anything interactive; unknown
// commands succeed (insmod, search, loadfont, ...), except keystatus, which
// fails: no key is held on a cold boot.
//
// One lexer reads both shell-like languages: GRUB's script and, in its
// shell dialect, the POSIX shell of /etc/default/grub (ParseDefaults),
// whose words differ only in a few characters (see lexer.sh).
//
// Everything is bounded: inputs are capped by the caller, nesting depth,
// source depth, variable size and total work are limited, so a hostile
// grub.cfg gives an error in time linear in its size, never a hang.
package grub

import (
	"fmt"
	"strings"
)

type segKind uint8

const (
	segLit   segKind = iota // literal text, quoted or not
	segVar                  // unquoted $var: split into words
	segDQVar                // "$var": one word
	segSubst                // shell only: $(...) or `...`, not run
)

type seg struct {
	kind   segKind
	text   string // literal text or variable name
	quoted bool   // a quoted literal counts as a word even when empty
}

// word is one shell word: adjacent segments with no space between.
type word struct {
	segs []seg
}

// literal returns the word's text if it is one unquoted literal (used for
// keywords and assignments), else "".
func (w word) literal() (string, bool) {
	if len(w.segs) == 1 && w.segs[0].kind == segLit && !w.segs[0].quoted {
		return w.segs[0].text, true
	}
	return "", false
}

type tokKind uint8

const (
	tWord tokKind = iota
	tSep          // newline or ';'
	tLBrace
	tRBrace
	tEOF
)

type token struct {
	kind tokKind
	w    word
	line int
	nl   bool // tSep was a newline
}

// ParseError is a syntax error with its line.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

type lexer struct {
	src  string
	pos  int
	line int
	file string
	// arena holds the segments of all words: one allocation per many words
	// instead of one per word. Words keep capped slices of it.
	arena []seg
	// sh reads words as the POSIX shell does rather than GRUB: '{' and
	// '}' are ordinary characters, "\`" is an escape inside double
	// quotes, $(...) and `...` are command substitutions (segSubst), and
	// a '$' is followed by a shell name (letters, digits, '_') or by
	// ${NAME...}, whose name ends at an operator (${A:-x} names A).
	// Used by ParseDefaults on the value of one assignment at a time.
	sh bool
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func (lx *lexer) errorf(format string, a ...any) error {
	return &ParseError{File: lx.file, Line: lx.line, Msg: fmt.Sprintf(format, a...)}
}

// next returns the next token. GRUB's special characters outside quotes
// are blanks, newline, ';', '{', '}', quotes, '\\', '$' and '#' at the
// start of a word; '|', '&', '<' and '>' (unsupported redirections) are
// taken literally rather than failing the whole file.
func (lx *lexer) next() (token, error) {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			lx.pos++
		case c == '\\' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '\n':
			lx.pos += 2 // line continuation between words
			lx.line++
		case c == '#':
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
		default:
			goto tok
		}
	}
	return token{kind: tEOF, line: lx.line}, nil
tok:
	c := lx.src[lx.pos]
	switch c {
	case '\n':
		lx.pos++
		lx.line++
		return token{kind: tSep, line: lx.line - 1, nl: true}, nil
	case ';':
		lx.pos++
		return token{kind: tSep, line: lx.line}, nil
	case '{':
		lx.pos++
		return token{kind: tLBrace, line: lx.line}, nil
	case '}':
		lx.pos++
		return token{kind: tRBrace, line: lx.line}, nil
	}
	line := lx.line
	w, err := lx.word()
	if err != nil {
		return token{}, err
	}
	return token{kind: tWord, w: w, line: line}, nil
}

// litBuf collects a literal; a run taken whole from the source is kept
// as a substring, without copying (most words are one such run).
type litBuf struct {
	s    string
	b    []byte
	useB bool
}

func (l *litBuf) add(x string) {
	switch {
	case l.useB:
		l.b = append(l.b, x...)
	case l.s == "":
		l.s = x
	default:
		l.b = append(append(l.b[:0], l.s...), x...)
		l.useB = true
	}
}

func (l *litBuf) len() int {
	if l.useB {
		return len(l.b)
	}
	return len(l.s)
}

func (l *litBuf) take() string {
	out := l.s
	if l.useB {
		out = string(l.b)
	}
	l.s, l.b, l.useB = "", l.b[:0], false
	return out
}

// special are the bytes that end a run of ordinary word characters.
var special = func() (t [256]bool) {
	for _, c := range " \t\r\n;{}\\'\"$" {
		t[c] = true
	}
	return
}()

// dqSpecial end a run inside double quotes.
var dqSpecial = func() (t [256]bool) {
	for _, c := range "\"\\$\n" {
		t[c] = true
	}
	return
}()

// shSpecial and shDQSpecial are the same for the shell dialect.
var shSpecial, shDQSpecial = func() (t, dq [256]bool) {
	for _, c := range " \t\r\n;\\'\"$`" {
		t[c] = true
	}
	for _, c := range "\"\\$\n`" {
		dq[c] = true
	}
	return
}()

func (lx *lexer) word() (word, error) {
	if cap(lx.arena)-len(lx.arena) < 8 {
		lx.arena = make([]seg, 0, 256)
	}
	start := len(lx.arena)
	var lit litBuf
	litQuoted := false
	flush := func() {
		if lit.len() > 0 || litQuoted {
			lx.arena = append(lx.arena, seg{kind: segLit, text: lit.take(), quoted: litQuoted})
		}
		litQuoted = false
	}
	addVar := func(kind segKind, name string) {
		flush()
		lx.arena = append(lx.arena, seg{kind: kind, text: name})
	}
	w, err := lx.wordBody(&lit, &litQuoted, flush, addVar)
	end := len(lx.arena)
	w.segs = lx.arena[start:end:end]
	return w, err
}

func (lx *lexer) wordBody(lit *litBuf, quoted *bool, flush func(), addVar func(segKind, string)) (word, error) {
	var w word
	litQuoted := quoted
	src := lx.src
	spec, dqSpec, dqEscapes := &special, &dqSpecial, "$\"\\\n"
	if lx.sh {
		spec, dqSpec, dqEscapes = &shSpecial, &shDQSpecial, "$\"\\\n`"
	}
	for lx.pos < len(src) {
		c := src[lx.pos]
		switch {
		case c == '$' || c == '`' && lx.sh:
			lx.dollar(lit, addVar, segVar)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || (c == '{' || c == '}') && !lx.sh:
			flush()
			return w, nil
		case c == '\\':
			if lx.pos+1 >= len(src) {
				lx.pos++
				continue
			}
			n := src[lx.pos+1]
			lx.pos += 2
			if n == '\n' {
				lx.line++
				continue
			}
			lit.add(src[lx.pos-1 : lx.pos])
		case c == '\'':
			end := strings.IndexByte(src[lx.pos+1:], '\'')
			if end < 0 {
				// The word is the rest, for the shell dialect's caller,
				// which warns and keeps it; GRUB's fails the parse.
				err := lx.errorf("unterminated single quote") // at its line
				lit.add(src[lx.pos+1:])
				*litQuoted = true
				lx.line += strings.Count(src[lx.pos+1:], "\n")
				lx.pos = len(src)
				flush()
				return w, err
			}
			q := src[lx.pos+1 : lx.pos+1+end]
			lx.line += strings.Count(q, "\n")
			flush() // quoted and unquoted text are separate segments
			lit.add(q)
			*litQuoted = true
			flush()
			lx.pos += end + 2
		case c == '"':
			lx.pos++
			flush()
			*litQuoted = true
			closed := false
			for lx.pos < len(src) && !closed {
				d := src[lx.pos]
				switch {
				case d == '"':
					lx.pos++
					closed = true
				case d == '\\':
					if lx.pos+1 < len(src) && strings.IndexByte(dqEscapes, src[lx.pos+1]) >= 0 {
						if src[lx.pos+1] == '\n' {
							lx.line++
						} else {
							lit.add(src[lx.pos+1 : lx.pos+2])
						}
						lx.pos += 2
						continue
					}
					lit.add(`\`)
					lx.pos++
				case d == '$' || d == '`' && lx.sh:
					if lx.dollar(lit, addVar, segDQVar) {
						*litQuoted = true // the rest of the quoted run
					}
				case d == '\n':
					lx.line++
					lit.add("\n")
					lx.pos++
				default:
					lx.plain(lit, dqSpec)
				}
			}
			if !closed {
				flush() // the shell dialect's caller keeps the word
				return w, lx.errorf("unterminated double quote")
			}
			flush()
		default:
			lx.plain(lit, spec)
		}
	}
	flush()
	return w, nil
}

// plain adds the character at pos and the ordinary ones after it, up to
// one that stop marks, to lit (as a substring: most words are one run).
func (lx *lexer) plain(lit *litBuf, stop *[256]bool) {
	j := lx.pos + 1
	for j < len(lx.src) && !stop[lx.src[j]] {
		j++
	}
	lit.add(lx.src[lx.pos:j])
	lx.pos = j
}

// join expands w without splitting, as an assignment does: literal text
// as it is, each variable's value from get, a command substitution (shell
// dialect) as nothing, reported by subst. It stops once the text is over
// max bytes, so a value that doubles itself stays bounded.
func (w word) join(get func(string) string, max int) (text string, subst bool) {
	var b strings.Builder
	for _, s := range w.segs {
		switch s.kind {
		case segLit:
			b.WriteString(s.text)
		case segSubst:
			subst = true
		default:
			b.WriteString(get(s.text))
		}
		if b.Len() > max {
			break
		}
	}
	return b.String(), subst
}

// dollar reads the expansion at pos (a '$', or in the shell dialect a
// '`') into the word as a variable of kind, or a segSubst; a '$' that
// starts none is literal. It reports whether it added a segment.
func (lx *lexer) dollar(lit *litBuf, addVar func(segKind, string), kind segKind) bool {
	var name string
	var ok bool
	if lx.sh {
		kind, name, ok = lx.shExpansion(kind)
	} else {
		name, ok = lx.varName()
	}
	if !ok {
		lit.add("$")
		lx.pos++
		return false
	}
	addVar(kind, name)
	return true
}

// shExpansion reads what the shell expands at pos: `...` and $(...)
// (segSubst, skipped: to the next '`', or the ')' that balances the
// parentheses), ${NAME} and ${NAME<op>...} (the name alone), $NAME. It
// returns false for a '$' that starts none of them.
func (lx *lexer) shExpansion(kind segKind) (segKind, string, bool) {
	s := lx.src
	start := lx.pos
	skipTo := func(end int) {
		lx.line += strings.Count(s[start:end], "\n")
		lx.pos = end
	}
	j := start + 1
	switch {
	case s[start] == '`':
		end := strings.IndexByte(s[j:], '`')
		if end < 0 {
			skipTo(len(s))
		} else {
			skipTo(j + end + 1)
		}
		return segSubst, "", true
	case j < len(s) && s[j] == '(':
		depth := 0
		for ; j < len(s); j++ {
			if s[j] == '(' {
				depth++
			} else if s[j] == ')' {
				if depth--; depth == 0 {
					j++
					break
				}
			}
		}
		skipTo(j)
		return segSubst, "", true
	case j < len(s) && s[j] == '{':
		if end := strings.IndexByte(s[j:], '}'); end > 0 {
			name := s[j+1 : j+end]
			if k := strings.IndexAny(name, ":-=+?#%"); k >= 0 {
				name = name[:k]
			}
			skipTo(j + end + 1)
			return kind, name, true
		}
	}
	k := j
	for k < len(s) && isNameChar(s[k]) {
		k++
	}
	if k == j {
		return kind, "", false
	}
	lx.pos = k
	return kind, s[j:k], true
}

// varName reads "$name", "${name}", "$1", "$?", "$#", "$@", "$*" at pos
// (which holds '$'), advancing past it.
func (lx *lexer) varName() (string, bool) {
	s := lx.src
	i := lx.pos + 1
	if i >= len(s) {
		return "", false
	}
	switch c := s[i]; {
	case c == '{':
		end := strings.IndexAny(s[i+1:], "}\n")
		if end < 0 || s[i+1+end] != '}' {
			return "", false
		}
		lx.pos = i + 1 + end + 1
		return s[i+1 : i+1+end], true
	case c == '?' || c == '#' || c == '@' || c == '*':
		lx.pos = i + 1
		return string(c), true
	case c >= '0' && c <= '9':
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		lx.pos = j
		return s[i:j], true
	case isNameStart(c):
		j := i
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
		lx.pos = j
		return s[i:j], true
	}
	return "", false
}
