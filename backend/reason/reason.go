// Package reason holds the codes that say why a Quick Restart cannot happen,
// the typed error that carries one, and the plain sentence for each code.
//
// Codes are stable strings: they travel over D-Bus and in `rapidrebootctl
// --json` output, and the dialog turns them into translated sentences. The
// backend keeps its errors in English; translation happens at the edge
// (ui, ctl, the helper's reply) through Sentence with a translator function.
package reason

import (
	"errors"
	"fmt"
)

// Code names one reason. The zero value means "no problem".
type Code string

// The codes. Adding one means listing it in codes and giving it a sentence
// in sentences below, and a translation in every po/*.po: reason_test fails
// until all three are done.
const (
	OK Code = ""

	// Boot plan: what a cold boot would run cannot be determined safely.
	NoBootEntries   Code = "no-boot-entries"   // boot loader config names no usable entry
	DefaultNotLinux Code = "default-not-linux" // default entry chainloads another OS
	KernelMissing   Code = "kernel-missing"    // no kernel found (is /boot mounted?)
	InitrdMissing   Code = "initrd-missing"    // the kernel needs an initrd and has none
	ModulesMissing  Code = "modules-missing"   // /lib/modules/<version> missing
	InitrdStale     Code = "initrd-stale"      // initrd older than its kernel
	UnsafeFile      Code = "unsafe-file"       // not root-owned, writable by others, not regular
	LeavesBoot      Code = "leaves-boot"       // a symlink leaves /boot or the root
	TooLarge        Code = "too-large"         // input over its size cap
	BadConfig       Code = "bad-config"        // boot loader config cannot be parsed
	CmdlineTooLong  Code = "cmdline-too-long"  // over the architecture's limit
	Precondition    Code = "precondition"      // --root preconditions (DIR/boot readable, /proc mounted)

	// Host: kexec itself is impossible or unwise right now.
	NoKexec         Code = "no-kexec"          // kexec not built into this kernel
	KexecDisabled   Code = "kexec-disabled"    // kernel.kexec_load_disabled=1
	Lockdown        Code = "lockdown"          // lockdown and an image the kernel refuses
	Container       Code = "container"         // running in a container
	PackageManager  Code = "package-manager"   // dpkg frontend lock held
	Inhibited       Code = "inhibited"         // a logind block inhibitor on shutdown
	LastKexecFailed Code = "last-kexec-failed" // an earlier kexec boot never came up
	ColdReboot      Code = "cold-reboot"       // the user asked that the next restart be a normal one
	SoftUnavailable Code = "soft-unavailable"  // the running systemd cannot soft-reboot
	SoftNoSession   Code = "soft-no-session"   // the caller is in no login session the helper can follow
	ShuttingDown    Code = "shutting-down"     // the system is already restarting or shutting down
	Exitrd          Code = "exitrd"            // dracut shutdown initramfs would be skipped
	ImageFormat     Code = "image-format"      // ENOEXEC: kernel cannot load this image
	NoMemory        Code = "no-memory"         // ENOMEM
	ImageTooBig     Code = "image-too-big"     // EFBIG
	LoadFailed      Code = "load-failed"       // any other load error

	// Callers.
	NotAuthorized          Code = "not-authorized"      // polkit denied Quick Restart
	RestartNotAllowed      Code = "restart-not-allowed" // polkit denied logind's own reboot action
	AuthenticationRequired Code = "authentication-required"
	NotRoot                Code = "not-root"
	Internal               Code = "internal"
)

// codes is every code except OK, declared apart from the sentences so that
// a code without a sentence is a test failure, not a silent fallback.
var codes = []Code{
	NoBootEntries, DefaultNotLinux, KernelMissing, InitrdMissing, ModulesMissing,
	InitrdStale, UnsafeFile, LeavesBoot, TooLarge, BadConfig, CmdlineTooLong, Precondition,
	NoKexec, KexecDisabled, Lockdown, Container, PackageManager, Inhibited,
	LastKexecFailed, Exitrd, ImageFormat, NoMemory, ImageTooBig, LoadFailed,
	NotAuthorized, RestartNotAllowed, AuthenticationRequired, NotRoot, Internal,
	ColdReboot, SoftUnavailable, SoftNoSession, ShuttingDown,
}

// N_ marks a string for xgettext without translating it here.
func N_(s string) string { return s }

// sentences are English templates; %s, when present, takes Error.Detail.
// They are msgids: the edge passes them through gettext.
var sentences = map[Code]string{
	NoBootEntries:          N_("The boot loader configuration names no kernel that can be started."),
	DefaultNotLinux:        N_("The default boot entry does not start Linux (%s)."),
	KernelMissing:          N_("No kernel was found in /boot (is /boot mounted?)."),
	InitrdMissing:          N_("The kernel %s has no initial RAM disk."),
	ModulesMissing:         N_("The modules of kernel %s are not installed."),
	InitrdStale:            N_("The initial RAM disk of kernel %s is older than the kernel."),
	UnsafeFile:             N_("The boot file %s is not safe to use: it must be a regular file owned by root and writable only by root."),
	LeavesBoot:             N_("The boot file %s points outside /boot."),
	TooLarge:               N_("The file %s is too large."),
	BadConfig:              N_("The boot loader configuration cannot be read: %s."),
	CmdlineTooLong:         N_("The kernel command line is longer than this machine allows."),
	Precondition:           N_("Cannot restart into the installed system: %s."),
	NoKexec:                N_("This kernel cannot start another kernel directly (kexec is not available)."),
	KexecDisabled:          N_("Starting another kernel directly has been switched off on this machine until the next restart."),
	Lockdown:               N_("The kernel is locked down and refuses this kernel image (it is not signed for this machine)."),
	Container:              N_("This system runs in a container; only its host can restart the kernel."),
	PackageManager:         N_("Software is being installed or removed (%s). Wait until it has finished."),
	Inhibited:              N_("Restarting is blocked by %s."),
	LastKexecFailed:        N_("The last Quick Restart did not come up, so Quick Restart is switched off until a normal restart succeeds."),
	ColdReboot:             N_("You asked for the next restart to be a normal one, so Quick Restart is not offered until then."),
	SoftUnavailable:        N_("Restarting only the programs needs systemd 254 or newer (this system has %s)."),
	SoftNoSession:          N_("Restarting only the programs after logging out needs a login session to follow, and this program runs in none."),
	ShuttingDown:           N_("The computer is already restarting or shutting down."),
	Exitrd:                 N_("This system needs its shutdown initramfs to finish a restart (root on complex storage), which a Quick Restart would skip."),
	ImageFormat:            N_("The kernel cannot load this kernel image (unsupported format)."),
	NoMemory:               N_("There is not enough free memory to load the new kernel."),
	ImageTooBig:            N_("The kernel image or initial RAM disk is too large to load."),
	LoadFailed:             N_("The new kernel could not be loaded: %s."),
	NotAuthorized:          N_("You are not allowed to use Quick Restart on this computer."),
	RestartNotAllowed:      N_("You are not allowed to restart this computer."),
	AuthenticationRequired: N_("Authentication is required to restart this computer."),
	NotRoot:                N_("This needs to be run as root."),
	Internal:               N_("An internal error occurred: %s."),
}

// Template returns the English msgid of code, or "" for an unknown code.
func Template(c Code) string { return sentences[c] }

// Codes returns every known code except OK, for tests and documentation.
func Codes() []Code { return append([]Code(nil), codes...) }

// codesWithSentences returns the codes that have a sentence, in no order:
// reason_test checks it against Codes (export_test.go).
func codesWithSentences() []Code {
	out := make([]Code, 0, len(sentences))
	for c := range sentences {
		out = append(out, c)
	}
	return out
}

// Sentence renders code and detail as a sentence, translating the template
// with tr (nil means English). An unknown code (from a newer helper) still
// gives a sentence rather than nothing.
func Sentence(tr func(string) string, c Code, detail string) string {
	if tr == nil {
		tr = func(s string) string { return s }
	}
	t, ok := sentences[c]
	if !ok {
		if detail != "" {
			return fmt.Sprintf(tr(N_("Quick Restart is not possible: %s.")), detail)
		}
		return tr(N_("Quick Restart is not possible."))
	}
	t = tr(t)
	if containsVerb(t) {
		if detail == "" {
			detail = "?"
		}
		return fmt.Sprintf(t, detail)
	}
	return t
}

func containsVerb(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && s[i+1] == 's' {
			return true
		}
	}
	return false
}

// Error is a refusal with a code a caller can branch on.
type Error struct {
	Code   Code
	Detail string // fills the sentence's %s: a path, a version, a holder
	Err    error  // the underlying cause, if any
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Sentence is the English sentence for a person.
func (e *Error) Sentence() string { return Sentence(nil, e.Code, e.Detail) }

// New returns an *Error with code and detail.
func New(c Code, detail string) *Error { return &Error{Code: c, Detail: detail} }

// Wrap returns an *Error with code and detail around err.
func Wrap(c Code, detail string, err error) *Error { return &Error{Code: c, Detail: detail, Err: err} }

// CodeOf returns the code of the first *Error in err's chain, Internal for
// any other non-nil error, and OK for nil.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// DetailOf returns the detail of the first *Error in err's chain, or the
// error's text for any other error.
func DetailOf(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return err.Error()
}
