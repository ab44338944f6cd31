package bootplan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// A source is one boot loader: whether it is what a cold boot of the
// target runs, and which entry it then starts. Supporting a new boot
// loader is a parser package of its own (pure: bytes in, entries and the
// default out, with a fuzz target, as backend/system/menulst), one file here
// with a type that implements source (source_<loader>.go), and one line
// in sources. docs/boot-plan.md says more.
type source interface {
	// boots reports whether this loader is installed and configured on
	// the target, so that a cold boot runs it (when no source before it
	// in sources does).
	boots(p *planner) bool
	// choose says why in the plan's why lines, reads the loader's
	// configuration and returns what its default entry starts, usually
	// through p.selection.
	choose(p *planner) (*selection, error)
}

// sources in the order a cold boot decides between them: systemd-boot
// reads the BLS entries itself even where a grub.cfg is left over, GRUB 2
// reads only grub.cfg (BLS entries only through blscfg, menu.lst never),
// and the last, which always boots, plans the newest installed kernel.
var sources = []source{
	systemdBootSource{},
	grub2Source{},
	blsEntriesSource{},
	grubLegacySource{},
	newestKernelSource{},
}

// choose finds the boot loader a cold boot runs and asks it.
func (p *planner) choose() (*selection, error) {
	for _, s := range sources {
		if s.boots(p) {
			return s.choose(p)
		}
	}
	return nil, errors.New("no boot loader source applies") // unreachable: the last always boots
}

// entry is a boot entry in its loader's words, for p.selection: the paths
// as the loader names them on the partition part, and where each was
// read, for the why lines.
type entry struct {
	source     string // the file the entry was read from
	loader     string // selection.loader
	version    string // from the loader's own data (BLS version), else ""
	updateHint string
	part       string // the partition the loader reads paths from ("/boot", an ESP)
	kernel     string // as the loader names it
	kernelAt   string // "linux /vmlinuz-6.1 (line 3)": what names it, where
	initrds    []string
	initrdsAt  string // after the initrd paths: " (line 4)", ", in that order"
	cmdline    string // as the kernel will get it
	cmdlineWhy string // where it comes from
}

// selection locates the entry's files on the target and says so: the one
// way every boot loader's entry becomes a selection.
func (p *planner) selection(e entry) *selection {
	sel := &selection{source: e.source, loader: e.loader, version: e.version, updateHint: e.updateHint, cmdline: e.cmdline}
	sel.kernel = p.locate(e.kernel, e.part)
	p.explainLocate(e.kernel, sel.kernel, e.part)
	p.whyf("kernel: %s is %s", e.kernelAt, sel.kernel)
	for _, ir := range e.initrds {
		sel.initrds = append(sel.initrds, p.locate(ir, e.part))
	}
	if len(sel.initrds) > 0 {
		p.whyf("initrd: %s%s", strings.Join(sel.initrds, " "), e.initrdsAt)
	} else {
		p.whyf("initrd: none (the entry has no initrd line)")
	}
	p.whyf("cmdline: %s", e.cmdlineWhy)
	return sel
}

// notLinux is the refusal when the default entry, title, starts no Linux
// kernel but runs something else: DefaultNotLinux when another entry of
// the loader would start one, else NoBootEntries with none as the cause.
func notLinux(title, runs string, anotherIsLinux bool, none error) error {
	if anotherIsLinux {
		return reason.Wrap(reason.DefaultNotLinux, fmt.Sprintf("%q runs %s", title, runs), nil)
	}
	return reason.Wrap(reason.NoBootEntries, "", none)
}
