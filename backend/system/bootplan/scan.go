package bootplan

import (
	"errors"
	"sort"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/grub"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

type kernelFile struct {
	path    string
	version string // "" for unversioned names (Arch's vmlinuz-linux)
	flavour string // Arch: "linux", "linux-lts", ...
}

// garbage are names package managers and editors leave behind; grub-mkconfig
// (grub_file_is_not_garbage) skips the dpkg/rpm ones too.
func garbage(name string) bool {
	if strings.Contains(name, ".dpkg-") || strings.HasSuffix(name, "~") {
		return true
	}
	for _, s := range []string{".rpmsave", ".rpmnew", ".sig", ".old", ".bak", ".orig", ".tmp", ".efi.signed", ".hmac", ".sav"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// installedKernels lists /boot/vmlinu[xz]-* and /usr/lib/modules/*/vmlinuz,
// newest first by Debian's linux-version order; unversioned ones last.
func (p *planner) installedKernels() []kernelFile {
	seen := map[string]bool{}
	var out, unversioned []kernelFile
	if es, err := p.t.ReadDir("/boot"); err == nil {
		for _, e := range es {
			if e.Mode.IsDir() || garbage(e.Name) {
				continue
			}
			var rest string
			var ok bool
			for _, pre := range []string{"vmlinuz-", "vmlinux-"} {
				if rest, ok = strings.CutPrefix(e.Name, pre); ok {
					break
				}
			}
			if !ok || rest == "" {
				continue
			}
			if rest[0] >= '0' && rest[0] <= '9' {
				out = append(out, kernelFile{path: "/boot/" + e.Name, version: rest})
				seen[rest] = true
			} else {
				unversioned = append(unversioned, kernelFile{path: "/boot/" + e.Name, flavour: rest})
			}
		}
	}
	for _, d := range []string{"/usr/lib/modules", "/lib/modules"} {
		es, err := p.t.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range es {
			if seen[e.Name] || garbage(e.Name) || e.Name == "" || e.Name[0] < '0' || e.Name[0] > '9' {
				continue
			}
			k := d + "/" + e.Name + "/vmlinuz"
			if fi, err := p.t.Stat(k); err == nil && fi.Mode().IsRegular() {
				out = append(out, kernelFile{path: k, version: e.Name})
				seen[e.Name] = true
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return p.compareVersions(out[i].version, out[j].version) > 0 })
	// Arch: the stock "linux" kernel before linux-lts, linux-zen, ...
	sort.SliceStable(unversioned, func(i, j int) bool {
		if (unversioned[i].flavour == "linux") != (unversioned[j].flavour == "linux") {
			return unversioned[i].flavour == "linux"
		}
		return unversioned[i].flavour < unversioned[j].flavour
	})
	return append(out, unversioned...)
}

// initrdFor returns the initrd that belongs to k, or "".
func (p *planner) initrdFor(k kernelFile) string {
	var cands []string
	switch {
	case k.version == "":
		cands = []string{"/boot/initramfs-" + k.flavour + ".img"}
	case strings.HasPrefix(k.path, "/boot/"):
		v := k.version
		cands = []string{"/boot/initrd.img-" + v, "/boot/initramfs-" + v + ".img", "/boot/initrd-" + v + ".img", "/boot/initrd-" + v, "/boot/initramfs-" + v}
	default:
		v := k.version
		cands = []string{strings.TrimSuffix(k.path, "vmlinuz") + "initrd", "/boot/initramfs-" + v + ".img", "/boot/initrd.img-" + v}
	}
	for _, c := range cands {
		if p.firstFile(c) != "" {
			return c
		}
	}
	return ""
}

// usesInitrd says whether this system builds initrds: then a kernel
// without one is a half-finished installation, not a design.
func (p *planner) usesInitrd(ks []kernelFile) bool {
	for _, k := range ks {
		if p.initrdFor(k) != "" {
			return true
		}
	}
	for _, d := range []string{"/etc/initramfs-tools", "/etc/dracut.conf", "/etc/dracut.conf.d", "/usr/lib/dracut", "/etc/mkinitcpio.conf"} {
		if p.t.Exists(d) {
			return true
		}
	}
	return false
}

// earlyInitrds are the microcode images grub-mkconfig's 10_linux loads
// before the main initrd (GRUB_EARLY_INITRD_LINUX_STOCK).
var earlyInitrds = []string{"intel-uc.img", "intel-ucode.img", "amd-uc.img", "amd-ucode.img", "early_ucode.cpio", "microcode.cpio"}

// newestKernelSource is no boot loader configuration at all: the plan is
// what grub-mkconfig would make the default. It is last in sources and
// always boots.
type newestKernelSource struct{}

func (newestKernelSource) boots(*planner) bool { return true }

func (newestKernelSource) choose(p *planner) (*selection, error) {
	p.whyf("boot loader: none configured (no grub.cfg, BLS entries or menu.lst), so the newest installed kernel")
	return p.scanSource()
}

// scanSource: no boot loader configuration, so what grub-mkconfig would
// make the default: the newest kernel that has an initrd.
func (p *planner) scanSource() (*selection, error) {
	ks := p.installedKernels()
	if len(ks) == 0 {
		return nil, reason.Wrap(reason.KernelMissing, "/boot", errors.New("no vmlinuz-* in /boot and no /usr/lib/modules/*/vmlinuz"))
	}
	need := p.usesInitrd(ks)
	var chosen *kernelFile
	var initrd string
	for i := range ks {
		ir := p.initrdFor(ks[i])
		if ir == "" && need {
			p.warnf("kernel %s has no initrd (its installation did not finish?); skipped", ks[i].path)
			continue
		}
		chosen, initrd = &ks[i], ir
		break
	}
	if chosen == nil {
		v := ks[0].version
		if v == "" {
			v = ks[0].path
		}
		return nil, reason.Wrap(reason.InitrdMissing, v, errors.New("no installed kernel has an initrd"))
	}
	sel := &selection{source: "/boot", kernel: chosen.path, version: chosen.version}
	if chosen.version != "" {
		order := "Debian's linux-version order"
		if p.rpmOrder != nil && *p.rpmOrder {
			order = "rpm's version order"
		}
		p.whyf("kernel: %s, the newest complete one of %d by %s", chosen.path, len(ks), order)
	} else {
		p.whyf("kernel: %s (no versioned kernel installed)", chosen.path)
	}
	if initrd != "" {
		for _, e := range earlyInitrds {
			if p.firstFile("/boot/"+e) != "" {
				sel.initrds = append(sel.initrds, "/boot/"+e)
			}
		}
		sel.initrds = append(sel.initrds, initrd)
		p.whyf("initrd: %s (microcode images first, as grub-mkconfig orders them)", strings.Join(sel.initrds, " "))
	} else {
		p.whyf("initrd: none (this system builds no initrds)")
	}
	cmdline, err := p.scanCmdline()
	if err != nil {
		return nil, err
	}
	sel.cmdline = cmdline
	return sel, nil
}

// scanCmdline: the running system's command line when the target is the
// running system, else the one grub-mkconfig would write.
func (p *planner) scanCmdline() (string, error) {
	if p.opt.LiveCmdline != nil {
		kept, dropped := FilterCmdline(*p.opt.LiveCmdline)
		if len(dropped) > 0 {
			p.whyf("cmdline: /proc/cmdline of the running system without %s (they apply to one boot only)", strings.Join(dropped, " "))
		} else {
			p.whyf("cmdline: /proc/cmdline of the running system")
		}
		return kept, nil
	}
	root := ""
	for _, e := range p.fstab {
		if e.file == "/" {
			root = "root=" + e.spec
			if e.vfstype == "btrfs" {
				for _, o := range strings.Split(e.opts, ",") {
					if v, ok := strings.CutPrefix(o, "subvol="); ok {
						root += " rootflags=subvol=" + v
					}
				}
			}
			p.whyf("cmdline: %s from etc/fstab line %d", root, e.line)
			break
		}
	}
	if root == "" {
		return "", reason.Wrap(reason.BadConfig, "no boot loader configuration and no / in etc/fstab, so the root file system is unknown", nil)
	}
	vars := map[string]string{}
	files := []string{}
	if b, err := p.t.ReadFile("/etc/default/grub", host.MaxConfigSize); err == nil {
		for _, w := range grub.ParseDefaults(b, "/etc/default/grub", vars) {
			p.warnf("%s", w)
		}
		files = append(files, "/etc/default/grub")
	} else if reason.CodeOf(err) != reason.BadConfig {
		return "", err
	}
	if es, err := p.t.ReadDir("/etc/default/grub.d"); err == nil {
		for _, e := range es {
			if !strings.HasSuffix(e.Name, ".cfg") {
				continue
			}
			f := "/etc/default/grub.d/" + e.Name
			b, err := p.t.ReadFile(f, host.MaxConfigSize)
			if err != nil {
				return "", err
			}
			for _, w := range grub.ParseDefaults(b, f, vars) {
				p.warnf("%s", w)
			}
			files = append(files, f)
		}
	}
	args, err := grub.KernelArgs(vars)
	if err != nil {
		return "", reason.Wrap(reason.BadConfig, "GRUB_CMDLINE_LINUX: "+err.Error(), err)
	}
	cmd := root + " ro"
	if args != "" {
		cmd += " " + args
	}
	if len(files) > 0 {
		p.whyf("cmdline: \"ro\", then GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT from %s, as grub-mkconfig writes them", strings.Join(files, ", "))
	} else {
		p.whyf("cmdline: \"ro\" (no etc/default/grub)")
	}
	return cmd, nil
}

// oneShot are /proc/cmdline words that describe one particular boot, not
// the system's normal one; they are not carried into the next kernel.
var oneShotKeys = map[string]bool{
	"BOOT_IMAGE": true, "initrd": true, "init": true,
	"systemd.unit": true, "rd.systemd.unit": true, "systemd.run": true,
	"systemd.run_success_action": true, "systemd.run_failure_action": true,
	"systemd.debug_shell": true, "systemd.confirm_spawn": true,
	"rd.break": true, "rd.shell": true, "rd.emergency": true, "rd.rescue": true,
	"kexec_jump_back_entry": true,
}

var oneShotWords = map[string]bool{
	"single": true, "s": true, "S": true, "1": true, "emergency": true, "-b": true, "rescue": true,
}

// FilterCmdline splits a /proc/cmdline into what a Quick Restart keeps and
// the one-boot words it drops (returned as found). Words are split at
// blanks outside double quotes, as the kernel's parser does, and kept
// byte for byte. Words after a lone "--" belong to init and are kept,
// except that runlevel words there are dropped too.
func FilterCmdline(s string) (kept string, dropped []string) {
	s = strings.TrimRight(s, "\n\x00")
	var words []string
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			break
		}
		j := i
		inq := false
		for j < len(s) && (inq || s[j] != ' ' && s[j] != '\t' && s[j] != '\n') {
			if s[j] == '"' {
				inq = !inq
			}
			j++
		}
		words = append(words, s[i:j])
		i = j
	}
	var out []string
	for _, w := range words {
		key, _, _ := strings.Cut(strings.ReplaceAll(w, "\"", ""), "=")
		if oneShotWords[w] || oneShotKeys[key] || strings.HasPrefix(key, "systemd.run") {
			dropped = append(dropped, w)
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " "), dropped
}

type fstabEntry struct {
	spec, file, vfstype, opts string
	line                      int
}

// readFstab reads etc/fstab; a missing or unreadable one is simply empty.
func (p *planner) readFstab() {
	b, err := p.t.ReadFile("/etc/fstab", host.MaxConfigSize)
	if err != nil {
		return
	}
	for n, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		e := fstabEntry{spec: unescapeFstab(f[0]), file: unescapeFstab(f[1]), line: n + 1}
		if len(f) > 2 {
			e.vfstype = f[2]
		}
		if len(f) > 3 {
			e.opts = f[3]
		}
		if e.file != "/" {
			e.file = strings.TrimRight(e.file, "/")
		}
		p.fstab = append(p.fstab, e)
	}
}

// unescapeFstab undoes fstab's octal escapes (\040 for a blank).
func unescapeFstab(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s)+0 && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
