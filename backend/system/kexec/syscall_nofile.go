//go:build linux && !(amd64 || arm64 || arm || loong64 || ppc || ppc64 || ppc64le || riscv64 || s390x)

package kexec

import "golang.org/x/sys/unix"

// Architectures without kexec_file_load (386, mips): the Loader falls back
// to kexec-tools as for a kernel built without it.
func kexecFileLoad(kernelFd, initrdFd int, cmdline string, flags int) error {
	return unix.ENOSYS
}
