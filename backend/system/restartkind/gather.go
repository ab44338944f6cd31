package restartkind

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
)

// Files read by Gather, relative to its root.
const (
	OsReleasePath = "proc/sys/kernel/osrelease"
	CmdlinePath   = "proc/cmdline"
	UptimePath    = "proc/uptime"
	DpkgLogPath   = "var/log/dpkg.log"
	EfivarsDir    = "sys/firmware/efi/efivars"
	// FwupdPendingDB is the pending-update database of fwupd before 1.0.4
	// (later releases keep the state in history.db, and their UEFI
	// capsule plugin stages an update by setting BootNext, which is read
	// here instead). Its presence alone counts.
	FwupdPendingDB = "var/lib/fwupd/pending.db"
)

// maxDpkgTail is how much of dpkg.log's end is read: lines since this boot
// are at the end, and the log may be many megabytes.
const maxDpkgTail = 1 << 20

// Gathered is what Gather read, with each file's problem kept aside: a
// file that cannot be read is a missing signal, never a failed decision.
type Gathered struct {
	Inputs
	Problems []error
}

// Gather reads the machine's side of Inputs under root ("/" on a running
// system): the restart marker and its packages, the running kernel and
// command line, dpkg's log since this boot, and the firmware's pending
// one-shot boots. The caller adds the plan, the probes and the flags.
func Gather(root string, now time.Time) Gathered {
	var g Gathered
	problem := func(err error) { g.Problems = append(g.Problems, err) }

	if st, err := rebootreq.Read(root); err != nil {
		problem(err)
	} else {
		g.RebootRequired = st.Required
		g.Pkgs = st.Packages
	}
	if b, err := readSmall(root, OsReleasePath, 256); err != nil {
		problem(err)
	} else {
		g.RunningKernel = strings.TrimSpace(string(b))
	}
	if b, err := readSmall(root, CmdlinePath, 8192); err != nil {
		problem(err)
	} else {
		g.RunningCmdline = strings.TrimSpace(string(b))
	}
	if boot, err := bootTime(root, now); err != nil {
		problem(err)
	} else if b, err := readTail(filepath.Join(root, DpkgLogPath), maxDpkgTail); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			problem(err)
		}
	} else {
		g.DpkgSinceBoot = ParseDpkgLog(b, boot, time.Local)
	}
	g.Firmware = firmware(root, problem)
	return g
}

// firmware lists what the firmware will do on its own at the next start,
// which a kexec would skip.
func firmware(root string, problem func(error)) FirmwareState {
	var fw FirmwareState
	dir := filepath.Join(root, EfivarsDir)
	if b, err := readSmall(root, filepath.Join(EfivarsDir, "BootNext-"+GlobalGUID), 64); err == nil {
		if n, err := ParseBootNext(b); err == nil {
			fw.Pending = append(fw.Pending, fmt.Sprintf("BootNext=Boot%04X", n))
		} else {
			problem(err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		problem(err)
	}
	if b, err := readSmall(root, filepath.Join(EfivarsDir, "OsIndications-"+GlobalGUID), 64); err == nil {
		if bits, err := ParseOsIndications(b); err == nil {
			if bits&OsIndFileCapsuleDeliver != 0 {
				fw.Pending = append(fw.Pending, "OsIndications: capsule on disk")
			}
			if bits&OsIndBootToFWUI != 0 {
				fw.Pending = append(fw.Pending, "OsIndications: firmware setup")
			}
		} else {
			problem(err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		problem(err)
	}
	// systemd-boot's one-shot entry or menu (systemctl reboot
	// --boot-loader-entry=, --boot-loader-menu=): the boot loader must run.
	for _, v := range []string{"LoaderEntryOneShot", "LoaderConfigTimeoutOneShot"} {
		if _, err := os.Lstat(filepath.Join(dir, v+"-"+LoaderGUID)); err == nil {
			fw.Pending = append(fw.Pending, v)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, FwupdPendingDB)); err == nil {
		fw.Pending = append(fw.Pending, "fwupd: "+"/"+FwupdPendingDB)
	}
	return fw
}

// bootTime is now minus /proc/uptime's first field.
func bootTime(root string, now time.Time) (time.Time, error) {
	b, err := readSmall(root, UptimePath, 128)
	if err != nil {
		return time.Time{}, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return time.Time{}, fmt.Errorf("%s: empty", UptimePath)
	}
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil || up < 0 || up > 1e10 {
		return time.Time{}, fmt.Errorf("%s: bad uptime %q", UptimePath, f[0])
	}
	return now.Add(-time.Duration(up * float64(time.Second))), nil
}

func readSmall(root, rel string, max int64) ([]byte, error) {
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", rel, err)
	}
	return b, nil
}

// readTail reads the last max bytes of p, from the start of a line.
func readTail(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	off := int64(0)
	if st.Size() > max {
		off = st.Size() - max
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, max))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	if off > 0 {
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b, nil
}
