package ui

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gotk3/gotk3/gdk"
	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/gotk3/gotk3/pango"

	uiassets "github.com/rapidreboot/rapidreboot/assets/ui"
	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/ui/control"
	"github.com/rapidreboot/rapidreboot/ui/model"
)

// G is gettext (glib's once UseGlibGettext ran).
var G = i18n.G

// dialog is the window: it draws what the controller's model.State says
// and turns GTK's events into the controller's calls, on the main thread.
type dialog struct {
	app   *gtk.Application
	ctl   *control.Controller
	cfg   model.Config
	trace func(format string, args ...any)
	// traced: a trace is kept (the test build), so the geometry lines
	// are worth their cost.
	traced bool
	start  time.Duration

	win     *gtk.ApplicationWindow
	title   *gtk.Label
	updLbl  *gtk.Label
	inhLbl  *gtk.Label
	buttons [model.NButtons]*gtk.Button
	labels  [model.NButtons]*gtk.Label // single-label buttons
	restart struct {
		stack         *gtk.Stack
		normal, quick *gtk.Label
	}
	info struct {
		stack       *gtk.Stack
		hint, quick *gtk.Label
	}
	// armed is the line (and the Cancel Quick Restart button) shown
	// while a Quick Restart is prepared.
	armed struct {
		frame *gtk.Frame
		label *gtk.Label
	}
	// boot is the "What will boot" expander, collapsed at the start.
	boot struct {
		exp   *gtk.Expander
		label *gtk.Label
	}
	// advice is the recommended restart's why line, what a Quick
	// Restart saves, and the "next restart is a normal one" check box.
	advice struct {
		why, saves *gtk.Label
		cold       *gtk.CheckButton
		// drawing: the box is being set from the state, not clicked.
		drawing bool
	}
	tracedLine struct{ armed, boot, advice string } // the last armed/boot/advice trace lines
	last       model.State                          // what Draw was last given
	drawn      [model.NButtons]model.Button
	drawnQuick bool
	// spoken is what each button's accessible object was last given, so
	// a screen reader's name and description follow every change of the
	// drawn label and of the line it describes.
	spoken  [model.NButtons]struct{ name, desc string }
	pending string // relabel waiting for its frame, for the trace
	mapped  bool
}

// The controller draws through these (control.View).
var _ control.View = (*dialog)(nil)

func (d *dialog) activate() {
	if d.win != nil {
		d.win.Present()
		return
	}
	d.trace("activate since-start=%d", (monotonic() - d.start).Nanoseconds())
	d.build()
	d.ctl.Open(d, 150*time.Millisecond)
	d.trace("built since-start=%d", (monotonic() - d.start).Nanoseconds())
	d.win.ShowAll()
	d.Draw(d.last) // ShowAll showed hidden buttons; hide them again
}

// reopen is a second launch: adopt its options and come to the front.
func (d *dialog) reopen(o control.Options) {
	d.ctl.Reopen(o)
	if d.win == nil {
		d.activate()
	}
}

// Present brings the window to the front.
func (d *dialog) Present() { d.win.Present() }

// Quit ends the dialog.
func (d *dialog) Quit() { d.app.Quit() }

// HasFocus says whether button id has the keyboard focus.
func (d *dialog) HasFocus(id model.ButtonID) bool { return d.buttons[id].HasFocus() }

func mustLabel(text string) *gtk.Label {
	l, err := gtk.LabelNew(text)
	if err != nil {
		panic(err) // only when GTK is out of memory
	}
	return l
}

func mnemonicLabel(text string) *gtk.Label {
	l, err := gtk.LabelNewWithMnemonic(text)
	if err != nil {
		panic(err)
	}
	// gtk_label_new_with_mnemonic("") leaves use-underline off.
	l.SetUseUnderline(true)
	return l
}

func (d *dialog) build() {
	loadCSS()
	win, err := gtk.ApplicationWindowNew(d.app)
	if err != nil {
		panic(err)
	}
	d.win = win
	// TRANSLATORS: the window title of the shutdown dialog
	win.SetTitle(G("Shut Down"))
	win.SetPosition(gtk.WIN_POS_CENTER)
	win.SetResizable(false)
	win.SetTypeHint(gdk.WINDOW_TYPE_HINT_DIALOG)
	win.SetName("rapidreboot-dialog")

	outer, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 0)
	outer.SetName("outer")
	top, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 0)
	top.SetName("top")
	if img, err := gtk.ImageNewFromIconName("system-shutdown", gtk.ICON_SIZE_DIALOG); err == nil {
		img.SetVAlign(gtk.ALIGN_START)
		img.SetName("icon")
		top.PackStart(img, false, false, 0)
	}
	texts, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 0)
	d.title = mustLabel("")
	d.title.SetName("title")
	d.title.SetXAlign(0)
	d.title.SetLineWrap(true)
	d.updLbl = mustLabel("")
	d.updLbl.SetName("updates")
	d.updLbl.SetXAlign(0)
	d.updLbl.SetLineWrap(true)
	d.updLbl.SetMaxWidthChars(60)
	d.inhLbl = mustLabel("")
	d.inhLbl.SetName("inhibitors")
	d.inhLbl.SetXAlign(0)
	d.inhLbl.SetLineWrap(true)
	d.inhLbl.SetMaxWidthChars(60)
	texts.PackStart(d.title, false, false, 0)
	texts.PackStart(d.updLbl, false, false, 0)
	texts.PackStart(d.inhLbl, false, false, 0)
	top.PackStart(texts, true, true, 0)
	outer.PackStart(top, false, false, 0)

	box, _ := gtk.ButtonBoxNew(gtk.ORIENTATION_HORIZONTAL)
	box.SetLayout(gtk.BUTTONBOX_CENTER)
	box.SetName("buttons")
	for id := model.ButtonID(0); id < model.NButtons; id++ {
		b, _ := gtk.ButtonNew()
		d.buttons[id] = b
		b.SetName("button-" + id.Name())
		if id == model.BDisarm {
			// Not a choice of the row: it goes beside the armed line.
			l := mnemonicLabel("")
			l.SetMnemonicWidget(b)
			d.labels[id] = l
			b.Add(l)
			b.Connect("clicked", func() { d.clicked(model.BDisarm) })
			continue
		}
		if id == model.BRestart {
			// Both labels live in a stack, so the button keeps the width
			// of the longer one and relabelling redraws one button
			// without resizing the window.
			st, _ := gtk.StackNew()
			st.SetTransitionType(gtk.STACK_TRANSITION_TYPE_NONE)
			d.restart.stack = st
			d.restart.normal = mnemonicLabel(G("_Restart"))
			d.restart.quick = mnemonicLabel(G("_Quick Restart"))
			d.restart.normal.SetMnemonicWidget(b)
			d.restart.quick.SetMnemonicWidget(b)
			// GtkStack ignores SetVisibleChildName for a hidden child, and
			// the first Draw runs before ShowAll: without these, a
			// dialog opened with --quick kept "Restart" drawn.
			d.restart.normal.Show()
			d.restart.quick.Show()
			st.AddNamed(d.restart.normal, "normal")
			st.AddNamed(d.restart.quick, "quick")
			b.Add(st)
		} else {
			l := mnemonicLabel("")
			l.SetMnemonicWidget(b)
			d.labels[id] = l
			b.Add(l)
		}
		if id == model.BSoft {
			b.SetTooltipText(model.SoftTip())
		}
		// A button hidden at ShowAll (no-show-all) and shown later, as
		// the recommended Quick Restart's and Restart Apps Only, would
		// be drawn without its label otherwise.
		if l := d.labels[id]; l != nil {
			l.Show()
		}
		id := id
		b.Connect("clicked", func() { d.clicked(id) })
		box.Add(b)
	}
	outer.PackStart(box, false, false, 0)

	d.info.stack, _ = gtk.StackNew()
	d.info.stack.SetName("info")
	d.info.hint = mustLabel("")
	d.info.quick = mustLabel("")
	for _, l := range []*gtk.Label{d.info.hint, d.info.quick} {
		l.SetLineWrap(true)
		l.SetMaxWidthChars(60)
		l.SetJustify(gtk.JUSTIFY_CENTER)
		if sc, err := l.GetStyleContext(); err == nil {
			sc.AddClass("dim-label")
		}
		l.Show() // a stack page must be visible to be switched to
	}
	d.info.stack.AddNamed(d.info.hint, "hint")
	d.info.stack.AddNamed(d.info.quick, "quick")
	outer.PackStart(d.info.stack, false, false, 0)

	// The recommendation's one line of why, and what a Quick Restart
	// saves here (measured; absent otherwise).
	d.advice.why = mustLabel("")
	d.advice.why.SetName("why")
	d.advice.saves = mustLabel("")
	d.advice.saves.SetName("saves")
	for _, l := range []*gtk.Label{d.advice.why, d.advice.saves} {
		l.SetLineWrap(true)
		l.SetMaxWidthChars(60)
		l.SetJustify(gtk.JUSTIFY_CENTER)
		outer.PackStart(l, false, false, 0)
	}
	d.advice.cold, _ = gtk.CheckButtonNewWithMnemonic(model.ColdLabel())
	d.advice.cold.SetName("coldreboot")
	d.advice.cold.SetHAlign(gtk.ALIGN_CENTER)
	d.advice.cold.Connect("toggled", func() {
		if !d.advice.drawing {
			d.ctl.SetColdReboot(d.advice.cold.GetActive())
		}
	})
	outer.PackStart(d.advice.cold, false, false, 0)

	// Below the row of choices, so that the buttons keep their order
	// in the accessibility tree (Cancel Quick Restart comes last).
	d.armed.frame, _ = gtk.FrameNew("")
	d.armed.frame.SetName("armed")
	armedBox, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 0)
	armedBox.SetName("armed-box")
	d.armed.label = mustLabel("")
	d.armed.label.SetName("armed-line")
	d.armed.label.SetXAlign(0)
	d.armed.label.SetLineWrap(true)
	d.armed.label.SetMaxWidthChars(50)
	armedBox.PackStart(d.armed.label, true, true, 0)
	d.buttons[model.BDisarm].SetVAlign(gtk.ALIGN_CENTER)
	armedBox.PackEnd(d.buttons[model.BDisarm], false, false, 0)
	// The frame is hidden (no-show-all) when ShowAll runs, so what is
	// inside is shown here; the frame alone follows the state.
	armedBox.Show()
	d.buttons[model.BDisarm].ShowAll()
	d.armed.frame.Add(armedBox)
	outer.PackStart(d.armed.frame, false, false, 0)

	// Out of the way: collapsed, at the bottom.
	d.boot.exp, _ = gtk.ExpanderNew(model.State{}.BootTitle())
	// Its mnemonic opens it (GtkExpander's mnemonic-activate toggles).
	d.boot.exp.SetProperty("use-underline", true)
	d.boot.exp.SetName("boot")
	d.boot.exp.SetExpanded(false)
	d.boot.label = mustLabel("")
	d.boot.label.SetName("boot-text")
	d.boot.label.SetXAlign(0)
	d.boot.label.SetLineWrap(true)
	// A command line has long words; break them rather than widen the
	// window past the screen.
	d.boot.label.SetLineWrapMode(pango.WRAP_WORD_CHAR)
	d.boot.label.SetMaxWidthChars(70)
	d.boot.label.SetSelectable(true) // the command line is worth copying
	d.boot.label.Show()              // as the armed box: ShowAll may skip the expander
	d.boot.exp.Add(d.boot.label)
	d.boot.exp.Connect("notify::expanded", func() { d.traceBoot() })
	outer.PackStart(d.boot.exp, false, false, 0)
	win.Add(outer)

	win.Connect("key-press-event", d.key)
	win.Connect("key-release-event", d.key)
	win.Connect("focus-in-event", func() bool { d.syncMods("focus-in"); return false })
	win.Connect("map-event", d.onMap)
	win.Connect("delete-event", func() bool { d.ctl.Quit(); return true })
	win.Connect("destroy", func() { d.ctl.Close() })
	if d.traced {
		// Where each button is, for tests that click with the pointer.
		win.Connect("size-allocate", func() {
			for id, b := range d.buttons {
				a := b.GetAllocation()
				d.trace("geom %s x=%d y=%d w=%d h=%d visible=%v", model.ButtonID(id).Name(), a.GetX(), a.GetY(), a.GetWidth(), a.GetHeight(), b.GetVisible())
			}
			a := d.boot.exp.GetAllocation()
			d.trace("geom expander x=%d y=%d w=%d h=%d visible=%v", a.GetX(), a.GetY(), a.GetWidth(), a.GetHeight(), d.boot.exp.GetVisible())
		})
	}
	if disp, err := gdk.DisplayGetDefault(); err == nil {
		if km, err := disp.GetKeymap(); err == nil {
			// XKB state changes arrive even while another window has
			// the focus, so a key released elsewhere is seen at once.
			km.Connect("state-changed", func() { d.syncMods("keymap") })
		}
	}
}

func loadCSS() {
	screen, err := gdk.ScreenGetDefault()
	if err != nil {
		return
	}
	p, _ := gtk.CssProviderNew()
	if p.LoadFromData(uiassets.DialogCSS) == nil {
		gtk.AddProviderForScreen(screen, p, gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
	}
	// A user's own dialog.css (documented in docs/dialog.md) goes on top.
	for _, f := range model.ConfigPaths(os.Getenv) {
		css := strings.TrimSuffix(f, "dialog.conf") + "dialog.css"
		if _, err := os.Stat(css); err != nil {
			continue
		}
		up, _ := gtk.CssProviderNew()
		if err := up.LoadFromPath(css); err != nil {
			fmt.Fprintf(os.Stderr, "rapidreboot: %s: %v\n", css, err)
			continue
		}
		gtk.AddProviderForScreen(screen, up, gtk.STYLE_PROVIDER_PRIORITY_USER)
	}
}

// Draw draws st. It touches only what changed, so a relabel is one stack
// page switch and one accessible-name change.
func (d *dialog) Draw(st model.State) {
	d.last = st
	bs := st.Buttons()
	for _, b := range bs {
		w := d.buttons[b.ID]
		old := d.drawn[b.ID]
		if b.Visible != old.Visible || d.drawn[0].Label == "" {
			w.SetVisible(b.Visible)
			w.SetNoShowAll(!b.Visible)
		}
		if b.Sensitive != old.Sensitive || d.drawn[0].Label == "" {
			w.SetSensitive(b.Sensitive)
		}
		// The recommended restart in GNOME's accent colour.
		if sc, err := w.GetStyleContext(); err == nil {
			if b.ID == st.Suggested() {
				sc.AddClass("suggested-action")
			} else {
				sc.RemoveClass("suggested-action")
			}
		}
		if b.ID == model.BRestart {
			// Compared with the page GTK shows, not with the last model:
			// a switch GTK refused is retried on the next apply.
			page := "normal"
			if st.QuickShown() {
				page = "quick"
			}
			if d.restart.stack.GetVisibleChildName() != page {
				d.restart.stack.SetVisibleChildName(page)
			}
		} else if b.Label != old.Label {
			d.labels[b.ID].SetLabel(b.Label)
		}
		// What a screen reader says follows what is drawn: the name is
		// the shown label's own text, the description is the line under
		// the buttons whenever that label is Quick Restart.
		name, quick := d.drawnLabel(b.ID)
		desc := ""
		if quick {
			desc = st.QuickInfo()
		} else if b.ID == model.BSoft {
			desc = model.SoftTip()
		}
		if s := &d.spoken[b.ID]; name != s.name || desc != s.desc {
			setAccessible(w, name, desc)
			s.name, s.desc = name, desc
		}
	}
	d.drawn = [model.NButtons]model.Button(bs)
	d.title.SetMarkup(`<span weight="bold" size="large">` + glib.MarkupEscapeText(st.Title()) + `</span>`)
	setText(d.updLbl, st.UpdatesText())
	lines := st.InhibitorLines(appName)
	if len(lines) > 0 {
		setText(d.inhLbl, G("Programs that block or delay shutting down:")+"\n"+strings.Join(lines, "\n"))
	} else {
		setText(d.inhLbl, "")
	}
	hint := st.Message
	if hint == "" {
		hint = st.Hint()
	}
	d.info.hint.SetText(hint)
	d.info.quick.SetText(st.QuickInfo())
	quickInfo := (st.QuickShown() || st.QuickButtonShown()) && st.Message == ""
	if quickInfo {
		d.info.stack.SetVisibleChildName("quick")
	} else {
		d.info.stack.SetVisibleChildName("hint")
	}
	setText(d.advice.why, st.Why())
	setText(d.advice.saves, st.SavesLine())
	d.advice.drawing = true
	d.advice.cold.SetActive(st.Advice.ColdReboot)
	d.advice.drawing = false
	d.advice.cold.SetSensitive(!st.Busy)
	d.advice.cold.SetVisible(st.ColdShown())
	d.advice.cold.SetNoShowAll(!st.ColdShown())
	setText(d.armed.label, st.ArmedText())
	d.armed.frame.SetVisible(st.Armed)
	d.armed.frame.SetNoShowAll(!st.Armed)
	d.boot.label.SetText(st.BootText())
	d.boot.exp.SetVisible(st.Boot.Shown())
	d.boot.exp.SetNoShowAll(!st.Boot.Shown())
	d.traceArmed()
	d.traceBoot()
	d.traceAdvice()
	drawn, quick := d.drawnLabel(model.BRestart)
	if quick != d.drawnQuick {
		d.drawnQuick = quick
		d.pending = map[bool]string{true: "quick", false: "normal"}[quick]
	}
	// restart= is the text GTK draws on the button, not the model's
	// wish: the tests assert what the user sees.
	d.trace("state restart=%q sensitive=%v info=%q busy=%v", drawn, bs[model.BRestart].Sensitive, d.drawnInfo(), st.Busy)
}

// traceChanged traces line unless it is *last, the line traced before.
func (d *dialog) traceChanged(last *string, line string) {
	if line != *last {
		*last = line
		d.trace("%s", line)
	}
}

// traceArmed traces the armed line as GTK has it, when it changed.
func (d *dialog) traceArmed() {
	if !d.traced {
		return
	}
	text, _ := d.armed.label.GetText()
	line := fmt.Sprintf("armed shown=%v text=%q", d.armed.frame.GetVisible(), text)
	d.traceChanged(&d.tracedLine.armed, line)
}

// traceAdvice traces the recommendation as GTK has it, when it changed:
// the button drawn with the suggested-action class and its label, the
// why and time-saved lines, the check box, the soft restart's label.
func (d *dialog) traceAdvice() {
	if !d.traced {
		return
	}
	suggested, label := "none", ""
	for id, b := range d.buttons {
		if sc, err := b.GetStyleContext(); err == nil && sc.HasClass("suggested-action") {
			suggested = model.ButtonID(id).Name()
			label, _ = d.drawnLabel(model.ButtonID(id))
			if !b.GetVisible() {
				suggested += "(hidden)"
			}
		}
	}
	why, _ := d.advice.why.GetText()
	if !d.advice.why.GetVisible() {
		why = ""
	}
	saves, _ := d.advice.saves.GetText()
	if !d.advice.saves.GetVisible() {
		saves = ""
	}
	soft := ""
	if d.buttons[model.BSoft].GetVisible() {
		soft, _ = d.drawnLabel(model.BSoft)
	}
	quick := ""
	if d.buttons[model.BQuick].GetVisible() {
		quick, _ = d.drawnLabel(model.BQuick)
	}
	coldLabel, _ := d.advice.cold.GetLabel()
	line := fmt.Sprintf("advice suggested=%s label=%q why=%q saves=%q soft=%q quick=%q cold-shown=%v cold=%v cold-label=%q",
		suggested, label, why, saves, soft, quick, d.advice.cold.GetVisible(), d.advice.cold.GetActive(), model.StripMnemonic(coldLabel))
	d.traceChanged(&d.tracedLine.advice, line)
}

// traceBoot traces the expander as GTK has it (its title, whether it is
// open, its text), when it changed.
func (d *dialog) traceBoot() {
	if !d.traced {
		return
	}
	text, _ := d.boot.label.GetText()
	line := fmt.Sprintf("boot shown=%v expanded=%v title=%q text=%q", d.boot.exp.GetVisible(), d.boot.exp.GetExpanded(), model.StripMnemonic(d.boot.exp.GetLabel()), text)
	d.traceChanged(&d.tracedLine.boot, line)
}

// drawnLabel is the text of the label GTK shows on button id, as drawn
// (mnemonic underscore removed), and whether it is Quick Restart's.
func (d *dialog) drawnLabel(id model.ButtonID) (text string, quick bool) {
	l := d.labels[id]
	switch id {
	case model.BRestart:
		l = nil
		shown, err := d.restart.stack.GetVisibleChild()
		if err != nil || shown == nil {
			return "", false
		}
		for _, c := range []*gtk.Label{d.restart.normal, d.restart.quick} {
			if shown.ToWidget().Native() == c.ToWidget().Native() {
				l = c
			}
		}
		quick = l == d.restart.quick
	case model.BQuick:
		quick = true
	}
	if l == nil {
		return "", false
	}
	text, _ = l.GetText()
	return text, quick
}

// drawnInfo is the text of the line under the buttons that GTK shows.
func (d *dialog) drawnInfo() string {
	l := d.info.hint
	if d.info.stack.GetVisibleChildName() == "quick" {
		l = d.info.quick
	}
	s, _ := l.GetText()
	return s
}

func setText(l *gtk.Label, s string) {
	l.SetText(s)
	l.SetVisible(s != "")
	l.SetNoShowAll(s == "")
}

// Focus makes button id the focused and default one.
func (d *dialog) Focus(id model.ButtonID) {
	d.buttons[id].SetCanDefault(true)
	d.win.SetDefault(d.buttons[id])
	d.buttons[id].GrabFocus()
}

// key follows Shift/Ctrl (and Escape). The relabel happens in this
// handler, so it is drawn in the very next frame.
func (d *dialog) key(_ *gtk.ApplicationWindow, ev *gdk.Event) bool {
	k := gdk.EventKeyNewFromEvent(ev)
	// GTK matches mnemonics only with Alt alone, but the Quick Restart
	// label (and its mnemonic) shows only while Shift or Ctrl is down:
	// match Alt+Shift/Ctrl+letter against the labels drawn.
	if k.Type() == gdk.EVENT_KEY_PRESS && k.State()&uint(gdk.MOD1_MASK) != 0 && d.cfg.HeldIn(k.State()) {
		r := gdk.KeyvalToUnicode(gdk.KeyvalToLower(k.KeyVal()))
		for _, b := range d.drawn {
			if r != 0 && b.Visible && b.Sensitive && model.Mnemonic(b.Label) == r {
				d.clicked(b.ID)
				return true
			}
		}
	}
	switch k.KeyVal() {
	case gdk.KEY_Escape:
		if k.Type() == gdk.EVENT_KEY_PRESS {
			d.ctl.Quit()
			return true
		}
	case gdk.KEY_Return, gdk.KEY_KP_Enter, gdk.KEY_ISO_Enter, gdk.KEY_space, gdk.KEY_KP_Space:
		// GTK's button bindings want these keys without modifiers, so
		// Shift+Enter on the focused Restart button would do nothing;
		// activate it here, where the event (with its Shift) is current.
		if k.Type() == gdk.EVENT_KEY_PRESS && d.cfg.HeldIn(k.State()) {
			for id, b := range d.buttons {
				if b.HasFocus() && b.IsSensitive() {
					d.clicked(model.ButtonID(id))
					return true
				}
			}
		}
	case gdk.KEY_Shift_L, gdk.KEY_Shift_R, gdk.KEY_Control_L, gdk.KEY_Control_R:
		// The event's state is from before this key; ask the server for
		// the state now, which also knows about the other Shift key.
		d.syncMods("key")
	}
	return false
}

// syncMods reads the real modifier state from the server (through the
// pointer device, which carries the keyboard's modifiers) and relabels.
func (d *dialog) syncMods(why string) {
	if d.win == nil || !d.mapped {
		return
	}
	mask, ok := d.deviceMods()
	if !ok {
		return
	}
	d.ctl.SetHeld(d.cfg.HeldIn(mask), why)
}

func (d *dialog) deviceMods() (uint, bool) {
	gw, err := d.win.GetWindow()
	if err != nil || gw == nil {
		return 0, false
	}
	disp, err := gdk.DisplayGetDefault()
	if err != nil {
		return 0, false
	}
	seat, err := disp.GetDefaultSeat()
	if err != nil {
		return 0, false
	}
	ptr, err := seat.GetPointer()
	if err != nil {
		return 0, false
	}
	_, _, _, mask := gw.GetDevicePosition(ptr)
	return uint(mask), true
}

func (d *dialog) onMap() bool {
	if d.mapped {
		return false
	}
	d.mapped = true
	// The window icon is looked up in the icon theme; after the map it
	// costs the user nothing.
	d.win.SetIconName("io.github.rapidreboot")
	d.trace("mapped since-start=%d xid=%#x", (monotonic() - d.start).Nanoseconds(), xid(d.win))
	// "Hold Shift and choose Restart in the menu" arrives here with the
	// key already down.
	d.syncMods("map")
	if fc := d.win.GetFrameClock(); fc != nil {
		fc.Connect("after-paint", func() {
			if d.pending != "" {
				d.trace("drawn %s", d.pending)
				d.pending = ""
			}
		})
	}
	d.ctl.Mapped()
	return false
}

// clicked decides from the click event's own modifier state.
func (d *dialog) clicked(id model.ButtonID) {
	state, ok := currentEventState()
	d.ctl.Click(id, state, ok)
}
