// Command rapidrebootctl shows and drives Quick Restart from a terminal:
// `plan` prints what a Quick Restart would boot and why; other subcommands
// (status, arm, disarm, restart --quick) register themselves from their
// own files.
//
// Global flags may come before or after the subcommand: --root DIR (an
// installed system mounted elsewhere, e.g. an installer's /target),
// --json, --help, --version. Exit status: 0 success, 1 refusal or error
// (one line on stderr, or {"error":{"code":…,"message":…}} on stdout with
// --json), 2 usage error.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/version"
)

const prog = "rapidrebootctl"

// cliContext is what every subcommand gets.
type cliContext struct {
	Root   string // "/" unless --root
	JSON   bool
	Stdout io.Writer
	Stderr io.Writer
	m      machine // the machine it acts on (machine.go)
}

// command is one subcommand; each registers itself in its file's init().
type command struct {
	run  func(ctx *cliContext, args []string) error
	help string // one line
}

var commands = map[string]command{}

// usageError makes run exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

func main() {
	_, _ = i18n.Init("")
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it parses args, runs the subcommand
// and returns the exit status.
// Tests change what it takes from the machine through opts.
func run(args []string, stdout, stderr io.Writer, opts ...option) int {
	ctx := &cliContext{Root: "/", Stdout: stdout, Stderr: stderr, m: realMachine()}
	for _, o := range opts {
		o(&ctx.m)
	}
	var name string
	var rest []string
	help, showVersion := false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case a == "--root" || a == "-root":
			if i+1 >= len(args) || args[i+1] == "" {
				return usage(stderr, &usageError{i18n.G("--root needs a directory")})
			}
			i++
			ctx.Root = args[i]
		case strings.HasPrefix(a, "--root="):
			ctx.Root = strings.TrimPrefix(a, "--root=")
			if ctx.Root == "" {
				return usage(stderr, &usageError{i18n.G("--root needs a directory")})
			}
		case a == "--json":
			ctx.JSON = true
		case a == "--help" || a == "-h":
			help = true
		case a == "--version":
			showVersion = true
		case name == "" && strings.HasPrefix(a, "-"):
			return usage(stderr, usagef(i18n.G("unknown option %s"), a))
		case name == "":
			name = a
		default:
			rest = append(rest, a)
		}
	}
	switch {
	case showVersion:
		fmt.Fprintf(stdout, "%s %s\n", prog, version.Version)
		return 0
	case help:
		printHelp(stdout)
		return 0
	case name == "":
		return usage(stderr, &usageError{i18n.G("no command given")})
	}
	cmd, ok := commands[name]
	if !ok {
		return usage(stderr, usagef(i18n.G("unknown command %q"), name))
	}
	// Attack list row 46: --root works in-process on another system's
	// files, which only root may act on; refuse before touching anything.
	if ctx.Root != "/" && ctx.m.euid() != 0 {
		return fail(ctx, reason.New(reason.NotRoot, ""))
	}
	err := cmd.run(ctx, rest)
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return usage(stderr, ue)
	}
	return fail(ctx, err)
}

func usage(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	fmt.Fprintf(stderr, i18n.G("Try '%s --help'.")+"\n", prog)
	return 2
}

// message is the one line a person reads for err: the reason's sentence,
// translated, and the cause when there is one.
func message(err error) string {
	var re *reason.Error
	if errors.As(err, &re) {
		s := reason.Sentence(i18n.G, re.Code, re.Detail)
		if re.Err != nil {
			s = strings.TrimSuffix(s, ".") + " (" + re.Err.Error() + ")."
		}
		return s
	}
	return err.Error()
}

func fail(ctx *cliContext, err error) int {
	msg := strings.ReplaceAll(message(err), "\n", " ")
	if ctx.JSON {
		out := map[string]any{"error": map[string]string{"code": string(reason.CodeOf(err)), "message": msg}}
		enc := json.NewEncoder(ctx.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 1
	}
	fmt.Fprintf(ctx.Stderr, "%s: %s\n", prog, msg)
	return 1
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, i18n.G("Usage: %s [--root DIR] [--json] COMMAND [ARGS]")+"\n\n", prog)
	fmt.Fprintln(w, i18n.G("Commands:"))
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, i18n.G(commands[n].help))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, i18n.G("Options:"))
	fmt.Fprintf(w, "  %-10s %s\n", "--root DIR", i18n.G("plan for the system installed in DIR (e.g. /target) instead of this one"))
	fmt.Fprintf(w, "  %-10s %s\n", "--json", i18n.G("print JSON (errors too, on stdout)"))
	fmt.Fprintf(w, "  %-10s %s\n", "--help", i18n.G("show this help"))
	fmt.Fprintf(w, "  %-10s %s\n", "--version", i18n.G("show the version"))
}

// writeJSON prints v indented, as every --json output is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
