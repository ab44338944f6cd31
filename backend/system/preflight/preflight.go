// Package preflight answers, cheaply, whether a Quick Restart could be armed
// right now on this machine, and if not, why: the checks GetPlan runs every
// time the dialog opens, before any kernel is read.
//
// Every check reads a file under /proc, /sys, /run or the target root; none
// takes a lock, loads anything or changes state. The package dpkg lock is
// tested with F_OFD_GETLK (F_GETLK on kernels before 3.15) and /proc/locks,
// never by taking it: taking it would make a concurrent apt fail
// (security-background.md §3.8).
//
// Not checked here: logind inhibitors (the helper asks logind), the boot plan
// itself (bootplan), and image signatures under lockdown (only the load can
// tell, so lockdown is a warning).
package preflight

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
)

// ExitrdDetail is the detail sent with reason.Exitrd.
const ExitrdDetail = "the root file system is detached by dracut's shutdown initramfs, which a Quick Restart would skip"

// Env says where the running system's files are. Tests point every field
// into a temporary tree.
type Env struct {
	Proc string // "/proc"
	Sys  string // "/sys"
	Run  string // "/run"
	Root string // "/": where /var/lib/dpkg and /var/lib/rapidreboot live
}

// Live is the running system.
func Live() Env { return Env{Proc: "/proc", Sys: "/sys", Run: "/run", Root: "/"} }

// DpkgLocks are the package manager's lock files, frontend first: apt and
// dpkg ≥ 1.19 take lock-frontend for the whole transaction, and dpkg alone
// (or an older frontend) takes lock.
var DpkgLocks = []string{"/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"}

// capSysBoot is CAP_SYS_BOOT's bit (linux/capability.h).
const capSysBoot = 22

// smallFile caps every read from /proc and /sys: all are a line or two.
const smallFile = 64 << 10

// Check returns nil when nothing known prevents a Quick Restart, or the
// first *reason.Error that does, most lasting cause first: a container or a
// kernel without kexec will not change by waiting, a running apt will.
func Check(env Env) error {
	for _, c := range []func(Env) error{
		checkContainer,
		checkKexecPresent,
		checkKexecDisabled,
		checkLastKexec,
		checkExitrd,
		checkPackageManager,
	} {
		if err := c(env); err != nil {
			return err
		}
	}
	return nil
}

// Warnings lists what does not prevent arming but that a person should
// know before choosing Quick Restart.
func Warnings(env Env) []string {
	var w []string
	if mode := LockdownMode(env); mode != "" && mode != "none" {
		w = append(w, fmt.Sprintf("the kernel is locked down (%s): only a kernel signed for this machine can be started", mode))
	}
	for _, a := range Advisories(env) {
		w = append(w, a.Sentence()) // English, a msgid: the dialog can translate it
	}
	return w
}

func checkContainer(env Env) error {
	if b, err := readSmall(filepath.Join(env.Run, "systemd/container")); err == nil {
		return reason.New(reason.Container, strings.TrimSpace(string(b)))
	}
	// Root only: /proc/1/environ is readable by PID 1's owner. An unreadable
	// file says nothing either way.
	if b, err := readSmall(filepath.Join(env.Proc, "1/environ")); err == nil {
		if v, ok := environValue(b, "container"); ok {
			return reason.New(reason.Container, v)
		}
	}
	b, err := readSmall(filepath.Join(env.Proc, "self/status"))
	if err != nil {
		return reason.Wrap(reason.Internal, "cannot read the capability bounding set", err)
	}
	bnd, err := parseCapBnd(b)
	if err != nil {
		return reason.Wrap(reason.Internal, "cannot read the capability bounding set", err)
	}
	if bnd&(1<<capSysBoot) == 0 {
		return reason.New(reason.Container, "CAP_SYS_BOOT is not in the capability bounding set")
	}
	return nil
}

func checkKexecPresent(env Env) error {
	if _, err := os.Stat(filepath.Join(env.Sys, "kernel/kexec_loaded")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return reason.New(reason.NoKexec, "")
		}
		return reason.Wrap(reason.NoKexec, "", err)
	}
	return nil
}

func checkKexecDisabled(env Env) error {
	off, err := kexec.LoadDisabled(env.Proc)
	if err != nil {
		return reason.Wrap(reason.Internal, "cannot read kernel.kexec_load_disabled", err)
	}
	if off {
		return reason.New(reason.KexecDisabled, "")
	}
	return nil
}

func checkLastKexec(env Env) error {
	// Resolved inside env.Root: an installer's /target may hold absolute
	// symlinks (row 44).
	m, err := armstate.ReadFailedIn(env.Root)
	if err != nil {
		return reason.Wrap(reason.Internal, "cannot read the Quick Restart markers", err)
	}
	if m != nil {
		return reason.New(reason.LastKexecFailed, m.Note)
	}
	return nil
}

// checkExitrd refuses when systemd-shutdown will switch into dracut's
// shutdown initramfs: the hook kexecs before that switch, so the storage
// under / (iSCSI, NBD, some dm stacks) would not be detached the way a
// normal restart detaches it. dracut unpacks the exitrd only at shutdown
// (dracut-shutdown.service's ExecStop), so its unit file counts as well as
// the unpacked /run/initramfs/shutdown.
func checkExitrd(env Env) error {
	if _, err := os.Lstat(filepath.Join(env.Run, "initramfs/shutdown")); err == nil {
		return reason.New(reason.Exitrd, ExitrdDetail)
	}
	t := host.New(env.Root)
	for _, p := range []string{"/usr/lib/systemd/system/dracut-shutdown.service", "/lib/systemd/system/dracut-shutdown.service"} {
		if f, err := t.Open(p); err == nil {
			f.Close()
			return reason.New(reason.Exitrd, ExitrdDetail)
		}
	}
	return nil
}

func checkPackageManager(env Env) error {
	h, err := DpkgLockHolder(env)
	if err != nil {
		return reason.Wrap(reason.Internal, "cannot test the package manager's lock", err)
	}
	if h != nil {
		return reason.New(reason.PackageManager, h.String())
	}
	return nil
}

// LockdownMode returns the active lockdown mode ("none", "integrity",
// "confidentiality"), or "" when the kernel has no lockdown LSM.
func LockdownMode(env Env) string { return kexec.LockdownMode(env.Sys) }

// parseCapBnd returns the CapBnd mask of a /proc/<pid>/status file.
func parseCapBnd(status []byte) (uint64, error) {
	for _, line := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("CapBnd:")); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("cannot parse CapBnd %q: %w", bytes.TrimSpace(v), err)
			}
			return n, nil
		}
	}
	return 0, errors.New("cannot find CapBnd in the status file")
}

// environValue finds key in a NUL-separated environment block.
func environValue(b []byte, key string) (string, bool) {
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(key+"=")); ok {
			return string(v), true
		}
	}
	return "", false
}

// readSmall reads a /proc or /sys file of at most smallFile bytes. These
// paths are the kernel's, not the target's, so no confinement applies.
func readSmall(p string) ([]byte, error) { return readN(p, smallFile) }

func readN(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("cannot read %s: larger than %d bytes", p, max)
	}
	return b, nil
}
