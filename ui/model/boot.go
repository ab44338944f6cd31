package model

import (
	"fmt"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/i18n"
)

// Boot is what the "What will boot" expander shows: the helper's plan
// (which is what a cold boot would start, so it says what either restart
// boots) beside the running kernel's own facts.
type Boot struct {
	// Kernel is the planned kernel's path; "" when no plan came (no
	// helper, no kernel found): the expander is then not shown.
	Kernel  string
	Version string
	Initrds []string
	// Source is the boot loader file that decided; Why says how, one
	// line per decision with file and line (English, from the helper).
	Source string
	Why    []string
	// Cmdline is the planned command line. Withheld: the helper gave
	// this caller neither it nor the Why lines (it is not allowed Quick
	// Restart without a password), so neither is shown nor compared.
	Cmdline  string
	Withheld bool

	// The running kernel: its release (uname -r) and /proc/cmdline; ""
	// when they could not be read.
	RunningRelease string
	RunningCmdline string
}

// Shown says whether there is a plan to show.
func (b Boot) Shown() bool { return b.Kernel != "" }

// BootTitle is the expander's label, with a mnemonic: Alt+W opens it.
func (s State) BootTitle() string { return G("_What will boot") }

// BootText is the expander's content, one fact a line: the kernel and
// whether it is the running one, the initrds, where the plan came from,
// and the command line with its differences from the running one.
func (s State) BootText() string {
	b := s.Boot
	if !b.Shown() {
		return ""
	}
	var lines []string
	kernel := b.Kernel
	if b.Version != "" {
		// TRANSLATORS: a kernel version, then its file, e.g. Linux 6.1.0-28-amd64 (/boot/vmlinuz-6.1.0-28-amd64)
		kernel = fmt.Sprintf(G("Linux %s (%s)"), b.Version, b.Kernel)
	}
	// TRANSLATORS: %s is a kernel, e.g. Linux 6.1.0-28-amd64 (/boot/vmlinuz-6.1.0-28-amd64)
	lines = append(lines, fmt.Sprintf(G("Kernel: %s"), kernel))
	switch {
	case b.RunningRelease == "" || b.Version == "":
	case b.RunningRelease == b.Version:
		lines = append(lines, G("This is the kernel running now."))
	default:
		// TRANSLATORS: %s is the running kernel's version (uname -r)
		lines = append(lines, fmt.Sprintf(G("Linux %s is running now: this is another kernel."), b.RunningRelease))
	}
	if n := len(b.Initrds); n > 0 {
		// TRANSLATORS: one or more initial RAM disk files, e.g. /boot/initrd.img-6.1.0-28-amd64
		lines = append(lines, fmt.Sprintf(i18n.NG("Initrd: %s", "Initrds: %s", n), strings.Join(b.Initrds, ", ")))
	} else {
		lines = append(lines, G("Initrd: none"))
	}
	if b.Source != "" {
		// TRANSLATORS: %s is the boot loader's configuration file, e.g. /boot/grub/grub.cfg
		lines = append(lines, fmt.Sprintf(G("Chosen from: %s"), b.Source))
	}
	if b.Withheld {
		lines = append(lines, G("The command line and how the kernel was chosen are shown only to users allowed to use Quick Restart."))
		return strings.Join(lines, "\n")
	}
	for _, w := range b.Why {
		lines = append(lines, "  "+w)
	}
	if b.Cmdline == "" {
		lines = append(lines, G("Command line: (empty)"))
	} else {
		// TRANSLATORS: %s is the kernel command line, e.g. root=UUID=… ro quiet
		lines = append(lines, fmt.Sprintf(G("Command line: %s"), b.Cmdline))
	}
	if b.RunningCmdline == "" {
		return strings.Join(lines, "\n")
	}
	changes := DiffCmdline(b.RunningCmdline, b.Cmdline)
	if len(changes) == 0 {
		lines = append(lines, G("The same command line as the running kernel's."))
		return strings.Join(lines, "\n")
	}
	lines = append(lines, G("Differences from the running command line:"))
	for _, c := range changes {
		switch c.Kind {
		case ParamAdded:
			// TRANSLATORS: a kernel parameter the next boot has and the running one has not
			lines = append(lines, "  "+fmt.Sprintf(G("added: %s"), c.New))
		case ParamRemoved:
			// TRANSLATORS: a kernel parameter the running boot has and the next one has not
			lines = append(lines, "  "+fmt.Sprintf(G("removed: %s"), c.Old))
		case ParamChanged:
			// TRANSLATORS: a kernel parameter as it is now, then as the next boot has it
			lines = append(lines, "  "+fmt.Sprintf(G("changed: %s → %s"), c.Old, c.New))
		}
	}
	return strings.Join(lines, "\n")
}

// ArmedText says that a Quick Restart is prepared (armed), or "" when
// none is: whoever armed it (this dialog before, rapidrebootctl, another
// session), the next restart skips the firmware unless it is disarmed.
func (s State) ArmedText() string {
	if !s.Armed {
		return ""
	}
	if s.ArmedVersion != "" {
		// TRANSLATORS: %s is a kernel version, e.g. 6.1.0-28-amd64
		return fmt.Sprintf(G("A Quick Restart into Linux %s is prepared: the next restart skips the firmware and boot menu."), s.ArmedVersion)
	}
	return G("A Quick Restart is prepared: the next restart skips the firmware and boot menu.")
}
