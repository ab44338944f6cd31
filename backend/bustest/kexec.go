package bustest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/kexec"
)

// FileKexec stands in for the kernel's kexec syscalls in a helper process
// that a test watches from outside: the kexec_loaded state is the file
// Root/sys/kernel/kexec_loaded (where kexec.Loaded and preflight read it
// in the fake root), every call is appended as a JSON line to
// Root/kexec-calls.jsonl, and Root/kexec-control.json (read at each load)
// can make a load slow, fail, or wait for a gate file. It never makes a
// kexec syscall.
type FileKexec struct {
	Root string
	mu   sync.Mutex
}

var _ kexec.Syscalls = (*FileKexec)(nil)

// KexecControl is the content of kexec-control.json.
type KexecControl struct {
	DelayMs   int    `json:"delay_ms,omitempty"`
	LoadErrno int    `json:"load_errno,omitempty"` // e.g. 12 (ENOMEM)
	Gate      string `json:"gate,omitempty"`       // a load waits until this file exists
}

// KexecCall is one line of kexec-calls.jsonl.
type KexecCall struct {
	Op         string `json:"op"` // "start", then kexectest's op names
	Flags      int    `json:"flags"`
	Cmdline    string `json:"cmdline,omitempty"`
	KernelSize int64  `json:"kernel_size"`
	InitrdSize int64  `json:"initrd_size"`
	Errno      int    `json:"errno,omitempty"`
	TimeNs     int64  `json:"t_ns"` // when it was recorded (Unix ns), for latency figures
}

// Ops as recorded; OpLoadStart is written when a load begins, before any
// delay or gate.
const (
	OpLoadStart  = "start"
	OpLoad       = "kexec_file_load"
	OpUnload     = "kexec_file_load(UNLOAD)"
	OpLoadUnload = "kexec_load(unload)"
	OpKexecTools = "kexec-tools"
)

// CallsFile and ControlFile are under Root.
const (
	CallsFile   = "kexec-calls.jsonl"
	ControlFile = "kexec-control.json"
)

func (f *FileKexec) record(c KexecCall) {
	c.TimeNs = time.Now().UnixNano()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(c)
	fd, err := os.OpenFile(filepath.Join(f.Root, CallsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	fd.Write(append(b, '\n'))
	fd.Close()
}

func (f *FileKexec) setLoaded(v bool) {
	p := filepath.Join(f.Root, "sys/kernel/kexec_loaded")
	_ = os.MkdirAll(filepath.Dir(p), 0o755)
	s := "0\n"
	if v {
		s = "1\n"
	}
	_ = os.WriteFile(p, []byte(s), 0o644)
}

func (f *FileKexec) control() KexecControl {
	var c KexecControl
	if b, err := os.ReadFile(filepath.Join(f.Root, ControlFile)); err == nil {
		_ = json.Unmarshal(b, &c)
	}
	return c
}

func size(fd int) int64 {
	if fd < 0 {
		return -1
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return -1
	}
	return st.Size
}

// KexecFileLoad records the call and changes the loaded state.
func (f *FileKexec) KexecFileLoad(kernelFd, initrdFd int, cmdline string, flags int) error {
	if flags&kexec.FlagUnload != 0 {
		f.record(KexecCall{Op: OpUnload, Flags: flags, KernelSize: -1, InitrdSize: -1})
		f.setLoaded(false)
		return nil
	}
	c := KexecCall{Op: OpLoad, Flags: flags, Cmdline: cmdline, KernelSize: size(kernelFd), InitrdSize: -1}
	if flags&kexec.FlagNoInitramfs == 0 {
		c.InitrdSize = size(initrdFd)
	}
	f.record(KexecCall{Op: OpLoadStart, Flags: flags, KernelSize: c.KernelSize, InitrdSize: c.InitrdSize})
	ctl := f.control()
	if ctl.DelayMs > 0 {
		time.Sleep(time.Duration(ctl.DelayMs) * time.Millisecond)
	}
	if ctl.Gate != "" {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(ctl.Gate); err == nil {
				break
			}
		}
	}
	if ctl.LoadErrno != 0 {
		c.Errno = ctl.LoadErrno
		f.record(c)
		return unix.Errno(ctl.LoadErrno)
	}
	f.record(c)
	f.setLoaded(true)
	return nil
}

// KexecLoadUnload records the call and marks nothing loaded.
func (f *FileKexec) KexecLoadUnload() error {
	f.record(KexecCall{Op: OpLoadUnload, KernelSize: -1, InitrdSize: -1})
	f.setLoaded(false)
	return nil
}

// RunKexecTools records the run and marks an image loaded; it runs nothing.
func (f *FileKexec) RunKexecTools(path string, argv, env []string, files []*os.File) error {
	f.record(KexecCall{Op: OpKexecTools, KernelSize: -1, InitrdSize: -1})
	f.setLoaded(true)
	return nil
}

// ReadKexecCalls reads root's recorded calls (none when the file is absent).
func ReadKexecCalls(root string) ([]KexecCall, error) {
	fd, err := os.Open(filepath.Join(root, CallsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	var out []KexecCall
	sc := bufio.NewScanner(fd)
	for sc.Scan() {
		var c KexecCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("cannot parse %s: %w", CallsFile, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// CountOp counts the calls of op.
func CountOp(calls []KexecCall, op string) int {
	n := 0
	for _, c := range calls {
		if c.Op == op {
			n++
		}
	}
	return n
}

// WriteKexecControl writes root's control file.
func WriteKexecControl(root string, c KexecControl) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, ControlFile), b, 0o644)
}

// KexecLoaded reads the fake kexec_loaded.
func KexecLoaded(root string) bool {
	b, err := os.ReadFile(filepath.Join(root, "sys/kernel/kexec_loaded"))
	return err == nil && len(b) > 0 && b[0] == '1'
}
