package kexec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Real returns the syscalls of the running kernel. Every method returns
// ErrRefusedInTest inside a Go test binary, so no test can load a kernel on
// the machine that runs it.
func Real() Syscalls { return realSyscalls{} }

type realSyscalls struct{}

func (realSyscalls) KexecFileLoad(kernelFd, initrdFd int, cmdline string, flags int) error {
	if InTestBinary() {
		return ErrRefusedInTest
	}
	return kexecFileLoad(kernelFd, initrdFd, cmdline, flags)
}

func (realSyscalls) KexecLoadUnload() error {
	if InTestBinary() {
		return ErrRefusedInTest
	}
	_, _, e := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 0, 0, unix.KEXEC_ARCH_DEFAULT, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// kexecToolsTimeout bounds a kexec-tools run; it reads two files and makes
// one syscall.
const kexecToolsTimeout = 2 * time.Minute

// maxToolOutput bounds what is kept of kexec-tools' output.
const maxToolOutput = 16 << 10

func (realSyscalls) RunKexecTools(path string, argv, env []string, files []*os.File) error {
	if InTestBinary() {
		return ErrRefusedInTest
	}
	ctx, cancel := context.WithTimeout(context.Background(), kexecToolsTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Args = argv
	cmd.Env = env
	cmd.Dir = "/"
	cmd.ExtraFiles = files
	var out limitedBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed: %w: %s", path, err, lastLine(out.Bytes()))
	}
	return nil
}

type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxToolOutput - b.Len(); room < len(p) {
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
