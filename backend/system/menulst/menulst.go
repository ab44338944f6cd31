// Package menulst reads GRUB legacy's (0.97) boot/grub/menu.lst.
//
// Reference: the GRUB legacy manual ("Configuration", "default", "title",
// "kernel", "initrd", "savedefault") and Debian's update-grub for the
// magic comments between "### BEGIN AUTOMAGIC KERNELS LIST" and "### END":
// "# kopt=" (options for every generated entry) and "# defoptions="
// (options for the default, non-recovery entries). Those comments only
// feed update-grub; GRUB legacy itself boots what the title entries say.
//
// A command is its first word, separated from its arguments by blanks or
// '='. Commands before the first `title` are global (default, fallback,
// timeout, hiddenmenu); the rest belong to the entry they follow. GRUB
// legacy passes the text after the kernel file name to Linux verbatim.
// Not supported: `default saved` beyond reading boot/grub/default (the
// caller does that), `fallback`, `password`/`lock`, `configfile`.
package menulst

import (
	"strconv"
	"strings"
)

// Entry is one `title` block.
type Entry struct {
	Title      string
	Line       int
	Root       string // the root (device) command's argument, e.g. "(hd0,0)"
	Kernel     string // kernel file as written, device prefix included
	KernelLine int
	Cmdline    string // text after the kernel file name
	Initrds    []string
	InitrdLine int
	Loader     string // "kernel", "chainloader", "" (no boot command)
	LoaderLine int
}

// Menu is the parsed file.
type Menu struct {
	Default     string // as written: a number or "saved"; "" when absent
	DefaultLine int
	Entries     []Entry
	Kopt        string
	KoptLine    int
	Defoptions  string
	DefoptLine  int
}

// split returns a command and its argument text.
func split(line string) (string, string) {
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return line, ""
	}
	cmd := line[:i]
	rest := strings.TrimLeft(line[i:], " \t")
	// One '=' may stand in for the blank after the command.
	if line[i] == '=' || strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t")
	}
	return cmd, strings.TrimRight(rest, " \t\r")
}

// Parse parses menu.lst. It never fails: GRUB legacy ignores lines it cannot
// use, and so do we.
func Parse(b []byte) *Menu {
	m := &Menu{}
	var cur *Entry
	for ln, raw := range strings.Split(string(b), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if line[0] == '#' {
			c := strings.TrimSpace(strings.TrimLeft(line, "#"))
			if v, ok := strings.CutPrefix(c, "kopt="); ok {
				m.Kopt, m.KoptLine = strings.TrimSpace(v), ln+1
			} else if v, ok := strings.CutPrefix(c, "defoptions="); ok {
				m.Defoptions, m.DefoptLine = strings.TrimSpace(v), ln+1
			}
			continue
		}
		cmd, arg := split(line)
		if cmd == "title" {
			m.Entries = append(m.Entries, Entry{Title: arg, Line: ln + 1})
			cur = &m.Entries[len(m.Entries)-1]
			continue
		}
		if cur == nil {
			if cmd == "default" {
				m.Default, m.DefaultLine = arg, ln+1
			}
			continue
		}
		switch cmd {
		case "root", "rootnoverify":
			cur.Root = arg
		case "kernel":
			// Options like --type=netbsd or --no-mem-option come first.
			for strings.HasPrefix(arg, "--") {
				_, arg, _ = strings.Cut(arg, " ")
				arg = strings.TrimLeft(arg, " \t")
			}
			file, rest, _ := strings.Cut(strings.ReplaceAll(arg, "\t", " "), " ")
			cur.Kernel, cur.Cmdline, cur.KernelLine = file, strings.TrimSpace(rest), ln+1
			cur.Loader, cur.LoaderLine = "kernel", ln+1
			cur.Initrds = nil
		case "initrd":
			file, _, _ := strings.Cut(strings.ReplaceAll(arg, "\t", " "), " ")
			// GRUB legacy loads one initrd; a second line replaces it.
			cur.Initrds, cur.InitrdLine = []string{file}, ln+1
		case "chainloader", "makeactive", "map":
			if cmd == "chainloader" && cur.Loader != "kernel" {
				cur.Loader, cur.LoaderLine = "chainloader", ln+1
			}
		}
	}
	return m
}

// DefaultIndex is the entry GRUB legacy boots: the `default` number (or
// the number saved in boot/grub/default for "saved"), 0 when absent, not a
// number or out of range.
func (m *Menu) DefaultIndex(saved string) int {
	v := m.Default
	if v == "saved" {
		v = strings.TrimSpace(strings.SplitN(saved, "\n", 2)[0])
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n >= len(m.Entries) {
		return 0
	}
	return n
}
