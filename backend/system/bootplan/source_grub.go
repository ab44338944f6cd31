package bootplan

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bls"
	"github.com/rapidreboot/rapidreboot/backend/system/grub"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// grub2Source is GRUB 2: grub.cfg in /boot (or on the ESP), evaluated by
// backend/system/grub. It reads BLS entries only when grub.cfg runs blscfg, and
// never a menu.lst.
type grub2Source struct{}

func (grub2Source) boots(p *planner) bool { return p.grubCfg() != "" }

func (grub2Source) choose(p *planner) (*selection, error) {
	cfg := p.grubCfg()
	p.whyf("boot loader: GRUB 2 (%s)", cfg)
	if dirs := p.blsDirs(); len(dirs) > 0 && p.systemdBoot() == "" {
		p.whyf("BLS entries in %s are read only if grub.cfg runs blscfg; systemd-boot is not installed", strings.Join(dirs, ", "))
	}
	if menuLst := p.menuLst(); menuLst != "" {
		p.whyf("%s is a leftover of GRUB legacy: GRUB 2 does not read it", menuLst)
	}
	return p.chooseGRUB(cfg)
}

// grubCfg is the grub.cfg GRUB 2 reads, or "".
func (p *planner) grubCfg() string {
	if cfg := p.firstFile("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"); cfg != "" {
		return cfg
	}
	// Fedora before 34 and some EFI-only installs keep the real grub.cfg
	// on the ESP; Ubuntu's there is a stub that configfiles
	// /boot/grub/grub.cfg (which then does not exist).
	return p.efiGrubCfg()
}

func (p *planner) efiGrubCfg() string {
	for _, esp := range []string{"/boot/efi", "/efi"} {
		es, err := p.t.ReadDir(esp + "/EFI")
		if err != nil {
			continue
		}
		for _, e := range es {
			if strings.EqualFold(e.Name, "BOOT") {
				continue
			}
			if f := p.firstFile(esp + "/EFI/" + e.Name + "/grub.cfg"); f != "" {
				return f
			}
		}
	}
	return ""
}

// chooseGRUB evaluates grub.cfg as GRUB would at boot.
func (p *planner) chooseGRUB(cfg string) (*selection, error) {
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
	if !isLinuxLoader(boot.Loader) {
		what := boot.Loader
		if what == "" {
			what = "no boot command"
		}
		return nil, notLinux(boot.Path[len(boot.Path)-1], what, boot.MenuHasLinux, fmt.Errorf("no entry of %s loads a Linux kernel", cfg))
	}
	e := entry{source: cfg, loader: "GRUB", part: "/boot",
		updateHint: "run update-grub, or check GRUB_DEFAULT in /etc/default/grub",
		kernel:     boot.Kernel, kernelAt: fmt.Sprintf("%s %s at %s", boot.Loader, boot.Kernel, boot.LoaderAt),
		initrds: boot.Initrds, initrdsAt: fmt.Sprintf(" at %s, in that order", boot.InitrdAt),
		cmdline:    grub.Cmdline(boot.Args),
		cmdlineWhy: "the linux line's arguments after GRUB's variable expansion and quoting, without the BOOT_IMAGE= GRUB adds",
	}
	if top := p.grubTopLevel(); top != "" {
		e.updateHint = fmt.Sprintf("GRUB_TOP_LEVEL=%s in /etc/default/grub puts that kernel first; run update-grub after changing it, or check GRUB_DEFAULT", top)
	}
	return p.selection(e), nil
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
