package model

// The recommended restart (issue 16): which button is the dialog's
// suggested action, the one line of why under the buttons, the soft
// restart's button, the "next restart is a normal one" check box and
// what a Quick Restart saves on this machine. The helper decides
// (GetAdvice, GetTimeSaved); the dialog only shows it, through the
// methods of busapi.Advice, so that ui does not depend on where the
// decision's types live.

import (
	"fmt"
	"math"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// Advice is what the helper said about the next restart.
type Advice struct {
	// Known: the helper answered GetAdvice (an older helper, or none,
	// does not: the dialog then looks as before, without a
	// recommendation, a soft restart or the check box).
	Known bool
	busapi.Advice
	// Saves is what a Quick Restart saves here in seconds, measured by
	// the helper (firmware and boot menu); 0 when nothing was measured,
	// and then nothing is said.
	Saves float64
}

// The wire's kinds and codes (restartkind's values, which are stable
// strings like reason codes).
const (
	kindQuick   = "quick"
	kindSoft    = "soft"
	codeNothing = "nothing-pending"
	codeNoQuick = "quick-unavailable"
)

// nvidiaSentence is the helper's NVIDIA warning in the user's language.
func nvidiaSentence() string { return reason.Sentence(G, reason.NvidiaDriver, "") }

// quickUsable says whether Quick Restart can be the recommendation: the
// helper offers it and can arm it, and no NVIDIA driver is loaded.
func (s State) quickUsable() bool {
	return s.Advice.QuickOffered && !s.Advice.ColdReboot && s.Quick == Available && !s.Nvidia
}

// Recommended is the restart the dialog suggests: QuickRestart,
// SoftRestart, Restart, or None (nothing pending, no helper's advice).
// A soft restart the dialog cannot carry, and a Quick Restart that is
// not possible now or that the NVIDIA driver makes risky, fall back as
// the helper's own decision does: soft → Quick Restart → Restart.
func (s State) Recommended() Action {
	a := s.Advice
	if !a.Known || a.Code == codeNothing {
		return None
	}
	if a.Kind == kindSoft && s.SoftShown() {
		return SoftRestart
	}
	if a.Kind == kindSoft || a.Kind == kindQuick {
		if s.Quick == Checking && !s.Nvidia {
			return None // not known yet: suggest nothing rather than change it later
		}
		if s.quickUsable() {
			return QuickRestart
		}
	}
	return Restart
}

// QuickButtonShown says whether the separate Quick Restart button is
// shown: configured, or recommended. While it is, the Restart button
// stays Restart under Shift/Ctrl, as with quick-button = true: every
// restart is then one click away without a key, and no two buttons are
// named Quick Restart (they would share a mnemonic).
func (s State) QuickButtonShown() bool {
	return s.Config.QuickButton || s.Recommended() == QuickRestart
}

// SoftShown says whether "Restart Apps Only" is offered: the running
// systemd can do it (the helper probed) and the session manager lets the
// dialog end the session before it.
func (s State) SoftShown() bool {
	return s.Advice.Known && s.Advice.SoftAvailable && s.SoftPath
}

// Suggested is the button drawn as the suggested action (GNOME's accent
// colour for the default), NButtons for none.
func (s State) Suggested() ButtonID {
	switch s.Recommended() {
	case QuickRestart:
		return BQuick
	case SoftRestart:
		return BSoft
	case Restart:
		return BRestart
	}
	return NButtons
}

// Why is the one line under the buttons that says why the suggested
// restart is the one; "" when nothing is recommended.
func (s State) Why() string {
	rec := s.Recommended()
	if rec == None {
		return ""
	}
	a := s.Advice.Advice
	switch {
	case a.ColdReboot || !a.QuickOffered:
		// Firmware, boot loader, coldreboot: the helper's own line says
		// why Quick Restart is not offered.
		return a.Why(G)
	case s.Nvidia && rec == Restart:
		return nvidiaSentence()
	case rec == Restart && s.Quick == Unavailable:
		return fmt.Sprintf(G("Quick Restart is not possible: %s"), s.Reason)
	case rec == QuickRestart && a.Kind == kindSoft:
		// The helper would restart the programs only, but the dialog
		// cannot carry that here: say why Quick Restart is enough.
		a.Kind = kindQuick
	case a.Code == codeNoQuick:
		return ""
	}
	return a.Why(G)
}

// QuickOffered says whether Quick Restart is offered at all (not while
// the coldreboot flag is set, nor for firmware and boot loader updates).
func (s State) QuickOffered() bool {
	return !s.Advice.Known || s.Advice.QuickOffered && !s.Advice.ColdReboot
}

// SavesLine is what a Quick Restart saves on this machine, measured;
// "" when nothing was measured or Quick Restart is not on offer.
func (s State) SavesLine() string {
	if s.Advice.Saves <= 0 || !s.QuickOffered() || s.Quick != Available {
		return ""
	}
	n := int(math.Round(s.Advice.Saves))
	if n < 1 {
		return ""
	}
	// TRANSLATORS: %d is a number of seconds measured on this computer
	return fmt.Sprintf(G("Quick Restart skips about %d s of firmware and boot menu."), n)
}

// SoftTip is the soft restart button's tooltip: what it does, in words
// for people who do not know what a kernel is.
func SoftTip() string {
	return G("Closes all programs and your session, then starts them again. The core of the system (the Linux kernel) keeps running, so this is faster than a restart.")
}

// ColdShown says whether the "next restart is a normal one" check box is
// shown: the helper knows the flag.
func (s State) ColdShown() bool { return s.Advice.Known }

// ColdLabel is the check box's label, with its mnemonic.
func ColdLabel() string {
	// TRANSLATORS: a check box; checked, the next restart goes through the firmware and boot menu (Quick Restart is not offered)
	return G("_Next restart is a normal one")
}
