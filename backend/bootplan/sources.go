package bootplan

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/bls"
	"github.com/rapidreboot/rapidreboot/backend/grub"
	"github.com/rapidreboot/rapidreboot/backend/host"
	"github.com/rapidreboot/rapidreboot/backend/menulst"
	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// maxEntries caps how many BLS entry files are read.
const maxEntries = 1000

// grubSource evaluates grub.cfg.
func (p *planner) grubSource(cfg string) (*selection, error) {
	src, err := p.t.ReadFile(cfg, host.MaxConfigSize)
	if err != nil {
		return nil, err
	}
	grubDir := path.Dir(cfg)
	// What GRUB calls its prefix: the directory on the file system it reads.
	gp := grubDir
	if p.bootSep && strings.HasPrefix(grubDir, "/boot/") {
		gp = strings.TrimPrefix(grubDir, "/boot")
	}
	platform := p.opt.Platform
	if platform == "" {
		platform = "pc"
		if p.t.IsDir(grubDir+"/x86_64-efi") || p.t.IsDir(grubDir+"/arm64-efi") || p.t.IsDir("/boot/efi/EFI") && !p.t.IsDir(grubDir+"/i386-pc") {
			platform = "efi"
		}
	}
	cpu := "i386"
	if platform == "efi" {
		cpu = "x86_64"
	}
	vars := map[string]string{
		"prefix": "(hd0)" + gp, "config_directory": "(hd0)" + gp, "config_file": "(hd0)" + gp + "/grub.cfg",
		"root": "hd0", "cmdpath": "(hd0)", "grub_platform": platform, "grub_cpu": cpu,
	}
	for _, f := range []string{"chainloader_bpb", "ntldr", "platform_search_hint", "default_font_path",
		"all_video_module", "menuentry_id", "menuentry_options", "200_cryptodisk", "nativedisk_cmd", "timeout_style"} {
		vars["feature_"+f] = "y"
	}
	var blsUsed bool
	boot, err := grub.Evaluate(src, grub.Options{
		File: cfg,
		Vars: vars,
		Host: grub.Host{
			ReadFile: func(gpath string) ([]byte, error) {
				return p.t.ReadFile(p.locate(gpath, "/boot"), host.MaxConfigSize)
			},
			FileTest: func(op byte, gpath string) bool {
				fi, err := p.t.Stat(p.locate(gpath, "/boot"))
				if err != nil {
					return false
				}
				switch op {
				case 'f':
					return fi.Mode().IsRegular()
				case 'd':
					return fi.IsDir()
				case 's':
					return fi.Size() > 0
				}
				return true
			},
			BLS: func() ([]grub.BLSEntry, error) {
				blsUsed = true
				return p.grubBLSEntries()
			},
		},
	})
	if err != nil {
		var pe *grub.ParseError
		switch {
		case errors.Is(err, grub.ErrNoEntries):
			if blsUsed {
				return nil, reason.Wrap(reason.NoBootEntries, "", fmt.Errorf("%s runs blscfg but /boot/loader/entries holds no entries", cfg))
			}
			return nil, reason.Wrap(reason.NoBootEntries, "", fmt.Errorf("%s has no menu entries", cfg))
		case errors.As(err, &pe):
			return nil, reason.Wrap(reason.BadConfig, fmt.Sprintf("%s line %d: %s", pe.File, pe.Line, pe.Msg), err)
		}
		return nil, reason.Wrap(reason.BadConfig, fmt.Sprintf("%s: %v", cfg, err), err)
	}
	for _, w := range boot.Warnings {
		p.warnf("%s", w)
	}
	// How the entry was chosen.
	if boot.DefaultSet.File != "" {
		via := ""
		if boot.DefaultVia != "" {
			via = fmt.Sprintf(", from grubenv's %s", boot.DefaultVia)
		}
		p.whyf("default=%q (set at %s%s)", boot.Default[0], boot.DefaultSet, via)
	} else {
		p.whyf("default is not set: GRUB boots the first entry")
	}
	var steps []string
	for i, t := range boot.Path {
		steps = append(steps, fmt.Sprintf("%d %q", boot.Indices[i], t))
	}
	p.whyf("entry: %s (%s)", strings.Join(steps, " > "), boot.Entry)
	if boot.Unmatched != "" {
		p.unmatchedWarning(boot)
	}
	if boot.NextEntry {
		p.warnf("grubenv's next_entry chooses this entry for the next boot only; GRUB clears it when it boots, a Quick Restart does not")
	}
	title := boot.Path[len(boot.Path)-1]
	switch {
	case boot.Loader == "" || !isLinuxLoader(boot.Loader):
		if !boot.MenuHasLinux {
			return nil, reason.Wrap(reason.NoBootEntries, "", fmt.Errorf("no entry of %s loads a Linux kernel", cfg))
		}
		what := boot.Loader
		if what == "" {
			what = "no boot command"
		}
		return nil, reason.Wrap(reason.DefaultNotLinux, fmt.Sprintf("%q runs %s", title, what), nil)
	}
	sel := &selection{source: cfg, loader: "GRUB", updateHint: "run update-grub, or check GRUB_DEFAULT in /etc/default/grub"}
	if top := p.grubTopLevel(); top != "" {
		sel.updateHint = fmt.Sprintf("GRUB_TOP_LEVEL=%s in /etc/default/grub puts that kernel first; run update-grub after changing it, or check GRUB_DEFAULT", top)
	}
	sel.kernel = p.locate(boot.Kernel, "/boot")
	p.explainLocate(boot.Kernel, sel.kernel, "/boot")
	p.whyf("kernel: %s %s at %s is %s", boot.Loader, boot.Kernel, boot.LoaderAt, sel.kernel)
	for _, ir := range boot.Initrds {
		sel.initrds = append(sel.initrds, p.locate(ir, "/boot"))
	}
	if len(boot.Initrds) > 0 {
		p.whyf("initrd: %s at %s, in that order", strings.Join(sel.initrds, " "), boot.InitrdAt)
	} else {
		p.whyf("initrd: none (the entry has no initrd line)")
	}
	sel.cmdline = grub.Cmdline(boot.Args)
	p.whyf("cmdline: the linux line's arguments after GRUB's variable expansion and quoting, without the BOOT_IMAGE= GRUB adds")
	return sel, nil
}

// grubTopLevel is GRUB_TOP_LEVEL from /etc/default/grub and grub.d/*.cfg
// (GRUB 2.12 moves that kernel to the top-level entry), or "". It only
// words a hint, so unreadable files are skipped.
func (p *planner) grubTopLevel() string {
	vars := map[string]string{}
	files := []string{"/etc/default/grub"}
	if es, err := p.t.ReadDir("/etc/default/grub.d"); err == nil {
		for _, e := range es {
			if strings.HasSuffix(e.Name, ".cfg") {
				files = append(files, "/etc/default/grub.d/"+e.Name)
			}
		}
	}
	for _, f := range files {
		if b, err := p.t.ReadFile(f, host.MaxConfigSize); err == nil {
			grub.ParseDefaults(b, f, vars) // its warnings are the scan source's business
		}
	}
	return vars["GRUB_TOP_LEVEL"]
}

// unmatchedWarning tells the user why the kernel they chose is not the one
// that starts: GRUB's default names no entry (a removed kernel, an
// old-style title without its submenu path, an entry of another platform),
// so GRUB, and the plan with it, takes the menu's first entry.
func (p *planner) unmatchedWarning(boot *grub.Boot) {
	via := ""
	if boot.DefaultVia != "" {
		via = fmt.Sprintf(" (from grubenv's %s)", boot.DefaultVia)
	}
	lvl := boot.UnmatchedLevel
	first := boot.Path[lvl]
	hint := "check GRUB_DEFAULT in /etc/default/grub and what grub-set-default or grub-reboot saved; an entry inside a submenu is named with its path, e.g. \"1>2\" or \"Advanced options for …>…\""
	if lvl == 0 {
		p.warnf("GRUB's default %q%s names no menu entry; GRUB boots the first entry, %q, instead, and so does Quick Restart: %s", boot.Default[0], via, first, hint)
		return
	}
	p.warnf("GRUB's default %q%s names no entry in the submenu %q (%q is left for it); GRUB boots the submenu's first entry, %q, instead, and so does Quick Restart: %s",
		boot.Default[0], via, boot.Path[lvl-1], boot.Unmatched, first, hint)
}

func isLinuxLoader(l string) bool {
	return l == "linux" || l == "linux16" || l == "linuxefi" || l == "linux32"
}

// grubBLSEntries gives Fedora's blscfg its entries: /boot/loader/entries,
// newest version first.
func (p *planner) grubBLSEntries() ([]grub.BLSEntry, error) {
	es, err := p.readEntries("/boot")
	if err != nil {
		return nil, err
	}
	list := make([]*bls.Entry, 0, len(es))
	for _, e := range es {
		list = append(list, e.Entry)
	}
	bls.SortByVersion(list)
	out := make([]grub.BLSEntry, 0, len(list))
	for _, e := range list {
		out = append(out, grub.BLSEntry{ID: e.ID, Title: e.Title, Linux: e.Linux, Initrds: e.Initrds,
			Options: e.Options, File: "/boot/loader/entries/" + e.FileName})
	}
	return out, nil
}

type partEntry struct {
	*bls.Entry
	part string
}

func (p *planner) readEntries(part string) ([]partEntry, error) {
	dir := part + "/loader/entries"
	des, err := p.t.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []partEntry
	for _, de := range des {
		if !strings.HasSuffix(de.Name, ".conf") || de.Mode.IsDir() || strings.HasPrefix(de.Name, ".") {
			continue
		}
		if len(out) >= maxEntries {
			p.warnf("more than %d entries in %s; the rest are ignored", maxEntries, dir)
			break
		}
		b, err := p.t.ReadFile(dir+"/"+de.Name, host.MaxConfigSize)
		if err != nil {
			return nil, err
		}
		e, warns := bls.Parse(b, de.Name)
		for _, w := range warns {
			p.warnf("%s/%s", dir, w)
		}
		out = append(out, partEntry{e, part})
	}
	return out, nil
}

// blsSource picks an entry as systemd-boot does.
func (p *planner) blsSource(parts []string, loader string) (*selection, error) {
	var all []partEntry
	for _, part := range parts {
		es, err := p.readEntries(part)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	byEntry := map[*bls.Entry]string{}
	list := make([]*bls.Entry, 0, len(all))
	for _, e := range all {
		list = append(list, e.Entry)
		byEntry[e.Entry] = e.part
	}
	if len(list) == 0 {
		return nil, reason.Wrap(reason.NoBootEntries, "", errors.New("no entries in loader/entries"))
	}
	bls.Sort(list)
	pattern := ""
	if lc := p.loaderConf(); lc != "" {
		b, err := p.t.ReadFile(lc, host.MaxConfigSize)
		if err != nil {
			return nil, err
		}
		l := bls.ParseLoader(b)
		pattern = l.Default
		if pattern != "" {
			p.whyf("default %q (%s line %d)", pattern, lc, l.DefaultLine)
		}
		if strings.HasPrefix(pattern, "@") {
			p.warnf("%s: default %s depends on EFI variables, which are not read; the first entry is used", lc, pattern)
		}
	}
	idx, matched := bls.Default(list, pattern)
	switch {
	case pattern == "":
		p.whyf("no default in loader.conf: the first entry in systemd-boot's order (sort-key, machine-id, version; then file name, newest first)")
	case !matched && !strings.HasPrefix(pattern, "@"):
		p.warnf("loader.conf's default %q matches no entry; systemd-boot then boots the first entry", pattern)
	}
	e := list[idx]
	part := byEntry[e]
	file := part + "/loader/entries/" + e.FileName
	p.whyf("entry: %q (%s), number %d of %d", e.Title, file, idx, len(list))
	if e.Linux == "" {
		for _, o := range list {
			if o.Linux != "" {
				what := "no linux line"
				if e.EFI != "" {
					what = "efi " + e.EFI
				}
				return nil, reason.Wrap(reason.DefaultNotLinux, fmt.Sprintf("%q runs %s", e.Title, what), nil)
			}
		}
		return nil, reason.Wrap(reason.NoBootEntries, "", errors.New("no entry has a linux line"))
	}
	sel := &selection{source: file, loader: loader, version: e.Version,
		updateHint: "the entries' order or loader.conf's default decide"}
	sel.kernel = p.locate(e.Linux, part)
	p.explainLocate(e.Linux, sel.kernel, part)
	p.whyf("kernel: linux %s (line %d) is %s", e.Linux, e.Lines["linux"], sel.kernel)
	var env map[string]string
	if strings.Contains(e.Options, "$") || strings.Contains(strings.Join(e.Initrds, " "), "$") {
		env = p.grubEnv()
	}
	for _, ir := range e.Initrds {
		if strings.Contains(ir, "$") {
			args, _ := grub.ExpandArgs(ir, env)
			for _, a := range args {
				sel.initrds = append(sel.initrds, p.locate(a, part))
			}
			continue
		}
		sel.initrds = append(sel.initrds, p.locate(ir, part))
	}
	if len(sel.initrds) > 0 {
		p.whyf("initrd: %s, in the order of the initrd lines", strings.Join(sel.initrds, " "))
	} else {
		p.whyf("initrd: none (the entry has no initrd line)")
	}
	sel.cmdline = strings.Join(strings.Fields(e.Options), " ")
	if strings.Contains(e.Options, "$") {
		args, err := grub.ExpandArgs(e.Options, env)
		if err != nil {
			return nil, reason.Wrap(reason.BadConfig, file+": options: "+err.Error(), err)
		}
		sel.cmdline = grub.Cmdline(args)
		p.whyf("cmdline: the options line with $variables expanded from grubenv (as grubby's entries expect)")
	} else {
		p.whyf("cmdline: the options line, without the initrd= words systemd-boot adds (kexec passes the initrds itself)")
	}
	return sel, nil
}

// grubEnv reads the variables of the first grubenv found, for BLS options
// such as "$kernelopts".
func (p *planner) grubEnv() map[string]string {
	for _, f := range []string{"/boot/grub2/grubenv", "/boot/grub/grubenv"} {
		b, err := p.t.ReadFile(f, host.MaxConfigSize)
		if err != nil {
			continue
		}
		vars, err := grub.ParseEnv(b)
		if err != nil {
			p.warnf("%s: %v", f, err)
			continue
		}
		return grub.EnvMap(vars)
	}
	return nil
}

// menuLstSource boots what GRUB legacy's default title entry says.
func (p *planner) menuLstSource(file string) (*selection, error) {
	b, err := p.t.ReadFile(file, host.MaxConfigSize)
	if err != nil {
		return nil, err
	}
	m := menulst.Parse(b)
	if len(m.Entries) == 0 {
		return nil, reason.Wrap(reason.NoBootEntries, "", fmt.Errorf("%s has no title entries", file))
	}
	saved := ""
	if m.Default == "saved" {
		if sb, err := p.t.ReadFile(path.Dir(file)+"/default", 4096); err == nil {
			saved = string(sb)
		}
	}
	idx := m.DefaultIndex(saved)
	if m.Default != "" {
		p.whyf("default %s (%s line %d)", m.Default, file, m.DefaultLine)
	} else {
		p.whyf("no default line: GRUB legacy boots the first title")
	}
	e := m.Entries[idx]
	p.whyf("entry: %d %q (%s line %d)", idx, e.Title, file, e.Line)
	if e.Loader != "kernel" {
		for _, o := range m.Entries {
			if o.Loader == "kernel" {
				what := e.Loader
				if what == "" {
					what = "no kernel line"
				}
				return nil, reason.Wrap(reason.DefaultNotLinux, fmt.Sprintf("%q runs %s", e.Title, what), nil)
			}
		}
		return nil, reason.Wrap(reason.NoBootEntries, "", fmt.Errorf("no title in %s has a kernel line", file))
	}
	sel := &selection{source: file, loader: "GRUB legacy", cmdline: e.Cmdline}
	sel.kernel = p.locate(e.Kernel, "/boot")
	p.explainLocate(e.Kernel, sel.kernel, "/boot")
	p.whyf("kernel: kernel %s (line %d) is %s", e.Kernel, e.KernelLine, sel.kernel)
	for _, ir := range e.Initrds {
		sel.initrds = append(sel.initrds, p.locate(ir, "/boot"))
	}
	if len(sel.initrds) > 0 {
		p.whyf("initrd: %s (line %d)", strings.Join(sel.initrds, " "), e.InitrdLine)
	} else {
		p.whyf("initrd: none (the entry has no initrd line)")
	}
	p.whyf("cmdline: the text after the kernel file name, as GRUB legacy passes it")
	if m.Kopt != "" {
		opts := strings.TrimSpace(m.Kopt + " " + m.Defoptions)
		sel.updateHint = fmt.Sprintf("update-grub would add it with %q from the kopt/defoptions comments (%s line %d)", opts, file, m.KoptLine)
	} else {
		sel.updateHint = "add it to " + file
	}
	return sel, nil
}
