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
	for lx.pos < len(src) {
		c := src[lx.pos]
		switch c {
		case ' ', '\t', '\r', '\n', ';', '{', '}':
			flush()
			return w, nil
		case '\\':
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
		case '\'':
			end := strings.IndexByte(src[lx.pos+1:], '\'')
			if end < 0 {
				return w, lx.errorf("unterminated single quote")
			}
			q := src[lx.pos+1 : lx.pos+1+end]
			lx.line += strings.Count(q, "\n")
			flush() // quoted and unquoted text are separate segments
			lit.add(q)
			*litQuoted = true
			flush()
			lx.pos += end + 2
		case '"':
			lx.pos++
			flush()
			*litQuoted = true
			closed := false
			for lx.pos < len(src) && !closed {
				d := src[lx.pos]
				switch d {
				case '"':
					lx.pos++
					closed = true
				case '\\':
					if lx.pos+1 < len(src) {
						n := src[lx.pos+1]
						switch n {
						case '$', '"', '\\':
							lit.add(src[lx.pos+1 : lx.pos+2])
							lx.pos += 2
							continue
						case '\n':
							lx.line++
							lx.pos += 2
							continue
						}
					}
					lit.add(`\`)
					lx.pos++
				case '$':
					if name, ok := lx.varName(); ok {
						addVar(segDQVar, name)
						*litQuoted = true // the rest of the quoted run
					} else {
						lit.add("$")
						lx.pos++
					}
				case '\n':
					lx.line++
					lit.add("\n")
					lx.pos++
				default:
					j := lx.pos + 1
					for j < len(src) && !dqSpecial[src[j]] {
						j++
					}
					lit.add(src[lx.pos:j])
					lx.pos = j
				}
			}
			if !closed {
				return w, lx.errorf("unterminated double quote")
			}
			flush()
		case '$':
			if name, ok := lx.varName(); ok {
				addVar(segVar, name)
			} else {
				lit.add("$")
				lx.pos++
			}
		default:
			j := lx.pos + 1
			for j < len(src) && !special[src[j]] {
				j++
			}
			lit.add(src[lx.pos:j])
			lx.pos = j
		}
	}
	flush()
	return w, nil
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
