// Package ui is the shutdown dialog's GTK layer and the only importer of
// gotk3. It draws what ui/model decides and feeds it events; bus calls run
// in goroutines and come back to GTK only through glib.IdleAdd.
package ui

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/ui/control"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// AppID is the GtkApplication id; a second launch finds the first by it.
const AppID = "io.github.rapidreboot.Dialog"

// Options are the command line's choices.
type Options = control.Options

// A second launch hands its choices to the first as one string.
func encode(o Options) string {
	return fmt.Sprintf("action=%s;quick=%v;updates=%v", o.Action, o.Quick, o.ForUpdates)
}

func decodeOptions(s string) (o Options) {
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "action":
			if a, err := model.ParseAction(v); err == nil {
				o.Action = a
			}
		case "quick":
			o.Quick = v == "true"
		case "updates":
			o.ForUpdates = v == "true"
		}
	}
	return o
}

// UseGlibGettext makes backend/i18n translate through glib's gettext in
// our domain, so Go strings and GTK's own come from the same catalog and
// the same setlocale(3). localedir is where the .mo files are.
func UseGlibGettext(localedir string) {
	glib.InitI18n(i18n.Domain, localedir)
	i18n.Use(&i18n.Translator{
		G:  glib.Local,
		NG: func(s, p string, n int) string { return ngettext(i18n.Domain, s, p, n) },
	})
}

// Run runs the dialog and returns the exit status.
func Run(opts Options, cfg model.Config, cfgErrs []error) int {
	return run(opts, cfg, cfgErrs, nil)
}

// run is Run with a trace: if trace is set, it gets one line per event the
// tests and the benchmark wait for, with CLOCK_MONOTONIC times. Only the
// test build's main sets it (cmd/rapidreboot, build tag
// rapidreboot_testhooks).
func run(opts Options, cfg model.Config, cfgErrs []error, trace io.Writer) int {
	start := monotonic()
	app, err := gtk.ApplicationNew(AppID, glib.APPLICATION_FLAGS_NONE)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rapidreboot: cannot create the application:", err)
		return 1
	}
	for _, e := range cfgErrs {
		fmt.Fprintln(os.Stderr, "rapidreboot: config:", e)
	}
	d := &dialog{app: app, cfg: cfg, start: start, trace: tracer(trace), traced: trace != nil}
	d.ctl = control.New(opts, cfg, func(f func()) { glib.IdleAdd(f) }, d.trace)
	d.ctl.Start()
	// The window's "destroy" closes the controller too; this covers a
	// dialog that never opened one.
	defer d.ctl.Close()

	present := glib.SimpleActionNew("present", glib.VARIANT_TYPE_STRING)
	present.Connect("activate", func(_ *glib.SimpleAction, v any) {
		// gotk3 hands a string parameter over already unpacked.
		switch p := v.(type) {
		case string:
			d.reopen(decodeOptions(p))
		case *glib.Variant:
			d.reopen(decodeOptions(p.GetString()))
		default:
			d.reopen(Options{})
		}
	})
	app.AddAction(present)
	app.Connect("activate", d.activate)

	// A second launch hands its options to the first and leaves; the
	// first raises its window. Without a session bus there is no first
	// to find, and the dialog simply runs.
	remote, err := register(app)
	d.trace("registered since-start=%d", (monotonic() - start).Nanoseconds())
	if err == nil && remote {
		activateRemote(app, "present", encode(opts))
		return 0
	}
	return app.Run(nil)
}

func monotonic() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// tracer writes trace lines to w, each with its CLOCK_MONOTONIC time;
// with no w it does nothing.
func tracer(w io.Writer) func(format string, args ...any) {
	if w == nil {
		return func(string, ...any) {}
	}
	return func(format string, args ...any) {
		fmt.Fprintf(w, "%d %s\n", monotonic().Nanoseconds(), fmt.Sprintf(format, args...))
	}
}
