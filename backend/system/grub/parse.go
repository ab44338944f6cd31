package grub

// The parse tree. Menu entry bodies are kept parsed (GRUB keeps their text
// and parses it when the entry runs; the result is the same).

type stmt interface{ stmtLine() int }

type cmdStmt struct {
	words []word
	line  int
}

type ifStmt struct {
	conds  [][]stmt
	bodies [][]stmt
	els    []stmt
	line   int
}

type forStmt struct {
	name  string
	words []word
	body  []stmt
	line  int
}

type whileStmt struct {
	cond  []stmt
	body  []stmt
	until bool
	line  int
}

type funcStmt struct {
	name string
	body []stmt
	line int
}

// menuStmt keeps its body as text, parsed only if the entry runs, as
// GRUB does: a syntax error in an entry that is not booted does not
// matter, and a large grub.cfg costs one scan instead of a parse tree.
type menuStmt struct {
	submenu  bool
	args     []word
	src      string
	srcLine  int
	file     string
	parsed   []stmt
	parseErr error
	done     bool
	line     int
}

// body parses the entry's text the first time it is needed.
func (s *menuStmt) body() ([]stmt, error) {
	if !s.done {
		s.parsed, s.parseErr = parseAt(s.src, s.file, s.srcLine)
		s.done = true
	}
	return s.parsed, s.parseErr
}

func (s *cmdStmt) stmtLine() int   { return s.line }
func (s *ifStmt) stmtLine() int    { return s.line }
func (s *forStmt) stmtLine() int   { return s.line }
func (s *whileStmt) stmtLine() int { return s.line }
func (s *funcStmt) stmtLine() int  { return s.line }
func (s *menuStmt) stmtLine() int  { return s.line }

// maxDepth bounds nesting of blocks (if, menuentry, submenu, ...): deeper
// is an error, not a stack overflow. grub-mkconfig nests three levels.
const maxDepth = 64

type parser struct {
	lx     lexer
	tok    token
	peeked bool
	depth  int
}

func (p *parser) peek() (token, error) {
	if !p.peeked {
		t, err := p.lx.next()
		if err != nil {
			return t, err
		}
		p.tok = t
		p.peeked = true
	}
	return p.tok, nil
}

func (p *parser) take() (token, error) {
	t, err := p.peek()
	p.peeked = false
	return t, err
}

// keyword reports whether t is the unquoted word kw.
func keyword(t token, kw ...string) bool {
	if t.kind != tWord {
		return false
	}
	s, ok := t.w.literal()
	if !ok {
		return false
	}
	for _, k := range kw {
		if s == k {
			return true
		}
	}
	return false
}

// parse parses a whole script.
func parse(src, file string) ([]stmt, error) { return parseAt(src, file, 1) }

// parseAt parses src whose first line is line of file.
func parseAt(src, file string, line int) ([]stmt, error) {
	p := &parser{lx: lexer{src: src, line: line, file: file}}
	list, err := p.list(nil, false)
	if err != nil {
		return nil, err
	}
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind != tEOF {
		return nil, p.lx.errorf("unexpected %s", describe(t))
	}
	return list, nil
}

func describe(t token) string {
	switch t.kind {
	case tRBrace:
		return "'}'"
	case tLBrace:
		return "'{'"
	case tEOF:
		return "end of file"
	case tSep:
		return "end of line"
	}
	if s, ok := t.w.literal(); ok {
		return "'" + s + "'"
	}
	return "word"
}

// list parses statements until one of the keywords in stop (at the start
// of a command), a '}' when brace is set, or the end of input.
func (p *parser) list(stop []string, brace bool) ([]stmt, error) {
	var out []stmt
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		switch {
		case t.kind == tSep:
			p.take()
			continue
		case t.kind == tEOF:
			return out, nil
		case t.kind == tRBrace:
			if brace {
				return out, nil
			}
			return nil, p.lx.errorf("unexpected '}'")
		case keyword(t, stop...):
			return out, nil
		}
		s, err := p.stmt()
		if err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, s)
		}
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.lx.errorf("blocks nested more than %d deep", maxDepth)
	}
	return nil
}

func (p *parser) expectKeyword(kw string) error {
	t, err := p.take()
	if err != nil {
		return err
	}
	if !keyword(t, kw) {
		return p.lx.errorf("expected '%s', found %s", kw, describe(t))
	}
	return nil
}

func (p *parser) skipNewlines() (token, error) {
	for {
		t, err := p.peek()
		if err != nil || t.kind != tSep {
			return t, err
		}
		p.take()
	}
}

func (p *parser) block() ([]stmt, error) {
	t, err := p.skipNewlines()
	if err != nil {
		return nil, err
	}
	if t.kind != tLBrace {
		return nil, p.lx.errorf("expected '{', found %s", describe(t))
	}
	p.take()
	body, err := p.list(nil, true)
	if err != nil {
		return nil, err
	}
	t, err = p.take()
	if err != nil {
		return nil, err
	}
	if t.kind != tRBrace {
		return nil, p.lx.errorf("missing '}'")
	}
	return body, nil
}

func (p *parser) stmt() (stmt, error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	line := t.line
	if t.kind == tLBrace {
		return nil, p.lx.errorf("unexpected '{'")
	}
	kw, _ := t.w.literal()
	if t.kind == tWord && !keyword(t, "if", "for", "while", "until", "function", "menuentry", "submenu") {
		kw = ""
	}
	if kw != "" {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		p.take()
	}
	switch kw {
	case "if":
		s := &ifStmt{line: line}
		for {
			cond, err := p.list([]string{"then"}, false)
			if err != nil {
				return nil, err
			}
			if err := p.expectKeyword("then"); err != nil {
				return nil, err
			}
			body, err := p.list([]string{"elif", "else", "fi"}, false)
			if err != nil {
				return nil, err
			}
			s.conds = append(s.conds, cond)
			s.bodies = append(s.bodies, body)
			t, err := p.take()
			if err != nil {
				return nil, err
			}
			switch {
			case keyword(t, "elif"):
				continue
			case keyword(t, "else"):
				els, err := p.list([]string{"fi"}, false)
				if err != nil {
					return nil, err
				}
				s.els = els
				if err := p.expectKeyword("fi"); err != nil {
					return nil, err
				}
				return s, nil
			case keyword(t, "fi"):
				return s, nil
			}
			return nil, p.lx.errorf("'if' without 'fi'")
		}
	case "for":
		name, err := p.name("'for' needs a variable name")
		if err != nil {
			return nil, err
		}
		if err := p.expectKeyword("in"); err != nil {
			return nil, err
		}
		s := &forStmt{name: name, line: line}
		for {
			t, err := p.take()
			if err != nil {
				return nil, err
			}
			if t.kind == tSep {
				break
			}
			if t.kind != tWord {
				return nil, p.lx.errorf("unexpected %s in 'for'", describe(t))
			}
			s.words = append(s.words, t.w)
		}
		if _, err := p.skipNewlines(); err != nil {
			return nil, err
		}
		s.body, err = p.doDone()
		return s, err
	case "while", "until":
		s := &whileStmt{until: kw == "until", line: line}
		if s.cond, err = p.list([]string{"do"}, false); err != nil {
			return nil, err
		}
		s.body, err = p.doDone()
		return s, err
	case "function":
		name, err := p.name("'function' needs a name")
		if err != nil {
			return nil, err
		}
		body, err := p.block()
		if err != nil {
			return nil, err
		}
		return &funcStmt{name: name, body: body, line: line}, nil
	case "menuentry", "submenu":
		s := &menuStmt{submenu: kw == "submenu", line: line, args: make([]word, 0, 8)}
		for {
			t, err := p.peek()
			if err != nil {
				return nil, err
			}
			if t.kind != tWord {
				break
			}
			p.take()
			s.args = append(s.args, t.w)
		}
		t, err := p.skipNewlines()
		if err != nil {
			return nil, err
		}
		if t.kind != tLBrace {
			return nil, p.lx.errorf("expected '{', found %s", describe(t))
		}
		// The lexer stands just after the '{' the parser peeked at.
		p.peeked = false
		s.srcLine, s.file = p.lx.line, p.lx.file
		if s.src, err = p.lx.skipBlock(); err != nil {
			return nil, err
		}
		return s, nil
	}
	// A simple command: words up to a separator, '}' or the end.
	s := &cmdStmt{line: line, words: make([]word, 0, 4)}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if t.kind != tWord {
			if t.kind == tLBrace {
				return nil, p.lx.errorf("unexpected '{'")
			}
			break
		}
		p.take()
		s.words = append(s.words, t.w)
	}
	return s, nil
}

// name takes the unquoted word that names a loop variable or a function,
// or fails with msg.
func (p *parser) name(msg string) (string, error) {
	t, err := p.take()
	if err != nil {
		return "", err
	}
	name, ok := t.w.literal()
	if t.kind != tWord || !ok {
		return "", p.lx.errorf("%s", msg)
	}
	return name, nil
}

// doDone parses the "do ... done" of a loop and returns its body.
func (p *parser) doDone() ([]stmt, error) {
	if err := p.expectKeyword("do"); err != nil {
		return nil, err
	}
	body, err := p.list([]string{"done"}, false)
	if err != nil {
		return nil, err
	}
	return body, p.expectKeyword("done")
}

// skipBlock reads the tokens from just after a '{' to its matching '}'
// and returns the text between them (a menu entry's body, parsed only if
// the entry runs). The words read are dropped: their segments reuse the
// same part of the arena each time.
func (lx *lexer) skipBlock() (string, error) {
	start, arena := lx.pos, lx.arena
	depth := 1
	for {
		t, err := lx.next()
		lx.arena = arena
		if err != nil {
			return "", err
		}
		switch t.kind {
		case tLBrace:
			if depth++; depth > maxDepth {
				return "", lx.errorf("blocks nested more than %d deep", maxDepth)
			}
		case tRBrace:
			if depth--; depth == 0 {
				return lx.src[start : lx.pos-1], nil
			}
		case tEOF:
			return "", lx.errorf("missing '}'")
		}
	}
}
