package bootplan

import (
	"fmt"
	"path"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/menulst"
)

// grubLegacySource is GRUB legacy: menu.lst (grub.conf on Red Hat), read
// by backend/system/menulst.
type grubLegacySource struct{}

func (grubLegacySource) boots(p *planner) bool { return p.menuLst() != "" }

func (grubLegacySource) choose(p *planner) (*selection, error) {
	file := p.menuLst()
	p.whyf("boot loader: GRUB legacy (%s)", file)
	return p.chooseGrubLegacy(file)
}

// menuLst is GRUB legacy's configuration, or "".
func (p *planner) menuLst() string {
	return p.firstFile("/boot/grub/menu.lst", "/boot/grub/grub.conf")
}

// chooseGrubLegacy boots what GRUB legacy's default title entry says.
func (p *planner) chooseGrubLegacy(file string) (*selection, error) {
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
		what := e.Loader
		if what == "" {
			what = "no kernel line"
		}
		anotherIsLinux := false
		for _, o := range m.Entries {
			anotherIsLinux = anotherIsLinux || o.Loader == "kernel"
		}
		return nil, notLinux(e.Title, what, anotherIsLinux, fmt.Errorf("no title in %s has a kernel line", file))
	}
	en := entry{source: file, loader: "GRUB legacy", part: "/boot",
		kernel: e.Kernel, kernelAt: fmt.Sprintf("kernel %s (line %d)", e.Kernel, e.KernelLine),
		initrds: e.Initrds, initrdsAt: fmt.Sprintf(" (line %d)", e.InitrdLine),
		cmdline: e.Cmdline, cmdlineWhy: "the text after the kernel file name, as GRUB legacy passes it",
		updateHint: "add it to " + file,
	}
	if m.Kopt != "" {
		opts := strings.TrimSpace(m.Kopt + " " + m.Defoptions)
		en.updateHint = fmt.Sprintf("update-grub would add it with %q from the kopt/defoptions comments (%s line %d)", opts, file, m.KoptLine)
	}
	return p.selection(en), nil
}
