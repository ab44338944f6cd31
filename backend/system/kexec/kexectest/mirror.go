package kexectest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// The on-disk mirror, for a helper process a test watches from outside:
// the kexec_loaded state is Root/sys/kernel/kexec_loaded (where
// kexecstate.Loaded and preflight read it in the fake root), every call is
// appended as a JSON line to Root/kexec-calls.jsonl, and
// Root/kexec-control.json, read at each load, can make a load slow, fail,
// or wait for a gate file.
const (
	CallsFile   = "kexec-calls.jsonl"
	ControlFile = "kexec-control.json"
)

// NewMirrored returns a Fake mirrored under root, as the helper's test
// build uses it. The state file is left as the test wrote it (a test may
// start with an image someone else loaded) until the first call changes it.
func NewMirrored(root string) *Fake {
	return &Fake{SysDir: filepath.Join(root, "sys"), Mirror: root}
}

// Control is the content of kexec-control.json.
type Control struct {
	DelayMs   int    `json:"delay_ms,omitempty"`
	LoadErrno int    `json:"load_errno,omitempty"` // e.g. 12 (ENOMEM)
	Gate      string `json:"gate,omitempty"`       // a load waits until this file exists
}

// Record is one line of kexec-calls.jsonl.
type Record struct {
	Op         string `json:"op"` // OpLoadStart, then the Op* of Call
	Flags      int    `json:"flags"`
	Cmdline    string `json:"cmdline,omitempty"`
	KernelSize int64  `json:"kernel_size"`
	InitrdSize int64  `json:"initrd_size"`
	Errno      int    `json:"errno,omitempty"`
	TimeNs     int64  `json:"t_ns"` // when it was recorded (Unix ns), for latency figures
}

// control reads the mirror's control file; none, or no mirror, is the
// zero Control.
func (f *Fake) control() Control {
	var c Control
	if f.Mirror == "" {
		return c
	}
	if b, err := os.ReadFile(filepath.Join(f.Mirror, ControlFile)); err == nil {
		_ = json.Unmarshal(b, &c)
	}
	return c
}

// wait applies the delay and the gate (for a minute at most) and returns
// the errno the load is to fail with, 0 for none.
func (c Control) wait() unix.Errno {
	if c.DelayMs > 0 {
		time.Sleep(time.Duration(c.DelayMs) * time.Millisecond)
	}
	if c.Gate != "" {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(c.Gate); err == nil {
				break
			}
		}
	}
	return unix.Errno(c.LoadErrno)
}

// recordLocked appends c, with err's errno, to the mirror; f.mu is held,
// which keeps the lines whole and in order.
func (f *Fake) recordLocked(c Call, err error) {
	r := Record{Op: c.Op, Flags: c.Flags, Cmdline: c.Cmdline, KernelSize: c.KernelSize, InitrdSize: c.InitrdSize}
	var errno unix.Errno
	if errors.As(err, &errno) {
		r.Errno = int(errno)
	}
	f.appendLocked(r)
}

// record appends r to the mirror.
func (f *Fake) record(r Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appendLocked(r)
}

func (f *Fake) appendLocked(r Record) {
	if f.Mirror == "" {
		return
	}
	r.TimeNs = time.Now().UnixNano()
	b, _ := json.Marshal(r)
	fd, err := os.OpenFile(filepath.Join(f.Mirror, CallsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	fd.Write(append(b, '\n'))
	fd.Close()
}

// ReadCalls reads the calls mirrored under root (none when the file is
// absent).
func ReadCalls(root string) ([]Record, error) {
	fd, err := os.Open(filepath.Join(root, CallsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	var out []Record
	sc := bufio.NewScanner(fd)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("cannot parse %s: %w", CallsFile, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// CountOp counts the records of op.
func CountOp(rr []Record, op string) int {
	n := 0
	for _, r := range rr {
		if r.Op == op {
			n++
		}
	}
	return n
}

// WriteControl writes root's control file.
func WriteControl(root string, c Control) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, ControlFile), b, 0o644)
}

// LoadedIn reads the mirrored kexec_loaded under root.
func LoadedIn(root string) bool {
	b, err := os.ReadFile(filepath.Join(root, "sys/kernel/kexec_loaded"))
	return err == nil && len(b) > 0 && b[0] == '1'
}
