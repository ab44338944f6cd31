// Package restartkind decides which kind of restart a pending change needs:
// the fastest one that is enough, and why. It is pure: Decide takes what
// was read (Inputs) and returns a recommendation with a reason code and the
// datum for its one line of "why". Reading the files is gather.go's; the
// parsers (needrestart -b, dpkg.log, EFI variables) are parse.go's.
//
// The kinds, from fastest:
//   - Soft: userspace only (logind RebootWithFlags with SD_LOGIND_SOFT_REBOOT,
//     systemd >= 254): enough for libraries and services (libc, dbus,
//     systemd itself); the kernel keeps running.
//   - Quick: kexec into the planned kernel: enough for a new kernel, a changed
//     kernel command line, new microcode (applied by the new kernel's early
//     loader from its initrd) and everything Soft is enough for.
//   - Full: through the firmware and the boot loader: needed for a pending
//     firmware update, a boot loader that was upgraded, or when the user asked
//     that the next restart be a normal one (coldreboot).
//
// Nothing pending is its own code (Nothing, kind Full): the dialog keeps its
// plain Restart as the default, and no line of why is shown.
package restartkind

import (
	"sort"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/advice"
)

// KernelStatus is needrestart's NEEDRESTART-KSTA.
type KernelStatus int

const (
	KStaUnknown KernelStatus = 0 // unknown or failed to detect
	KStaCurrent KernelStatus = 1 // no pending upgrade
	KStaABI     KernelStatus = 2 // ABI compatible upgrade pending
	KStaVersion KernelStatus = 3 // version upgrade pending
)

// NEEDRESTART-UCSTA: microcode status.
const (
	UCStaUnknown  = 0
	UCStaCurrent  = 1
	UCStaObsolete = 2 // new microcode available
)

// maxWhyPackages: how many names the why line quotes.
const maxWhyPackages = 3

// NeedRestart is what `needrestart -b` printed.
type NeedRestart struct {
	Version  string // NEEDRESTART-VER
	KCur     string // running kernel
	KExp     string // expected (newest installed) kernel
	KSta     KernelStatus
	UCSta    int      // microcode status, 0 when not printed
	Services []string // NEEDRESTART-SVC
	Sessions []string // NEEDRESTART-SESS
}

// FirmwareState is what the firmware will do on its own at its next start.
type FirmwareState struct {
	// Pending names each signal of a firmware update or one-shot firmware
	// boot that a kexec would skip: "BootNext=0003", "OsIndications:
	// capsule on disk", "fwupd: pending.db".
	Pending []string
}

// Inputs is everything Decide looks at.
type Inputs struct {
	// RebootRequired: /run/reboot-required exists; Pkgs is
	// /run/reboot-required.pkgs, parsed (rebootreq).
	RebootRequired bool
	Pkgs           []string
	// DpkgSinceBoot: packages installed or upgraded since this boot
	// (dpkg.log); only boot loader packages are taken from here.
	DpkgSinceBoot []string

	RunningKernel  string // uname -r
	PlanVersion    string // the plan's kernel version, "" when unknown
	RunningCmdline string // /proc/cmdline
	PlanCmdline    string // the plan's command line, "" when unknown

	NeedRestart *NeedRestart // nil: not installed or not run
	Firmware    FirmwareState

	ColdReboot     bool // the "next restart is a normal one" flag
	SoftAvailable  bool // the running systemd can soft-reboot (probed)
	QuickAvailable bool // the plan can be armed now
}

// Decide picks the fastest restart that is enough. The order of the checks
// is the order of precedence: what needs the firmware wins over what needs
// a kernel, which wins over what needs only userspace.
func Decide(in Inputs) advice.Advice {
	if in.ColdReboot {
		return advice.Advice{Kind: advice.Full, Code: advice.ColdReboot}
	}
	if len(in.Firmware.Pending) > 0 {
		return advice.Advice{Kind: advice.Full, Code: advice.Firmware, Detail: in.Firmware.Pending[0]}
	}
	if p := firstBootLoader(in.Pkgs, in.DpkgSinceBoot); p != "" {
		return advice.Advice{Kind: advice.Full, Code: advice.BootLoader, Detail: p}
	}
	quick := func(c advice.Code, detail string) advice.Advice {
		if !in.QuickAvailable {
			return advice.Advice{Kind: advice.Full, Code: advice.QuickUnavailable, Detail: detail, QuickOffered: true}
		}
		return advice.Advice{Kind: advice.Quick, Code: c, Detail: detail, QuickOffered: true}
	}
	planned := in.PlanVersion
	if planned == "" && in.NeedRestart != nil {
		planned = in.NeedRestart.KExp
	}
	if in.PlanVersion != "" && in.RunningKernel != "" && in.PlanVersion != in.RunningKernel {
		return quick(advice.Kernel, in.PlanVersion)
	}
	if hasKernelPackage(in.Pkgs) {
		return quick(advice.Kernel, planned)
	}
	if nr := in.NeedRestart; nr != nil && (nr.KSta == KStaABI || nr.KSta == KStaVersion) {
		return quick(advice.Kernel, planned)
	}
	if in.PlanCmdline != "" && in.RunningCmdline != "" && !SameCmdline(in.PlanCmdline, in.RunningCmdline) {
		return quick(advice.Cmdline, planned)
	}
	if hasMicrocode(in.Pkgs) || (in.NeedRestart != nil && in.NeedRestart.UCSta == UCStaObsolete) {
		return quick(advice.Microcode, "")
	}
	if names := userspace(in); len(names) > 0 {
		detail := strings.Join(names[:min(len(names), maxWhyPackages)], ", ")
		if in.SoftAvailable {
			return advice.Advice{Kind: advice.Soft, Code: advice.Userspace, Detail: detail, QuickOffered: true}
		}
		return quick(advice.Userspace, detail)
	}
	if in.RebootRequired {
		// The marker without a package list: something asked for a
		// restart and did not say what. A kernel start finishes
		// anything that is not firmware or boot loader.
		return quick(advice.Userspace, "")
	}
	return advice.Advice{Kind: advice.Full, Code: advice.Nothing, QuickOffered: true}
}

// bare strips an architecture qualifier.
func bare(pkg string) string {
	name, _, _ := strings.Cut(pkg, ":")
	return name
}

// IsBootLoader: an upgrade of this package is finished only when the
// firmware starts the boot loader again (shim's SBAT step, a new GRUB core
// image or systemd-boot binary on the ESP or the MBR).
func IsBootLoader(pkg string) bool {
	n := bare(pkg)
	switch {
	case n == "grub-pc" || n == "grub-pc-bin":
		return true
	case strings.HasPrefix(n, "shim"), strings.HasPrefix(n, "grub-efi"),
		strings.HasPrefix(n, "systemd-boot"):
		return true
	}
	return false
}

// IsKernel: a kernel image package (Debian: linux-image-*; Ubuntu's
// linux-image-* too; the signed variants are linux-image-*-signed).
func IsKernel(pkg string) bool {
	n := bare(pkg)
	return strings.HasPrefix(n, "linux-image-") || n == "linux-image" ||
		strings.HasPrefix(n, "linux-signed-") || strings.HasPrefix(n, "linux-modules-")
}

// IsMicrocode: CPU microcode, loaded early by a starting kernel.
func IsMicrocode(pkg string) bool {
	n := bare(pkg)
	return n == "intel-microcode" || n == "amd64-microcode"
}

func firstBootLoader(lists ...[]string) string {
	var found []string
	for _, l := range lists {
		for _, p := range l {
			if IsBootLoader(p) {
				found = append(found, bare(p))
			}
		}
	}
	if len(found) == 0 {
		return ""
	}
	sort.Strings(found)
	return found[0]
}

func hasKernelPackage(pkgs []string) bool {
	for _, p := range pkgs {
		if IsKernel(p) {
			return true
		}
	}
	return false
}

func hasMicrocode(pkgs []string) bool {
	for _, p := range pkgs {
		if IsMicrocode(p) {
			return true
		}
	}
	return false
}

// userspace names what only a userspace restart needs: packages of
// reboot-required.pkgs that are not kernel, microcode or boot loader, and
// needrestart's services.
func userspace(in Inputs) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, p := range in.Pkgs {
		if !IsKernel(p) && !IsMicrocode(p) && !IsBootLoader(p) {
			add(bare(p))
		}
	}
	if in.NeedRestart != nil {
		for _, s := range in.NeedRestart.Services {
			add(s)
		}
	}
	return out
}

// volatileArgs are set by the boot loader or the kernel for this boot only
// and are never part of a plan's command line.
var volatileArgs = map[string]bool{"BOOT_IMAGE": true, "initrd": true}

// SameCmdline compares two kernel command lines as multisets of
// arguments, without BOOT_IMAGE= and initrd= (GRUB and EFI stub add them).
func SameCmdline(a, b string) bool {
	fa, fb := cmdlineArgs(a), cmdlineArgs(b)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i] != fb[i] {
			return false
		}
	}
	return true
}

// CmdlineDiff returns the arguments only in planned and only in running.
func CmdlineDiff(planned, running string) (added, removed []string) {
	count := map[string]int{}
	for _, f := range cmdlineArgs(running) {
		count[f]++
	}
	for _, f := range cmdlineArgs(planned) {
		if count[f] > 0 {
			count[f]--
			continue
		}
		added = append(added, f)
	}
	for _, f := range cmdlineArgs(running) {
		if count[f] > 0 {
			count[f]--
			removed = append(removed, f)
		}
	}
	return added, removed
}

func cmdlineArgs(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		k, _, _ := strings.Cut(f, "=")
		if volatileArgs[k] {
			continue
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
