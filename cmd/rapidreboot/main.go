// Command rapidreboot is the shutdown dialog: Cancel, Log Out, Restart,
// Shut Down (and Suspend, Hibernate); holding Shift or Ctrl turns Restart
// into Quick Restart. See docs/dialog.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/version"
	"github.com/rapidreboot/rapidreboot/ui"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	localedir := os.Getenv(i18n.LocaleDirEnv)
	if localedir == "" {
		localedir = i18n.DefaultLocaleDir
	}
	// Before flags, so --help is translated too.
	ui.UseGlibGettext(localedir)

	fs := flag.NewFlagSet("rapidreboot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	action := fs.String("action", "", i18n.G("focus this button when the dialog opens: logout, restart, shutdown, quick-restart, suspend, hibernate"))
	quick := fs.Bool("quick", false, i18n.G("open with Restart reading Quick Restart"))
	why := fs.String("reason", "", i18n.G("why the dialog opens: updates (a restart finishes installing updates)"))
	showVersion := fs.Bool("version", false, i18n.G("print the version and exit"))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rapidreboot: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Println("rapidreboot", version.Version)
		return 0
	}
	opts := ui.Options{Quick: *quick, Root: "/", Sys: "/sys", Proc: "/proc"}
	if *action != "" {
		a, err := model.ParseAction(*action)
		if err != nil {
			fmt.Fprintln(stderr, "rapidreboot: --action:", err)
			return 2
		}
		opts.Action = a
	}
	switch *why {
	case "":
	case "updates":
		opts.ForUpdates = true
	default:
		fmt.Fprintf(stderr, "rapidreboot: --reason: unknown reason %q (want updates)\n", *why)
		return 2
	}
	cfg, errs := model.LoadConfig(os.Getenv)
	return start(opts, cfg, errs, stderr)
}
