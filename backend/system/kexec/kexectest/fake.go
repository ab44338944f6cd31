// Package kexectest is the one stand-in for the kernel's kexec syscalls:
// it records every call, keeps a fake kexec_loaded state (optionally
// mirrored into a fake /sys), and fails or delays on request. Tests of the
// loader, the helper and the shutdown hook use it in process; the helper
// binary built with the rapidreboot_fakekexec tag uses it with its on-disk
// mirror (NewMirrored, mirror.go), so that a test can watch and steer a
// helper in another process. Nothing in it touches the kernel beyond fstat,
// fcntl and pread on the fds it is given.
package kexectest

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
)

// Operations recorded in Call.Op. OpLoadStart is in the on-disk mirror
// only: written when a load begins, before any delay or gate.
const (
	OpLoadStart  = "start"
	OpLoad       = "kexec_file_load"
	OpUnload     = "kexec_file_load(UNLOAD)"
	OpLoadUnload = "kexec_load(unload)"
	OpKexecTools = "kexec-tools"
)

// Call is one recorded call.
type Call struct {
	Op      string
	Flags   int
	Cmdline string
	// KernelSize and InitrdSize are fstat sizes of the fds given (-1: no fd).
	KernelSize, InitrdSize int64
	// Kernel and Initrd are the fds' contents when Fake.ReadImages is set.
	Kernel, Initrd []byte
	// InitrdSeals are the memfd seals (F_GET_SEALS) of the initrd fd; 0 for
	// a plain file.
	InitrdSeals int
	// Path, Argv, Env, Files: the kexec-tools run.
	Path      string
	Argv, Env []string
	Files     int
}

// Fake implements kexec.Syscalls. Set its exported fields before use; it is
// safe for concurrent calls.
type Fake struct {
	// LoadErr, when set, is what kexec_file_load (without UNLOAD) returns;
	// the loaded state then does not change.
	LoadErr error
	// UnloadErr is what unloading returns (both ways).
	UnloadErr error
	// ToolsErr is what the kexec-tools run returns.
	ToolsErr error
	// Delay is how long a load takes.
	Delay time.Duration
	// OnLoad, when set, runs inside every load before it returns (after
	// Delay), e.g. to block until a test lets it go.
	OnLoad func()
	// ReadImages copies the fds' contents into the recorded Call.
	ReadImages bool
	// SysDir, when set, gets SysDir/kernel/kexec_loaded written with the
	// state ("0" or "1") on every change, as a fake /sys for readers of the
	// real file (kexecstate.Loaded, preflight).
	SysDir string
	// Mirror, when set, is the root of the on-disk mirror (mirror.go): the
	// calls are appended to Mirror/kexec-calls.jsonl and
	// Mirror/kexec-control.json steers each load.
	Mirror string

	mu     sync.Mutex
	calls  []Call
	loaded bool
}

var _ kexec.Syscalls = (*Fake)(nil)

// New returns a Fake with its state mirrored into sysDir ("" for none); the
// file is written at once with "0".
func New(sysDir string) *Fake {
	f := &Fake{SysDir: sysDir}
	f.SetLoaded(false)
	return f
}

// Loaded is the fake kexec_loaded.
func (f *Fake) Loaded() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loaded
}

// SetLoaded sets the fake kexec_loaded, e.g. to start with an image that
// someone else loaded.
func (f *Fake) SetLoaded(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(v)
}

// Calls returns a copy of the recorded calls.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Count returns how many calls of op were made.
func (f *Fake) Count(op string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Op == op {
			n++
		}
	}
	return n
}

// KexecFileLoad records the call and, unless LoadErr is set, marks an image
// loaded (or unloaded, with FlagUnload).
func (f *Fake) KexecFileLoad(kernelFd, initrdFd int, cmdline string, flags int) error {
	if flags&kexec.FlagUnload != 0 {
		return f.unload(Call{Op: OpUnload, Flags: flags, KernelSize: -1, InitrdSize: -1})
	}
	c := Call{Op: OpLoad, Flags: flags, Cmdline: cmdline}
	c.KernelSize, c.Kernel = f.inspect(kernelFd)
	if flags&kexec.FlagNoInitramfs != 0 {
		c.InitrdSize = -1
	} else {
		c.InitrdSize, c.Initrd = f.inspect(initrdFd)
		if seals, err := unix.FcntlInt(uintptr(initrdFd), unix.F_GET_SEALS, 0); err == nil {
			c.InitrdSeals = seals
		}
	}
	f.record(Record{Op: OpLoadStart, Flags: flags, KernelSize: c.KernelSize, InitrdSize: c.InitrdSize})
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if f.OnLoad != nil {
		f.OnLoad()
	}
	loadErr := f.LoadErr
	if errno := f.control().wait(); errno != 0 {
		loadErr = errno
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	f.recordLocked(c, loadErr)
	if loadErr != nil {
		return loadErr
	}
	f.setLocked(true)
	return nil
}

// KexecLoadUnload records the call and marks nothing loaded.
func (f *Fake) KexecLoadUnload() error {
	return f.unload(Call{Op: OpLoadUnload, KernelSize: -1, InitrdSize: -1})
}

// unload records c, one of the two ways of unloading, and unless
// UnloadErr is set marks nothing loaded.
func (f *Fake) unload(c Call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	f.recordLocked(c, f.UnloadErr)
	if f.UnloadErr != nil {
		return f.UnloadErr
	}
	f.setLocked(false)
	return nil
}

// RunKexecTools records the run and, unless ToolsErr is set, marks an image
// loaded. It runs nothing.
func (f *Fake) RunKexecTools(path string, argv, env []string, files []*os.File) error {
	c := Call{Op: OpKexecTools, Path: path, Argv: append([]string(nil), argv...), Env: append([]string(nil), env...),
		Files: len(files), KernelSize: -1, InitrdSize: -1}
	if len(files) > 0 {
		c.KernelSize, c.Kernel = f.inspect(int(files[0].Fd()))
	}
	if len(files) > 1 {
		c.InitrdSize, c.Initrd = f.inspect(int(files[1].Fd()))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	f.recordLocked(c, f.ToolsErr)
	if f.ToolsErr != nil {
		return f.ToolsErr
	}
	f.setLocked(true)
	return nil
}

// inspect reads what the kernel would: the size, and with ReadImages the
// content from offset 0 whatever the fd's position (kernel_read_file does
// the same).
func (f *Fake) inspect(fd int) (int64, []byte) {
	if fd < 0 {
		return -1, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return -1, nil
	}
	if !f.ReadImages {
		return st.Size, nil
	}
	b := make([]byte, st.Size)
	n, err := unix.Pread(fd, b, 0)
	if err != nil {
		return st.Size, nil
	}
	return st.Size, b[:n]
}

func (f *Fake) setLocked(v bool) {
	f.loaded = v
	if f.SysDir == "" {
		return
	}
	p := filepath.Join(f.SysDir, "kernel/kexec_loaded")
	_ = os.MkdirAll(filepath.Dir(p), 0o755)
	s := "0\n"
	if v {
		s = "1\n"
	}
	_ = os.WriteFile(p, []byte(s), 0o644)
}

// Errno is a convenience for LoadErr and friends: the error a real
// syscall wrapper returns.
func Errno(e unix.Errno) error { return e }

// IsRefused reports whether err is the real implementation's in-test refusal.
func IsRefused(err error) bool { return errors.Is(err, kexec.ErrRefusedInTest) }
