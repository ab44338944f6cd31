package bootplan

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"strings"
	"syscall"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bls"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/kver"
)

// Options for Compute.
type Options struct {
	// LiveCmdline is /proc/cmdline of the running system; nil for an
	// installer root (never read the live one then).
	LiveCmdline *string
	// Platform is GRUB's grub_platform, "efi" or "pc"; "" guesses from the
	// target (an EFI GRUB module directory or a populated /boot/efi).
	Platform string
}

// CmdlineLimit is the kernel's COMMAND_LINE_SIZE for this architecture,
// the terminating NUL included; kexec_file_load refuses longer ones.
var CmdlineLimit = map[string]int{
	"amd64": 2048, "386": 2048, "arm64": 2048, "arm": 1024,
	"riscv64": 1024, "ppc64le": 2048, "ppc64": 2048, "s390x": 4096,
	"loong64": 4096, "mips64le": 4096,
}[runtime.GOARCH]

func init() {
	if CmdlineLimit == 0 {
		CmdlineLimit = 2048
	}
}

// selection is what one boot loader source decided, before the checks
// every plan goes through.
type selection struct {
	kernel     string
	initrds    []string
	cmdline    string
	version    string // from the loader's own data (BLS version), else ""
	source     string
	loader     string // "GRUB 2", "systemd-boot", "GRUB legacy", "" (no loader)
	updateHint string // how to make the loader boot the newest kernel
}

type planner struct {
	t       host.Target
	opt     Options
	why     []string
	warns   []string
	fstab   []fstabEntry
	bootSep bool
	sepWhy  string
	sepSaid bool
	// rpmOrder caches compareVersions' choice of order.
	rpmOrder *bool
}

func (p *planner) whyf(format string, a ...any) { p.why = append(p.why, fmt.Sprintf(format, a...)) }
func (p *planner) warnf(format string, a ...any) {
	p.warns = append(p.warns, fmt.Sprintf(format, a...))
}

// Compute returns the plan for t or a *reason.Error (codes: NoBootEntries,
// DefaultNotLinux, KernelMissing, InitrdMissing, ModulesMissing,
// InitrdStale, UnsafeFile, LeavesBoot, TooLarge, BadConfig, CmdlineTooLong).
func Compute(t host.Target, opt Options) (*Plan, error) {
	p := &planner{t: t, opt: opt}
	p.readFstab()
	p.detectSeparateBoot()
	sel, err := p.choose()
	if err != nil {
		return nil, err
	}
	return p.finish(sel)
}

// firstFile returns the first of paths that exists as a regular file
// (symlinks followed inside the root), or "".
func (p *planner) firstFile(paths ...string) string {
	for _, f := range paths {
		if fi, err := p.t.Stat(f); err == nil && fi.Mode().IsRegular() {
			return f
		}
	}
	return ""
}

// finish runs the checks every plan goes through and builds the Plan.
func (p *planner) finish(sel *selection) (*Plan, error) {
	kf, err := p.t.CheckBootFile(sel.kernel, host.MaxKernelSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, reason.Wrap(reason.KernelMissing, sel.kernel, fmt.Errorf("%s names %s, which does not exist (is /boot mounted?)", sel.source, sel.kernel))
		}
		return nil, err
	}
	version := sel.version
	if version == "" {
		version = versionFromPath(kf.Resolved)
		if version == "" {
			version = versionFromPath(sel.kernel)
		}
	}
	if kf.Resolved != sel.kernel {
		p.whyf("%s is a symlink to %s", sel.kernel, kf.Resolved)
	}
	if err := p.checkNotUKI(sel.kernel); err != nil {
		return nil, err
	}
	who := version
	if who == "" {
		who = sel.kernel
	}
	initrds := []string{}
	for _, ir := range sel.initrds {
		bf, err := p.t.CheckBootFile(ir, host.MaxInitrdSize)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, reason.Wrap(reason.InitrdMissing, who, fmt.Errorf("%s names %s, which does not exist", sel.source, ir))
			}
			return nil, err
		}
		// A version-named initrd older than its kernel was built for an
		// earlier build of it (update-initramfs failed or never ran).
		if version != "" && strings.Contains(path.Base(bf.Resolved), version) && bf.MtimeNs < kf.MtimeNs {
			return nil, reason.Wrap(reason.InitrdStale, version, fmt.Errorf("%s is older than %s", ir, sel.kernel))
		}
		initrds = append(initrds, ir)
	}
	if version != "" {
		if err := p.checkModules(version); err != nil {
			return nil, err
		}
	}
	if len(sel.cmdline)+1 > CmdlineLimit {
		return nil, reason.Wrap(reason.CmdlineTooLong, "", fmt.Errorf("%d bytes, limit %d on %s", len(sel.cmdline), CmdlineLimit-1, runtime.GOARCH))
	}
	if sel.loader != "" && version != "" {
		p.newestWarning(sel, version)
	}
	p.cryptWarning(sel.cmdline)
	warns := p.warns
	if warns == nil {
		warns = []string{}
	}
	return &Plan{
		Kernel:   sel.kernel,
		Version:  version,
		Initrd:   initrds,
		Cmdline:  sel.cmdline,
		Source:   sel.source,
		Why:      p.why,
		Warnings: warns,
	}, nil
}

// checkModules: the kernel's modules must be installed when the system
// installs modules at all.
func (p *planner) checkModules(version string) error {
	for _, d := range []string{"/usr/lib/modules/", "/lib/modules/"} {
		if p.t.IsDir(d + version) {
			return nil
		}
	}
	for _, d := range []string{"/usr/lib/modules", "/lib/modules"} {
		if es, err := p.t.ReadDir(d); err == nil && len(es) > 0 {
			return reason.New(reason.ModulesMissing, version)
		}
	}
	p.warnf("no modules directory /lib/modules/%s (none are installed for any kernel); the kernel must have its drivers built in", version)
	return nil
}

func (p *planner) newestWarning(sel *selection, version string) {
	var vs []string
	for _, k := range p.installedKernels() {
		vs = append(vs, k.version)
	}
	newest := ""
	for _, v := range vs {
		if newest == "" || p.compareVersions(v, newest) > 0 {
			newest = v
		}
	}
	if newest == "" || p.compareVersions(newest, version) <= 0 {
		return
	}
	msg := fmt.Sprintf("the newest installed kernel is %s, but %s starts %s by default; Quick Restart follows the boot loader", newest, sel.loader, version)
	if sel.updateHint != "" {
		msg += " (" + sel.updateHint + ")"
	}
	p.warnf("%s", msg)
}

// compareVersions orders kernel releases as the target's distribution
// does: Debian's linux-version order, except on rpm-based systems (a
// release file, or ".elN"/".fcN" releases), where rpm's order applies
// (bls.VersionCompare: 3.10.0-514.26.2.el7 is newer than 3.10.0-514.el7,
// the reverse of Debian's order).
func (p *planner) compareVersions(a, b string) int {
	if p.rpmOrder == nil {
		rpm := p.firstFile("/etc/redhat-release", "/etc/fedora-release", "/etc/SuSE-release", "/etc/SUSE-brand") != ""
		if !rpm && p.firstFile("/etc/debian_version") == "" {
			rpm = rpmRelease.MatchString(a) || rpmRelease.MatchString(b)
		}
		p.rpmOrder = &rpm
	}
	if *p.rpmOrder {
		return bls.VersionCompare(a, b)
	}
	return kver.Compare(a, b)
}

var rpmRelease = regexp.MustCompile(`\.(el|fc)[0-9]+`)

// versionFromPath is the kernel release a file name tells: "vmlinuz-V",
// "vmlinux-V", "kernel-V", ".../modules/V/vmlinuz"; "" when the name has
// none (Arch's vmlinuz-linux, GoboLinux's kernel).
func versionFromPath(p string) string {
	base := path.Base(p)
	if (base == "vmlinuz" || base == "vmlinux" || base == "linux") && strings.Contains(p, "/modules/") {
		v := path.Base(path.Dir(p))
		if v != "" && v[0] >= '0' && v[0] <= '9' {
			return v
		}
		return ""
	}
	for _, pre := range []string{"vmlinuz-", "vmlinux-", "kernel-", "bzImage-"} {
		if v, ok := strings.CutPrefix(base, pre); ok && v != "" && v[0] >= '0' && v[0] <= '9' {
			return v
		}
	}
	return ""
}

// detectSeparateBoot decides whether /boot is its own file system, which
// is what boot loader paths like "/vmlinuz-6.1" are relative to.
func (p *planner) detectSeparateBoot() {
	for _, e := range p.fstab {
		if e.file == "/boot" {
			p.bootSep, p.sepWhy = true, fmt.Sprintf("etc/fstab line %d mounts /boot", e.line)
			return
		}
	}
	rfi, err1 := p.t.Stat("/")
	bfi, err2 := p.t.Stat("/boot")
	if err1 == nil && err2 == nil {
		rs, ok1 := rfi.Sys().(*syscall.Stat_t)
		bs, ok2 := bfi.Sys().(*syscall.Stat_t)
		if ok1 && ok2 && rs.Dev != bs.Dev {
			p.bootSep, p.sepWhy = true, "/boot is a mount point"
		}
	}
}

// locate maps a path as a boot loader reading partition part wrote it
// ("/vmlinuz-6.1", "(hd0,1)/boot/kernel", "/@/boot/vmlinuz") to the path
// the target sees, and says how when it is not obvious.
func (p *planner) locate(raw, part string) string {
	g := raw
	if strings.HasPrefix(g, "(") {
		if i := strings.IndexByte(g, ')'); i >= 0 {
			g = g[i+1:]
		}
	}
	g = path.Clean("/" + g)
	var cands []string
	add := func(g string) {
		switch {
		case part == "/boot" && p.bootSep:
			cands = append(cands, path.Join("/boot", g), g)
		case part == "/boot" || part == "/":
			cands = append(cands, g, path.Join("/boot", g))
		default:
			cands = append(cands, path.Join(part, g))
		}
	}
	add(g)
	// btrfs root subvolumes (Ubuntu's @, openSUSE's @/.snapshots/...):
	// GRUB's paths carry the subvolume, the mounted system does not.
	if strings.HasPrefix(g, "/@") {
		if i := strings.IndexByte(g[1:], '/'); i >= 0 {
			add(g[i+1:])
		}
	}
	for _, c := range cands {
		if p.t.Exists(c) {
			return c
		}
	}
	return cands[0]
}

// explainLocate says once why a boot loader's path raw became c.
func (p *planner) explainLocate(raw, c, part string) {
	g := raw
	if strings.HasPrefix(g, "(") {
		if i := strings.IndexByte(g, ')'); i >= 0 {
			g = g[i+1:]
		}
	}
	g = path.Clean("/" + g)
	if p.sepSaid || part != "/boot" || c == g || !strings.HasPrefix(c, "/boot/") || strings.HasPrefix(g, "/boot/") {
		return
	}
	p.sepSaid = true
	if p.bootSep {
		p.whyf("boot loader paths are relative to the /boot file system (%s): %s is %s", p.sepWhy, g, c)
	} else {
		p.whyf("boot loader paths are relative to a separate /boot file system (%s exists only under /boot): %s is %s", g, g, c)
	}
}
