package hook

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// waitSiblings waits up to SiblingWait for the other children of our
// parent to exit and returns how many are still running. systemd-shutdown
// runs every hook in system-shutdown/ at once (mdadm's, fwupd's, …); a
// kexec while one of them still works would cut it short, where a normal
// reboot would have waited for it.
func (c Config) waitSiblings() int {
	if c.PPID <= 1 {
		// Started by PID 1 itself (or unknown): its other children are
		// every orphan on the system, not fellow hooks.
		return 0
	}
	deadline := time.Now().Add(c.SiblingWait)
	for {
		n := len(Siblings(c.Proc, c.PID, c.PPID))
		if n == 0 || !time.Now().Before(deadline) {
			return n
		}
		time.Sleep(c.poll())
	}
}

// Siblings lists the processes in proc whose parent is ppid, other than
// pid itself. Processes that vanish while being read are not counted.
func Siblings(proc string, pid, ppid int) []int {
	d, err := os.Open(proc)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []int
	for _, n := range names {
		p, err := strconv.Atoi(n)
		if err != nil || p == pid {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, n, "stat"))
		if err != nil {
			continue
		}
		pp, state, err := ParseStat(b)
		// A zombie has exited; it only waits for its parent to reap it.
		if err == nil && pp == ppid && state != 'Z' && state != 'X' {
			out = append(out, p)
		}
	}
	return out
}

// ParseStat returns the parent PID and state of a /proc/<pid>/stat line:
// "pid (comm) state ppid …". comm may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func ParseStat(b []byte) (ppid int, state byte, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("cannot parse stat: no ')'")
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, errors.New("cannot parse stat: too few fields")
	}
	pp, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, 0, errors.New("cannot parse stat: bad ppid")
	}
	return pp, f[0][0], nil
}
