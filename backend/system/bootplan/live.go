package bootplan

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// MaxLiveCmdline caps /proc/cmdline as read: the kernel's own limit is a
// few KiB on every architecture (CmdlineLimit), so anything larger is not
// the kernel's command line.
const MaxLiveCmdline = 64 << 10

// LiveOptions are the options for planning the running system, built here
// once for every caller (rapidreboot-helper, `rapidrebootctl plan`): the
// running kernel's command line from proc/cmdline (at most MaxLiveCmdline
// bytes), and GRUB's platform from how the running kernel was booted
// (sys/firmware/efi present: "efi", else "pc"). proc and sys are the
// running system's /proc and /sys. Another system's root (an installer's
// /target) is planned with the zero Options: never the live command line.
func LiveOptions(proc, sys string) (Options, error) {
	p := filepath.Join(proc, "cmdline")
	f, err := os.Open(p)
	if err != nil {
		return Options{}, reason.Wrap(reason.Internal, "cannot read the running kernel's command line", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxLiveCmdline+1))
	if err != nil {
		return Options{}, reason.Wrap(reason.Internal, "cannot read the running kernel's command line", err)
	}
	if len(b) > MaxLiveCmdline {
		return Options{}, reason.Wrap(reason.TooLarge, p, fmt.Errorf("over %d bytes", MaxLiveCmdline))
	}
	live := strings.TrimSpace(string(b))
	opt := Options{LiveCmdline: &live, Platform: "pc"}
	if _, err := os.Stat(filepath.Join(sys, "firmware/efi")); err == nil {
		opt.Platform = "efi"
	}
	return opt, nil
}
