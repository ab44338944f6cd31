package bootplan

import (
	"fmt"
	"io"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/uki"
)

// checkNotUKI refuses a kernel file that is a unified kernel image (a PE
// with a .linux section, e.g. a GRUB entry that names /boot/efi/EFI/Linux/
// *.efi as its kernel): kexec_file_load takes the kernel, not the EFI
// application around it, so the load could only fail with ENOEXEC, after
// the user had already chosen Quick Restart. The headers are read through
// the same checked open as every boot file.
func (p *planner) checkNotUKI(kernel string) error {
	f, err := p.t.OpenBootFile(kernel, host.MaxKernelSize)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, uki.HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return reason.Wrap(reason.BadConfig, kernel, fmt.Errorf("cannot read %s: %w", kernel, err))
	}
	is, err := uki.IsUKI(head[:n])
	if err != nil {
		// A damaged PE header: the kernel's own loader will judge it
		// (image-format); not this check's to refuse.
		p.whyf("%s: %v", kernel, err)
		return nil
	}
	if is {
		return reason.Wrap(reason.UnifiedKernelImage, kernel, fmt.Errorf("%s has a .linux section", kernel))
	}
	return nil
}
