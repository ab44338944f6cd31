package kexec

import "runtime"

// cmdlineLimits is the longest command line, in bytes without the NUL,
// that kexec_file_load accepts on each architecture.
//
// x86: COMMAND_LINE_SIZE is 2048, so the boot protocol's cmdline_size is
// 2047 (without the NUL); kexec_file_load counts the NUL in cmdline_len, and
// arch/x86/kernel/kexec-bzimage64.c keeps 30 bytes free for the
// "elfcorehdr=0x<addr> " a crash kernel would get (MAX_ELFCOREHDR_STR_LEN),
// on every load: 2047 - 30 - 1 = 2016. Longer lines fail there with EINVAL.
// arm64 and arm: COMMAND_LINE_SIZE 2048, the line goes into the device tree
// with its NUL. riscv64: COMMAND_LINE_SIZE 1024.
var cmdlineLimits = map[string]int{
	"amd64":   2016,
	"386":     2016,
	"arm64":   2047,
	"arm":     1023,
	"riscv64": 1023,
}

// defaultCmdlineLimit is for the architectures not above: the smallest
// limit we know, since refusing a line that might have fitted costs a normal
// restart, while passing one that does not fit costs a failed load.
const defaultCmdlineLimit = 1023

// MaxCmdline is the longest command line this architecture accepts.
func MaxCmdline() int {
	if n, ok := cmdlineLimits[runtime.GOARCH]; ok {
		return n
	}
	return defaultCmdlineLimit
}
