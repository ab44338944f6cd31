package grub

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Host is how the evaluator reaches files. Paths are as GRUB sees them
// (possibly with a "(hd0,gpt2)" device prefix); the caller maps them into
// the target root and confines them there.
type Host struct {
	// ReadFile returns a file for load_env, source and configfile.
	ReadFile func(path string) ([]byte, error)
	// FileTest answers [ -e|-f|-d|-s path ].
	FileTest func(op byte, path string) bool
	// BLS returns the entries Fedora's blscfg command adds, newest first.
	BLS func() ([]BLSEntry, error)
}

// BLSEntry is a Boot Loader Specification entry as blscfg turns it into a
// menu entry: its fields keep their $variables, expanded when it runs.
type BLSEntry struct {
	ID      string // file name without .conf
	Title   string
	Linux   string
	Initrds []string
	Options string
	File    string // for messages, e.g. /boot/loader/entries/x.conf
}

// Limits.
const (
	maxSourceDepth = 8
	maxCallDepth   = 64
	maxVarLen      = 64 << 10
	// baseBudget plus one unit per input byte is the work allowed: each
	// command is a unit, each 64 expanded bytes another.
	baseBudget = 200000
)

// Options for Evaluate.
type Options struct {
	File string            // name for messages, e.g. /boot/grub/grub.cfg
	Vars map[string]string // GRUB's own variables (prefix, root, grub_platform, ...), exported
	Host Host
}

// Boot is what the default entry does when it runs.
type Boot struct {
	// Path is the titles from the top menu to the entry, and Indices their
	// positions in each menu.
	Path    []string
	Indices []int
	Entry   Ref // the menuentry (or BLS entry file)
	// Default is the value of `default` in each menu on the way, and
	// DefaultSet where it was last set in the top menu ("" if never).
	Default    []string
	DefaultSet Ref
	DefaultVia string // "next_entry"/"saved_entry" when the value came from grubenv
	// Unmatched is a non-empty value of `default` that named no entry of
	// its menu (GRUB then boots that menu's entry 0), and UnmatchedLevel
	// the menu: 0 is the top menu, 1 the submenu Path[0] opened, ...
	Unmatched      string
	UnmatchedLevel int
	// Loader is the boot command the entry ran last: "linux", "linux16",
	// "linuxefi", "chainloader", "multiboot", ... or "" when none.
	Loader     string
	LoaderAt   Ref
	Kernel     string   // first argument of linux, as written after expansion
	Args       []string // the rest, one per kernel argument
	Initrds    []string
	InitrdAt   Ref
	Warnings   []string
	EnvLoaded  []string // the grubenv files load_env read
	NextEntry  bool     // the entry was chosen by a one-shot next_entry
	MenuLength int      // entries in the top menu
	// MenuHasLinux, computed only when the default does not boot Linux,
	// says whether any entry would.
	MenuHasLinux bool
}

// Ref is a place in a configuration file.
type Ref struct {
	File string
	Line int
}

func (r Ref) String() string {
	if r.File == "" {
		return ""
	}
	if r.Line == 0 {
		return r.File
	}
	return fmt.Sprintf("%s:%d", r.File, r.Line)
}

// ErrNoEntries means the script defines no menu entry at all.
var ErrNoEntries = errors.New("no menu entries")

// ErrBudget means the script needed more work than its size justifies.
var ErrBudget = errors.New("too much work (a loop or deep recursion in the configuration)")

type entry struct {
	title   string
	id      string
	args    []string
	body    func() ([]stmt, error)
	submenu bool
	ref     Ref
	bls     *BLSEntry
}

type variable struct {
	val      string
	exported bool
	ref      Ref
	fromEnv  string // grubenv variable name this value was loaded as
}

type scope struct {
	vars  map[string]*variable
	menu  []*entry
	funcs map[string]*funcStmt
}

type interp struct {
	opt      Options
	sc       *scope
	params   []string // $1.. of the running function or entry
	status   int
	budget   int
	file     string
	srcDepth int
	calls    int
	stop     bool // configfile replaced the menu
	// inEntry collects boot commands while an entry runs.
	inEntry bool
	boot    *Boot
	warns   []string
	loaded  []string
	envVals map[string]string // values as load_env read them
}

func (in *interp) warnf(format string, a ...any) {
	if len(in.warns) < 20 {
		in.warns = append(in.warns, fmt.Sprintf(format, a...))
	}
}

func (in *interp) spend(n int) error {
	in.budget -= n
	if in.budget < 0 {
		return ErrBudget
	}
	return nil
}

func (in *interp) get(name string) (string, bool) {
	switch name {
	case "":
		return "", false // "${}"
	case "?":
		return strconv.Itoa(in.status), true
	case "#":
		return strconv.Itoa(len(in.params)), true
	case "@", "*":
		return strings.Join(in.params, " "), true
	}
	if name[0] >= '0' && name[0] <= '9' {
		n, err := strconv.Atoi(name)
		if err != nil || n < 1 || n > len(in.params) {
			return "", false
		}
		return in.params[n-1], true
	}
	v, ok := in.sc.vars[name]
	if !ok {
		return "", false
	}
	return v.val, true
}

func (in *interp) set(name, val string, ref Ref) error {
	if len(val) > maxVarLen {
		return fmt.Errorf("%s: variable %s longer than %d bytes", ref, name, maxVarLen)
	}
	if v, ok := in.sc.vars[name]; ok {
		v.val, v.ref, v.fromEnv = val, ref, ""
		return nil
	}
	in.sc.vars[name] = &variable{val: val, ref: ref}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// expand turns words into arguments as GRUB does: unquoted variables split
// into words at blanks, quoted text and "$var" never split, a word that
// expands to nothing unquoted disappears.
func (in *interp) expand(ws []word) ([]string, error) {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		// Most words are one literal: no building, no copying.
		if len(w.segs) == 1 && w.segs[0].kind == segLit {
			if s := w.segs[0]; s.quoted || s.text != "" {
				out = append(out, s.text)
			}
			if err := in.spend(1 + len(w.segs[0].text)/64); err != nil {
				return nil, err
			}
			continue
		}
		var cur strings.Builder
		have := false
		for _, s := range w.segs {
			switch s.kind {
			case segLit:
				cur.WriteString(s.text)
				if s.quoted || s.text != "" {
					have = true
				}
			case segDQVar:
				v, _ := in.get(s.text)
				cur.WriteString(v)
				have = true
			case segVar:
				v, _ := in.get(s.text)
				i := 0
				for i < len(v) {
					if isSpace(v[i]) {
						if have {
							out = append(out, cur.String())
							cur.Reset()
							have = false
						}
						for i < len(v) && isSpace(v[i]) {
							i++
						}
						continue
					}
					j := i
					for j < len(v) && !isSpace(v[j]) {
						j++
					}
					cur.WriteString(v[i:j])
					have = true
					i = j
				}
			}
			if cur.Len() > maxVarLen {
				return nil, fmt.Errorf("%s: a word longer than %d bytes", in.file, maxVarLen)
			}
		}
		if have {
			out = append(out, cur.String())
		}
		if err := in.spend(1 + cur.Len()/64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// expandOne expands a word without splitting (assignments).
func (in *interp) expandOne(w word) string {
	s, _ := w.join(func(name string) string { v, _ := in.get(name); return v }, maxVarLen)
	return s
}

func (in *interp) run(list []stmt) error {
	for _, s := range list {
		if in.stop {
			return nil
		}
		if err := in.spend(1); err != nil {
			return err
		}
		if err := in.exec(s); err != nil {
			return err
		}
	}
	return nil
}

func (in *interp) ref(line int) Ref { return Ref{File: in.file, Line: line} }

func (in *interp) exec(s stmt) error {
	switch s := s.(type) {
	case *cmdStmt:
		return in.command(s)
	case *ifStmt:
		for i, cond := range s.conds {
			if err := in.run(cond); err != nil {
				return err
			}
			if in.status == 0 {
				return in.run(s.bodies[i])
			}
		}
		in.status = 0
		return in.run(s.els)
	case *forStmt:
		items, err := in.expand(s.words)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := in.set(s.name, it, in.ref(s.line)); err != nil {
				return err
			}
			if err := in.run(s.body); err != nil {
				return err
			}
		}
		return nil
	case *whileStmt:
		for {
			if err := in.spend(1); err != nil {
				return err
			}
			if err := in.run(s.cond); err != nil {
				return err
			}
			if (in.status == 0) == s.until {
				in.status = 0
				return nil
			}
			if err := in.run(s.body); err != nil {
				return err
			}
		}
	case *funcStmt:
		in.sc.funcs[s.name] = s
		in.status = 0
	case *menuStmt:
		return in.menuentry(s)
	}
	return nil
}

// menuentry records an entry, its options parsed as GRUB's extcmd does.
func (in *interp) menuentry(s *menuStmt) error {
	args, err := in.expand(s.args)
	if err != nil {
		return err
	}
	e := &entry{body: s.body, submenu: s.submenu, ref: in.ref(s.line)}
	if s.file == "" {
		s.file = in.file
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		// Options may come anywhere, as grub_arg_parse allows.
		if !strings.HasPrefix(a, "--") {
			rest = append(rest, a)
			continue
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		switch name {
		case "class", "users", "hotkey", "source", "id":
			if !hasVal {
				if i+1 < len(args) {
					i++
					val = args[i]
				}
			}
			if name == "id" {
				e.id = val
			}
		case "unrestricted":
		default:
			in.warnf("%s: unknown menuentry option --%s", in.ref(s.line), name)
		}
	}
	if len(rest) == 0 {
		in.warnf("%s: menuentry without a title, ignored", in.ref(s.line))
		in.status = 1
		return nil
	}
	e.title, e.args = rest[0], rest[1:]
	if e.id == "" {
		e.id = e.title // GRUB's menu entry id defaults to its title
	}
	in.sc.menu = append(in.sc.menu, e)
	in.status = 0
	return nil
}

// bootCommands are recorded, not run. The value says whether they boot Linux.
var bootCommands = map[string]bool{
	"linux": true, "linux16": true, "linuxefi": true, "linux32": true,
	"chainloader": false, "multiboot": false, "multiboot2": false,
	"kfreebsd": false, "knetbsd": false, "kopenbsd": false, "appleloader": false,
	"xnu_kernel": false, "xnu_kernel64": false, "fwsetup": false, "ntldr": false,
	"legacy_kernel": false, "freedos": false, "plan9": false, "truecrypt": false,
	"halt": false, "reboot": false, "exit": false, "bsd": false,
}

var initrdCommands = map[string]bool{"initrd": true, "initrd16": true, "initrdefi": true}

func (in *interp) command(s *cmdStmt) error {
	if len(s.words) == 0 {
		return nil
	}
	// NAME=value as a command (GRUB's grammar allows it without `set`).
	if len(s.words) == 1 && len(s.words[0].segs) > 0 {
		if lit := s.words[0].segs[0]; lit.kind == segLit && !lit.quoted {
			if name, _, ok := strings.Cut(lit.text, "="); ok && validName(name) {
				full := in.expandOne(s.words[0])
				_, val, _ := strings.Cut(full, "=")
				in.status = 0
				return in.set(name, val, in.ref(s.line))
			}
		}
	}
	argv, err := in.expand(s.words)
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return nil
	}
	name, args := argv[0], argv[1:]
	in.status = 0
	if f, ok := in.sc.funcs[name]; ok {
		return in.call(f, args)
	}
	if name == "fwsetup" && contains(args, "--is-supported") {
		// GRUB 2.12's 30_uefi-firmware asks before it adds its entry
		// (`fwsetup --is-supported; if [ "$?" = 0 ]`). The firmware
		// answers (OsIndicationsSupported's BOOT_TO_FW_UI bit): UEFI
		// firmware GRUB runs on (OVMF, a decade of PC firmware) has it,
		// and other platforms have no fwsetup command. A question, not a
		// boot command: it never becomes the entry's loader.
		p, _ := in.get("grub_platform")
		in.status = boolStatus(p == "efi")
		return nil
	}
	if isLinux, ok := bootCommands[name]; ok {
		if in.inEntry && in.boot.Loader == "" || in.inEntry && isLinux {
			// A later linux replaces an earlier one, as GRUB's loader does.
			in.boot.Loader = name
			in.boot.LoaderAt = in.ref(s.line)
			if isLinux {
				if len(args) == 0 {
					in.status = 1
					in.warnf("%s: %s without a kernel", in.ref(s.line), name)
					in.boot.Loader = ""
					return nil
				}
				in.boot.Kernel = args[0]
				in.boot.Args = append([]string(nil), args[1:]...)
				in.boot.Initrds = nil // GRUB unloads the initrd with the old kernel
			}
		}
		return nil
	}
	if initrdCommands[name] {
		if in.inEntry {
			if in.boot.Loader == "" || !bootCommands[in.boot.Loader] {
				in.warnf("%s: %s before linux has no effect", in.ref(s.line), name)
				in.status = 1
				return nil
			}
			in.boot.Initrds = append([]string(nil), args...)
			in.boot.InitrdAt = in.ref(s.line)
		}
		return nil
	}
	switch name {
	case "set":
		for _, a := range args {
			n, v, ok := strings.Cut(a, "=")
			if !ok {
				continue
			}
			if !validName(n) {
				in.status = 1
				continue
			}
			if err := in.set(n, v, in.ref(s.line)); err != nil {
				return err
			}
		}
	case "unset":
		for _, a := range args {
			delete(in.sc.vars, a)
		}
	case "export":
		for _, a := range args {
			if v, ok := in.sc.vars[a]; ok {
				v.exported = true
			} else {
				in.sc.vars[a] = &variable{exported: true, ref: in.ref(s.line)}
				// GRUB's export of an unset variable creates it empty.
			}
		}
	case "load_env":
		return in.loadEnv(args, in.ref(s.line))
	case "source", "configfile", ".":
		return in.source(name, args, in.ref(s.line))
	case "[":
		if len(args) == 0 || args[len(args)-1] != "]" {
			in.status = 1
			return nil
		}
		in.status = boolStatus(in.test(args[:len(args)-1]))
	case "test":
		in.status = boolStatus(in.test(args))
	case "true":
	case "false", "keystatus":
		in.status = 1
	case "blscfg":
		return in.blscfg(in.ref(s.line))
	}
	return nil
}

func boolStatus(b bool) int {
	if b {
		return 0
	}
	return 1
}

func validName(n string) bool {
	if n == "" || !isNameStart(n[0]) {
		return false
	}
	for i := 1; i < len(n); i++ {
		if !isNameChar(n[i]) {
			return false
		}
	}
	return true
}

func (in *interp) call(f *funcStmt, args []string) error {
	in.calls++
	defer func() { in.calls-- }()
	if in.calls > maxCallDepth {
		return fmt.Errorf("%s: functions call each other more than %d deep", in.file, maxCallDepth)
	}
	saved := in.params
	in.params = args
	err := in.run(f.body)
	in.params = saved
	return err
}

func (in *interp) loadEnv(args []string, ref Ref) error {
	file := ""
	var only []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-f" || a == "--file":
			if i+1 < len(args) {
				i++
				file = args[i]
			}
		case strings.HasPrefix(a, "--file="):
			file = strings.TrimPrefix(a, "--file=")
		case a == "-s" || a == "--skip-sig":
		default:
			only = append(only, a)
		}
	}
	if file == "" {
		p, _ := in.get("prefix")
		file = p + "/grubenv"
	}
	if in.opt.Host.ReadFile == nil {
		in.status = 1
		return nil
	}
	b, err := in.opt.Host.ReadFile(file)
	if err != nil {
		in.status = 1
		if !isNotExist(err) {
			in.warnf("%s: load_env %s: %v", ref, file, err)
		}
		return nil
	}
	env, err := ParseEnv(b)
	if err != nil {
		in.status = 1
		in.warnf("%s: load_env %s: %v", ref, file, err)
		return nil
	}
	in.loaded = append(in.loaded, file)
	for _, kv := range env {
		if only != nil && !contains(only, kv.Name) {
			continue
		}
		if err := in.set(kv.Name, kv.Value, ref); err != nil {
			return err
		}
		in.sc.vars[kv.Name].fromEnv = kv.Name
		if in.envVals == nil {
			in.envVals = map[string]string{}
		}
		in.envVals[kv.Name] = kv.Value
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func (in *interp) source(cmd string, args []string, ref Ref) error {
	if len(args) == 0 {
		in.status = 1
		return nil
	}
	if in.srcDepth >= maxSourceDepth {
		return fmt.Errorf("%s: %s nested more than %d deep", ref, cmd, maxSourceDepth)
	}
	if in.opt.Host.ReadFile == nil {
		in.status = 1
		return nil
	}
	b, err := in.opt.Host.ReadFile(args[0])
	if err != nil {
		in.status = 1
		if !isNotExist(err) {
			in.warnf("%s: %s %s: %v", ref, cmd, args[0], err)
		}
		return nil
	}
	if err := in.spend(len(b)); err != nil {
		return err
	}
	list, err := parse(string(b), args[0])
	if err != nil {
		// GRUB reports the error and goes on with the next command.
		in.warnf("%s: %s %s: %v", ref, cmd, args[0], err)
		in.status = 1
		return nil
	}
	savedFile := in.file
	in.file = args[0]
	in.srcDepth++
	if cmd == "configfile" {
		// configfile shows the new file's menu instead of ours.
		in.sc.menu = nil
	}
	err = in.run(list)
	in.srcDepth--
	in.file = savedFile
	if cmd == "configfile" {
		in.stop = true
	}
	return err
}

func (in *interp) blscfg(ref Ref) error {
	if in.opt.Host.BLS == nil {
		return nil
	}
	entries, err := in.opt.Host.BLS()
	if err != nil {
		in.warnf("%s: blscfg: %v", ref, err)
		in.status = 1
		return nil
	}
	for i := range entries {
		b := &entries[i]
		// Fedora's blscfg builds the entry's script from the fields, so
		// $kernelopts and $tuned_initrd expand when it runs.
		src := "linux " + b.Linux + " " + b.Options + "\n"
		if len(b.Initrds) > 0 {
			src += "initrd " + strings.Join(b.Initrds, " ") + "\n"
		}
		body, err := parse(src, b.File)
		if err != nil {
			in.warnf("%s: %v", b.File, err)
			continue
		}
		title := b.Title
		if title == "" {
			title = b.ID
		}
		in.sc.menu = append(in.sc.menu, &entry{title: title, id: b.ID, body: func() ([]stmt, error) { return body, nil }, ref: Ref{File: b.File}, bls: b})
	}
	return nil
}

// test evaluates GRUB's test expression: -o binds loosest, then -a, then !.
func (in *interp) test(a []string) bool {
	t := &tester{in: in, a: a}
	v := t.or()
	return v
}

type tester struct {
	in *interp
	a  []string
	i  int
}

func (t *tester) peek() string {
	if t.i < len(t.a) {
		return t.a[t.i]
	}
	return ""
}

func (t *tester) or() bool {
	v := t.and()
	for t.i < len(t.a) && t.peek() == "-o" {
		t.i++
		w := t.and()
		v = v || w
	}
	return v
}

func (t *tester) and() bool {
	v := t.not()
	for t.i < len(t.a) && t.peek() == "-a" {
		t.i++
		w := t.not()
		v = v && w
	}
	return v
}

func (t *tester) not() bool {
	if t.peek() == "!" && t.i+1 < len(t.a) {
		t.i++
		return !t.not()
	}
	return t.primary()
}

var binops = map[string]bool{"=": true, "==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true,
	"-eq": true, "-ne": true, "-lt": true, "-le": true, "-gt": true, "-ge": true}

func (t *tester) primary() bool {
	if t.i >= len(t.a) {
		return false
	}
	x := t.a[t.i]
	if x == "(" {
		t.i++
		v := t.or()
		if t.peek() == ")" {
			t.i++
		}
		return v
	}
	if t.i+2 < len(t.a) && binops[t.a[t.i+1]] {
		y, op := t.a[t.i+2], t.a[t.i+1]
		t.i += 3
		return compare(x, op, y)
	}
	if t.i+1 < len(t.a) && len(x) == 2 && x[0] == '-' {
		arg := t.a[t.i+1]
		switch x[1] {
		case 'z':
			t.i += 2
			return arg == ""
		case 'n':
			t.i += 2
			return arg != ""
		case 'e', 'f', 'd', 's':
			t.i += 2
			if t.in.opt.Host.FileTest == nil {
				return false
			}
			return t.in.opt.Host.FileTest(x[1], arg)
		}
	}
	t.i++
	return x != ""
}

func compare(x, op, y string) bool {
	switch op {
	case "=", "==":
		return x == y
	case "!=":
		return x != y
	case "<":
		return x < y
	case ">":
		return x > y
	case "<=":
		return x <= y
	case ">=":
		return x >= y
	}
	a, _ := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	b, _ := strconv.ParseInt(strings.TrimSpace(y), 10, 64)
	switch op {
	case "-eq":
		return a == b
	case "-ne":
		return a != b
	case "-lt":
		return a < b
	case "-le":
		return a <= b
	case "-gt":
		return a > b
	case "-ge":
		return a >= b
	}
	return false
}
