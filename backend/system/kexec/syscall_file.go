//go:build linux && (amd64 || arm64 || arm || loong64 || ppc || ppc64 || ppc64le || riscv64 || s390x)

package kexec

import "golang.org/x/sys/unix"

func kexecFileLoad(kernelFd, initrdFd int, cmdline string, flags int) error {
	return unix.KexecFileLoad(kernelFd, initrdFd, cmdline, flags)
}
