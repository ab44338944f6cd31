// Package coldreboot keeps the "next restart is a normal one" flag
// (Debian's coldreboot idea): while it is set, Quick Restart is not offered
// and nothing is armed. It lives in the helper's runtime directory
// (/run/rapidreboot, a tmpfs), so the next boot clears it whatever kind it
// was: the restart the user asked for has then happened.
//
// Debian's kexec-tools has the same idea as a file, /no-kexec-reboot
// (created by its `coldreboot` script, removed by its kexec-load script when
// it skips a load). Its presence is honoured too, read only: that file is
// kexec-tools', and removing it is kexec-tools' job.
package coldreboot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// File is the flag's name in the runtime directory.
const File = "coldreboot"

// DebianFile is kexec-tools' own flag, relative to the root.
const DebianFile = "no-kexec-reboot"

// ErrUnsafe: the flag path is not a regular file owned by root.
var ErrUnsafe = errors.New("unsafe coldreboot flag")

// Set writes the flag in runDir (created 0700 if missing), saying who set
// it and when (for the log and `rapidrebootctl status`; the contents decide
// nothing).
func Set(runDir string, uid uint32, now time.Time) error {
	if err := os.Mkdir(runDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot set the coldreboot flag: %w", err)
	}
	p := filepath.Join(runDir, File)
	tmp := p + ".new"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("cannot set the coldreboot flag: %w", err)
	}
	_, err = f.WriteString("uid=" + strconv.FormatUint(uint64(uid), 10) + " time=" + now.UTC().Format(time.RFC3339) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot set the coldreboot flag: %w", err)
	}
	return nil
}

// Clear removes the flag; a missing flag is not an error. Debian's own
// file is not touched.
func Clear(runDir string) error {
	if err := os.Remove(filepath.Join(runDir, File)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot clear the coldreboot flag: %w", err)
	}
	return nil
}

// IsSet reports whether the flag is set in runDir. Anything there that is
// not a regular file owned by root (or by this process's user, for tests)
// is an error: the caller treats an error as set, the safe side.
func IsSet(runDir string) (bool, error) {
	return present(filepath.Join(runDir, File))
}

// DebianSet reports whether kexec-tools' /no-kexec-reboot exists under
// root.
func DebianSet(root string) (bool, error) {
	return present(filepath.Join(root, DebianFile))
}

func present(p string) (bool, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("cannot read the coldreboot flag: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || !ok || (st.Uid != 0 && int(st.Uid) != os.Geteuid()) {
		return true, fmt.Errorf("%w: %s", ErrUnsafe, p)
	}
	return true, nil
}
