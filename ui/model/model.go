// Package model is the dialog's state and decisions, without GTK: which
// buttons show, their labels under Shift/Ctrl, the line under the buttons,
// and which action a click means. The GTK layer
// (package ui) only draws what State says and feeds it events, so every
// decision here is unit-tested without a display.
package model

import (
	"fmt"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
	"github.com/rapidreboot/rapidreboot/backend/session"
)

// G translates; it is i18n.G, which the dialog points at glib's gettext.
var G = i18n.G

// Action is what a button does.
type Action int

const (
	None Action = iota
	Cancel
	Logout
	Suspend
	Hibernate
	Restart
	QuickRestart
	PowerOff
	// Disarm calls off a Quick Restart prepared earlier (the helper's
	// Disarm): the next restart is a normal one.
	Disarm
	// SoftRestart restarts every program but not the kernel (the
	// helper's SoftRestart, after the session manager ended the session).
	SoftRestart
)

func (a Action) String() string {
	return [...]string{"none", "cancel", "logout", "suspend", "hibernate", "restart", "quick-restart", "shutdown", "disarm", "soft-restart"}[a]
}

// ButtonID names the buttons, in the order they are laid out.
type ButtonID int

const (
	BCancel ButtonID = iota
	BLogout
	BSuspend
	BHibernate
	BRestart // reads "Quick Restart" in quick state
	BQuick   // the separate Quick Restart button (Config.QuickButton, or recommended)
	// BSoft is "Restart Apps Only": shown where the running systemd can
	// restart userspace alone and the dialog can carry it (advice.go).
	BSoft
	BPowerOff
	// BDisarm is shown only while a Quick Restart is armed, beside the
	// line that says so, not in the row of choices; it is last so that
	// the others keep their places in the accessibility tree.
	BDisarm
	NButtons
)

// Name is the button's name in widget names and the trace.
func (id ButtonID) Name() string {
	return [...]string{"cancel", "logout", "suspend", "hibernate", "restart", "quick", "soft", "shutdown", "disarm"}[id]
}

// GDK modifier bits (GdkModifierType), as the event state carries them.
const (
	ShiftMask   uint = 1 << 0
	ControlMask uint = 1 << 2
)

// Availability is what the dialog knows about Quick Restart.
type Availability int

const (
	// Checking: the plan has not arrived yet (asked after the window maps).
	Checking Availability = iota
	Available
	// Unavailable: the helper said no; Reason says why.
	Unavailable
)

// State is everything the dialog shows. The zero value is not useful; use
// New.
type State struct {
	Config Config
	// StartQuick: opened with --quick, Restart reads Quick Restart
	// whatever the keys.
	StartQuick bool
	// Held: a configured modifier is down right now.
	Held bool

	Quick   Availability
	Version string // kernel version Quick Restart would start
	// Passphrase names the encrypted volumes whose passphrase the
	// kexec'd kernel's initramfs asks for again (attack-list row 43).
	Passphrase []string
	// Reason is the translated sentence saying why Quick Restart is
	// unavailable.
	Reason string
	// Boot is what the "What will boot" expander shows.
	Boot Boot

	// Armed: the helper says a Quick Restart is armed (prepared earlier:
	// by this dialog before, rapidrebootctl or another session), so the
	// next restart skips the firmware. ArmedVersion is its kernel's
	// version, "" if not known.
	Armed        bool
	ArmedVersion string

	// Advice is the helper's recommendation (GetAdvice) and what it
	// measured (GetTimeSaved); see advice.go.
	Advice Advice
	// Nvidia: the plan warns that the NVIDIA driver is loaded, so a
	// normal Restart is suggested instead of Quick Restart.
	Nvidia bool
	// SoftPath: the session manager found lets the dialog end the
	// session first and then restart the programs (advice.go).
	SoftPath bool

	Caps    session.Caps
	Updates rebootreq.Status
	// ForUpdates: opened with --reason=updates.
	ForUpdates bool
	Inhibitors []session.Inhibitor
	// Busy: an action is under way; every button but Cancel is off.
	Busy bool
	// Message is shown instead of the hint (an action failed, Quick
	// Restart was cancelled).
	Message string
}

// New returns the opening state for cfg.
func New(cfg Config) State { return State{Config: cfg} }

// HeldIn says whether the event state has one of the configured modifiers.
func (c Config) HeldIn(state uint) bool {
	return c.Shift && state&ShiftMask != 0 || c.Ctrl && state&ControlMask != 0
}

// QuickShown says whether the Restart button reads "Quick Restart".
func (s State) QuickShown() bool {
	if s.QuickButtonShown() {
		return false // the separate button says it; Restart stays Restart
	}
	return s.StartQuick || s.Held
}

// Button is how one button looks.
type Button struct {
	ID    ButtonID
	Label string // with its mnemonic underscore
	// Name is the label without its underscore. The GTK layer names the
	// button for a screen reader from the label widget it shows, not from
	// here, so the name cannot differ from what is drawn.
	Name      string
	Visible   bool
	Sensitive bool
}

// Buttons returns every button, in layout order.
func (s State) Buttons() []Button {
	b := make([]Button, NButtons)
	set := func(id ButtonID, label string, visible, sensitive bool) {
		b[id] = Button{ID: id, Label: label, Name: StripMnemonic(label), Visible: visible, Sensitive: sensitive && !s.Busy}
	}
	set(BCancel, G("_Cancel"), true, true)
	b[BCancel].Sensitive = true
	set(BLogout, G("_Log Out"), true, true)
	set(BSuspend, G("S_uspend"), shown(s.Config.Suspend, s.Caps.Suspend), session.Yes(s.Caps.Suspend))
	set(BHibernate, G("_Hibernate"), shown(s.Config.Hibernate, s.Caps.Hibernate), session.Yes(s.Caps.Hibernate))
	if s.QuickShown() {
		set(BRestart, G("_Quick Restart"), true, s.Quick == Available)
	} else {
		set(BRestart, G("_Restart"), true, s.Caps.Reboot != "no")
	}
	set(BQuick, G("_Quick Restart"), s.QuickButtonShown(), s.Quick == Available)
	// TRANSLATORS: a button: every program (and the desktop) is closed and started again, the kernel keeps running (systemd's soft-reboot)
	set(BSoft, G("Restart _Apps Only"), s.SoftShown(), s.Caps.Reboot != "no")
	set(BPowerOff, G("Shut _Down"), true, s.Caps.PowerOff != "no")
	// TRANSLATORS: a button beside "A Quick Restart into Linux … is prepared"; it makes the next restart a normal one
	set(BDisarm, G("Cancel Quic_k Restart"), s.Armed, true)
	return b
}

func shown(cfg Show, can string) bool {
	switch cfg {
	case ShowAlways:
		return true
	case ShowNever:
		return false
	}
	return session.Yes(can)
}

// StripMnemonic removes GTK's mnemonic underscores ("__" is a literal one).
func StripMnemonic(label string) string {
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		if label[i] == '_' {
			if i+1 < len(label) && label[i+1] == '_' {
				b.WriteByte('_')
				i++
			}
			continue
		}
		b.WriteByte(label[i])
	}
	return b.String()
}

// Mnemonic returns the lower-cased rune after the first single underscore.
func Mnemonic(label string) rune {
	for i := 0; i+1 < len(label); i++ {
		if label[i] == '_' {
			if label[i+1] == '_' {
				i++
				continue
			}
			r := []rune(label[i+1:])[0]
			return []rune(strings.ToLower(string(r)))[0]
		}
	}
	return 0
}

// Click returns what clicking button id means with the event's modifier
// state. The Restart button is decided by the state of the click itself,
// not by what was last drawn, so that the label the user saw (drawn from
// the same key state) is the action taken; if that state asks for Quick
// Restart while it is unavailable, the click does nothing, as an
// insensitive button would.
func (s State) Click(id ButtonID, state uint) Action {
	if s.Busy && id != BCancel {
		return None
	}
	btn := s.Buttons()[id]
	if !btn.Visible {
		return None
	}
	var a Action
	switch id {
	case BCancel:
		return Cancel
	case BLogout:
		a = Logout
	case BSuspend:
		a = Suspend
	case BHibernate:
		a = Hibernate
	case BPowerOff:
		a = PowerOff
	case BQuick:
		a = QuickRestart
	case BSoft:
		a = SoftRestart
	case BDisarm:
		a = Disarm
	case BRestart:
		now := s
		now.Held = s.Config.HeldIn(state)
		if now.QuickShown() {
			if now.Quick != Available {
				return None
			}
			return QuickRestart
		}
		if s.Caps.Reboot == "no" {
			return None
		}
		return Restart
	default:
		return None
	}
	if !btn.Sensitive {
		return None
	}
	return a
}

// Focus is the button focused at open: --action or the configured default;
// Quick Restart focuses the Restart button in quick mode.
func (s State) Focus(action Action) ButtonID {
	if action == None {
		action = s.Config.Default
		if s.ForUpdates || s.StartQuick {
			action = Restart
		}
	}
	id := map[Action]ButtonID{Cancel: BCancel, Logout: BLogout, Suspend: BSuspend, Hibernate: BHibernate,
		Restart: BRestart, QuickRestart: BRestart, PowerOff: BPowerOff}[action]
	if action == QuickRestart && s.QuickButtonShown() {
		id = BQuick
	}
	if b := s.Buttons()[id]; !b.Visible || !b.Sensitive {
		return BCancel
	}
	return id
}

// Title is the dialog's question.
func (s State) Title() string {
	if s.ForUpdates || s.Updates.Required {
		return G("Restart to finish installing updates")
	}
	return G("What do you want to do?")
}

// Info is the line under the buttons: what Quick Restart will do (or why
// it cannot) while it is shown, a hint otherwise, or a message.
func (s State) Info() string {
	if s.Message != "" {
		return s.Message
	}
	if s.QuickShown() || s.QuickButtonShown() {
		return s.QuickInfo()
	}
	return s.Hint()
}

// QuickInfo says what Quick Restart does now.
func (s State) QuickInfo() string {
	switch s.Quick {
	case Available:
		line := G("Restarts without the firmware and boot menu.")
		if s.Version != "" {
			line = fmt.Sprintf(G("Restarts into Linux %s without the firmware and boot menu."), s.Version)
		}
		if len(s.Passphrase) > 0 {
			// A Quick Restart skips the boot menu, not the disk unlock:
			// someone must be at the keyboard, as after a normal restart.
			// TRANSLATORS: %s is one or more encrypted volume names, e.g. sda5_crypt
			line += "\n" + fmt.Sprintf(G("The passphrase of the encrypted disk (%s) will be asked again while it starts."), strings.Join(s.Passphrase, ", "))
		}
		if s.Nvidia {
			line += "\n" + nvidiaSentence()
		}
		return line
	case Unavailable:
		return fmt.Sprintf(G("Quick Restart is not possible: %s"), s.Reason)
	}
	return G("Checking whether Quick Restart is possible…")
}

// Hint tells how to reach Quick Restart.
func (s State) Hint() string {
	switch {
	case s.Config.Shift && s.Config.Ctrl:
		return G("Hold Shift or Ctrl to restart without the firmware and boot menu.")
	case s.Config.Shift:
		return G("Hold Shift to restart without the firmware and boot menu.")
	case s.Config.Ctrl:
		return G("Hold Ctrl to restart without the firmware and boot menu.")
	}
	return ""
}

// maxPkgNames is how many updated packages are named before "and N more".
const maxPkgNames = 6

// UpdatesText explains a pending restart for updates, or "".
func (s State) UpdatesText() string {
	u := s.Updates
	if !u.Required {
		return ""
	}
	var lines []string
	if n := len(u.Packages); n > 0 {
		names := u.Packages
		more := 0
		if n > maxPkgNames {
			names, more = names[:maxPkgNames], n-maxPkgNames
		}
		list := strings.Join(names, ", ")
		if more > 0 {
			// TRANSLATORS: a list of package names, then how many more were updated
			list = fmt.Sprintf(i18n.NG("%s and %d more", "%s and %d more", more), list, more)
		}
		// TRANSLATORS: %s is a list of Debian package names
		lines = append(lines, fmt.Sprintf(G("Updated: %s."), list))
	}
	if s.Why() != "" {
		// The helper's recommendation, under the buttons, says which
		// restart finishes them; two answers could disagree.
	} else if u.QuickEnough {
		lines = append(lines, G("Quick Restart is enough to finish them: it starts the new kernel too."))
	} else {
		// TRANSLATORS: %s is one or more package names, e.g. shim-signed
		lines = append(lines, fmt.Sprintf(G("%s finishes in the firmware or boot loader: use Restart, not Quick Restart."), strings.Join(u.NeedsCold, ", ")))
	}
	return strings.Join(lines, "\n")
}

// InhibitorLines lists what blocks or delays shutting down, one line each;
// names maps app ids to display names (may be nil).
func (s State) InhibitorLines(names func(appID string) string) []string {
	var out []string
	for _, in := range s.Inhibitors {
		who := in.Who
		if in.AppID != "" && names != nil {
			if n := names(in.AppID); n != "" {
				who = n
			}
		}
		if who == "" {
			who = G("An unknown program")
		}
		why := in.Why
		if why == "" {
			why = G("no reason given")
		}
		if in.Mode == "delay" {
			// TRANSLATORS: a program name, then the reason it gave for delaying
			out = append(out, fmt.Sprintf(G("%s (delays shutting down briefly): %s"), who, why))
		} else {
			// TRANSLATORS: a program that blocks shutting down, then the reason it gave
			out = append(out, fmt.Sprintf(G("%s: %s"), who, why))
		}
	}
	return out
}
