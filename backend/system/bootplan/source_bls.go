package bootplan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bls"
	"github.com/rapidreboot/rapidreboot/backend/system/grub"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// maxEntries caps how many BLS entry files are read.
const maxEntries = 1000

// systemdBootSource is systemd-boot (its EFI binary or loader.conf) with
// Boot Loader Specification entries: it reads the entries itself, so a
// grub.cfg beside it is not what boots.
type systemdBootSource struct{}

func (systemdBootSource) boots(p *planner) bool {
	return p.systemdBoot() != "" && len(p.blsDirs()) > 0
}

func (systemdBootSource) choose(p *planner) (*selection, error) {
	dirs := p.blsDirs()
	p.whyf("boot loader: systemd-boot (%s) with Boot Loader Specification entries in %s", p.systemdBoot(), strings.Join(dirs, ", "))
	if cfg := p.grubCfg(); cfg != "" {
		p.whyf("%s is also present; systemd-boot is installed and reads the entries itself, so GRUB's menu is not what boots", cfg)
	}
	return p.chooseBLS(dirs, "systemd-boot")
}

// blsEntriesSource is BLS entries with neither systemd-boot nor a
// grub.cfg: another BLS boot loader, read by systemd-boot's rules.
type blsEntriesSource struct{}

func (blsEntriesSource) boots(p *planner) bool { return len(p.blsDirs()) > 0 }

func (blsEntriesSource) choose(p *planner) (*selection, error) {
	dirs := p.blsDirs()
	p.whyf("boot loader: Boot Loader Specification entries in %s (systemd-boot rules)", strings.Join(dirs, ", "))
	return p.chooseBLS(dirs, "a BLS boot loader")
}

// systemdBoot returns where systemd-boot is installed: its EFI binary, or
// loader/loader.conf (only systemd-boot reads that file), or "".
func (p *planner) systemdBoot() string {
	for _, esp := range []string{"/efi", "/boot/efi", "/boot"} {
		es, err := p.t.ReadDir(esp + "/EFI/systemd")
		if err == nil {
			for _, e := range es {
				if strings.HasPrefix(strings.ToLower(e.Name), "systemd-boot") {
					return esp + "/EFI/systemd/" + e.Name
				}
			}
		}
	}
	return p.loaderConf()
}

func (p *planner) loaderConf() string {
	return p.firstFile("/efi/loader/loader.conf", "/boot/efi/loader/loader.conf", "/boot/loader/loader.conf")
}

// blsDirs returns the partitions ($BOOT, ESP) that hold loader/entries/*.conf.
func (p *planner) blsDirs() []string {
	var out []string
	for _, part := range []string{"/boot", "/efi", "/boot/efi"} {
		es, err := p.t.ReadDir(part + "/loader/entries")
		if err != nil {
			continue
		}
		for _, e := range es {
			if strings.HasSuffix(e.Name, ".conf") && !e.Mode.IsDir() {
				out = append(out, part)
				break
			}
		}
	}
	return out
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

// chooseBLS picks an entry as systemd-boot does.
func (p *planner) chooseBLS(parts []string, loader string) (*selection, error) {
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
		what := "no linux line"
		if e.EFI != "" {
			what = "efi " + e.EFI
		}
		anotherIsLinux := false
		for _, o := range list {
			anotherIsLinux = anotherIsLinux || o.Linux != ""
		}
		return nil, notLinux(e.Title, what, anotherIsLinux, errors.New("no entry has a linux line"))
	}
	en := entry{source: file, loader: loader, version: e.Version, part: part,
		updateHint: "the entries' order or loader.conf's default decide",
		kernel:     e.Linux, kernelAt: fmt.Sprintf("linux %s (line %d)", e.Linux, e.Lines["linux"]),
		initrdsAt:  ", in the order of the initrd lines",
		cmdline:    strings.Join(strings.Fields(e.Options), " "),
		cmdlineWhy: "the options line, without the initrd= words systemd-boot adds (kexec passes the initrds itself)",
	}
	var env map[string]string
	if strings.Contains(e.Options, "$") || strings.Contains(strings.Join(e.Initrds, " "), "$") {
		env = p.grubEnv()
	}
	for _, ir := range e.Initrds {
		if strings.Contains(ir, "$") {
			args, _ := grub.ExpandArgs(ir, env)
			en.initrds = append(en.initrds, args...)
			continue
		}
		en.initrds = append(en.initrds, ir)
	}
	if strings.Contains(e.Options, "$") {
		args, err := grub.ExpandArgs(e.Options, env)
		if err != nil {
			return nil, reason.Wrap(reason.BadConfig, file+": options: "+err.Error(), err)
		}
		en.cmdline = grub.Cmdline(args)
		en.cmdlineWhy = "the options line with $variables expanded from grubenv (as grubby's entries expect)"
	}
	return p.selection(en), nil
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
