// Package busapi defines the helper's D-Bus contract in one place: the bus
// name, object path, interface, error names, polkit action ids, the wire
// form of a plan, and the one client that the dialog and rapidrebootctl use.
//
// The interface is versioned in its name (Helper1). A change that breaks
// callers gets a new name (Helper2), served beside the old one.
// assets/dbus/io.github.rapidreboot.Helper1.xml is the introspection data;
// a test in backend/system/helper keeps the exported methods equal to it.
package busapi

import "github.com/rapidreboot/rapidreboot/backend/reason"

const (
	// BusName is the well-known name on the system bus; only root may own it.
	BusName = "io.github.rapidreboot.Helper1"
	// ObjectPath is the one object the helper exports.
	ObjectPath = "/io/github/rapidreboot/Helper1"
	// Interface is the helper's interface on ObjectPath.
	Interface = "io.github.rapidreboot.Helper1"

	// ErrorPrefix starts every error name the helper replies with. The
	// error body is (message, code, detail): message is an English sentence,
	// code a reason.Code, detail the sentence's argument.
	ErrorPrefix = "io.github.rapidreboot.Helper1.Error."
	// ErrNotAuthorized: polkit said no (attack list row 1).
	ErrNotAuthorized = ErrorPrefix + "NotAuthorized"
	// ErrAuthenticationRequired: polkit wants a password and none can be asked.
	ErrAuthenticationRequired = ErrorPrefix + "AuthenticationRequired"
	// ErrUnavailable: Quick Restart is impossible now; the code says why.
	ErrUnavailable = ErrorPrefix + "Unavailable"
	// ErrFailed: the attempt failed (load error, logind refused the reboot).
	ErrFailed = ErrorPrefix + "Failed"

	// ActionQuickRestart is the polkit action for Arm and QuickRestart (with
	// logind's own reboot action), and the one that lets a caller Disarm
	// another user's arm and read GetPlan's command line.
	ActionQuickRestart = "io.github.rapidreboot.quick-restart"
	// ActionQuickRestartMultipleSessions is required instead when other
	// users have sessions, as logind's reboot-multiple-sessions.
	ActionQuickRestartMultipleSessions = "io.github.rapidreboot.quick-restart-multiple-sessions"

	// PropArmed is the read-only boolean property, with change signals.
	PropArmed = "Armed"
	// PropArmedVersion is the read-only string property naming the armed
	// kernel's version ("" when not armed), with change signals, so that
	// a dialog opened later can say what the next restart starts. The
	// version of a kernel in /boot is no secret: anyone may read it.
	PropArmedVersion = "ArmedVersion"
	// PropSoftRestartPending is the read-only boolean property, with
	// change signals: a soft restart waits for a session's end
	// (SoftRestartAfterLogout) or is being carried out. Whose, and which
	// session, is in the helper's log, not on the bus.
	PropSoftRestartPending = "SoftRestartPending"
)

// Plan is the wire form of GetPlan's and Arm's reply, D-Bus signature
// (ssasssasasbss), in field order. Paths are as the target system sees them.
type Plan struct {
	Kernel    string
	Version   string
	Initrds   []string
	Cmdline   string
	Source    string   // which boot loader file decided, e.g. "/boot/grub/grub.cfg"
	Why       []string // one line per decision, with file and line
	Warnings  []string
	Available bool        // Quick Restart can be armed now
	Reason    reason.Code // why not, when !Available
	Detail    string      // the sentence's argument (a holder, a version)
}

// PlanSignature is the D-Bus signature of Plan.
const PlanSignature = "(ssasssasasbss)"

// WithheldWhy is the one Why line of a plan given to a caller who may
// not see the command line (the helper's redact).
const WithheldWhy = "the kernel command line and how it was chosen are shown only to users allowed to use Quick Restart"

// Withheld says whether the helper withheld the command line and the Why
// lines from this caller, so that an empty command line is not one.
func (p Plan) Withheld() bool {
	return p.Cmdline == "" && len(p.Why) == 1 && p.Why[0] == WithheldWhy
}

// Sentence renders the plan's reason with tr (nil: English).
func (p Plan) Sentence(tr func(string) string) string {
	if p.Available {
		return ""
	}
	return reason.Sentence(tr, p.Reason, p.Detail)
}
