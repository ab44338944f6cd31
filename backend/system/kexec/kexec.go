// Package kexec loads the planned kernel for a later kexec reboot and
// unloads it again. It is the only package of the helper that makes the
// kexec syscalls (kexec_file_load(2); kexec_load(2) only to unload what
// kexec-tools loaded), and it makes them through the Syscalls interface so
// that tests run against kexectest.Fake. Real refuses to act inside a Go
// test binary.
//
// What the kernel gets is exactly the plan: the kernel file and initrds are
// opened once through host.Target (confined to the target root, checked
// root-owned and regular) and handed to the kernel as file descriptors, so
// nothing can swap them between the check and the load. Several initrds are
// concatenated into one sealed memfd, as GRUB's "initrd a b" does.
//
// Not supported: kexec_load(2) with our own purgatory (kexec-tools does that
// in the ENOSYS fallback), crash kernels, device trees.
package kexec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// Syscalls is the boundary to the kernel. Real is the only implementation
// outside tests.
type Syscalls interface {
	// KexecFileLoad is kexec_file_load(2). With FlagUnload both fds are -1.
	KexecFileLoad(kernelFd, initrdFd int, cmdline string, flags int) error
	// KexecLoadUnload is kexec_load(2) with no segments, which unloads an
	// image that kexec-tools loaded when kexec_file_load is missing.
	KexecLoadUnload() error
	// RunKexecTools runs the kexec-tools binary at path with exactly argv
	// and env (no shell), giving it files as fds 3, 4, …, and returns an
	// error that includes the tool's last output line when it fails.
	RunKexecTools(path string, argv, env []string, files []*os.File) error
}

// kexec_file_load flags.
const (
	FlagUnload      = unix.KEXEC_FILE_UNLOAD
	FlagNoInitramfs = unix.KEXEC_FILE_NO_INITRAMFS
)

// Methods by which an image was loaded; Image.Method.
const (
	MethodFileLoad   = "kexec_file_load"
	MethodKexecTools = "kexec-tools"
)

// ErrRefusedInTest is what Real's methods return inside a test binary.
var ErrRefusedInTest = errors.New("cannot make a real kexec or reboot syscall inside a test binary")

// InTestBinary reports whether this process is a Go test binary, in which
// no real kexec or reboot syscall may ever be made.
func InTestBinary() bool { return testing.Testing() }

// FileID is the identity of a boot file as loaded: the hook compares it
// with the file at the same path before it kexecs, so a kernel replaced or
// removed after arming never boots.
type FileID struct {
	Path     string `json:"path"`               // as the plan named it
	Resolved string `json:"resolved,omitempty"` // after symlinks, inside the target
	Dev      uint64 `json:"dev"`
	Ino      uint64 `json:"ino"`
	Size     int64  `json:"size"`
	MtimeNs  int64  `json:"mtime_ns"`
	// CtimeNs catches what the other four miss: a file rewritten in place
	// (same inode and size) with its mtime set back (touch -r, cp -p,
	// tar). Nobody can set ctime; every write and every utimensat moves it.
	CtimeNs int64 `json:"ctime_ns"`
}

// IDOf is the identity of an open boot file.
func IDOf(b *host.BootFile) FileID {
	return FileID{Path: b.Path, Resolved: b.Resolved, Dev: b.Dev, Ino: b.Ino, Size: b.Size, MtimeNs: b.MtimeNs, CtimeNs: b.CtimeNs}
}

// Same reports whether a and b are the same file content as far as the
// file system can tell: same device, inode, size, modification time and
// change time. Paths are not compared: a symlink may have been the way in.
func (a FileID) Same(b FileID) bool {
	return a.Dev == b.Dev && a.Ino == b.Ino && a.Size == b.Size && a.MtimeNs == b.MtimeNs && a.CtimeNs == b.CtimeNs
}

func (a FileID) String() string {
	return fmt.Sprintf("%s (dev %d, ino %d, %d bytes, mtime %d, ctime %d)", a.Path, a.Dev, a.Ino, a.Size, a.MtimeNs, a.CtimeNs)
}

// Image is what was loaded, recorded in the arm for the hook to re-check.
type Image struct {
	Kernel     FileID   `json:"kernel"`
	Initrds    []FileID `json:"initrds"`
	Cmdline    string   `json:"cmdline"`
	Version    string   `json:"version"`
	Method     string   `json:"method"`
	InitrdSize int64    `json:"initrd_size"` // bytes handed to the kernel, padding included
}

// LoadDisabled reads <proc>/sys/kernel/kexec_load_disabled, the one
// reading of that sysctl (preflight's refusal, the loader's naming of an
// EPERM): whether loading is switched off until the next boot. A kernel
// without the sysctl cannot switch kexec off this way (false, nil); any
// value but "0" counts as off, the stricter reading.
func LoadDisabled(proc string) (bool, error) {
	f, err := os.Open(filepath.Join(proc, "sys/kernel/kexec_load_disabled"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read kernel.kexec_load_disabled: %w", err)
	}
	defer f.Close()
	b := make([]byte, 64) // "0\n" or "1\n"
	n, err := f.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("cannot read kernel.kexec_load_disabled: %w", err)
	}
	return string(bytes.TrimSpace(b[:n])) != "0", nil
}

// Unload unloads whatever image is loaded, by kexec_file_load's UNLOAD
// flag, or by kexec_load(2) when kexec_file_load is missing (the image then
// came from kexec-tools). Unloading when nothing is loaded succeeds.
func Unload(sys Syscalls) error {
	err := sys.KexecFileLoad(-1, -1, "", FlagUnload)
	if errors.Is(err, unix.ENOSYS) {
		err = sys.KexecLoadUnload()
	}
	if err != nil {
		return fmt.Errorf("cannot unload the kexec image: %w", err)
	}
	return nil
}
