package hook

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/kexecstate"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
)

// Real returns the running kernel as a System. RebootKexec and Unload
// refuse inside a Go test binary (kexec.ErrRefusedInTest), like every
// real kexec call.
func Real() System { return realSystem{} }

type realSystem struct{}

func (realSystem) Sync() { unix.Sync() }

// RebootKexec is the product's kexec call to reboot(2).
func (realSystem) RebootKexec() error {
	if kexec.InTestBinary() {
		return kexec.ErrRefusedInTest
	}
	return unix.Reboot(unix.LINUX_REBOOT_CMD_KEXEC)
}

// RebootFirmware is reboot(LINUX_REBOOT_CMD_RESTART): only for an image
// that failed the checks, could not be unloaded and would otherwise be
// kexec'd by systemd-shutdown.
func (realSystem) RebootFirmware() error {
	if kexec.InTestBinary() {
		return kexec.ErrRefusedInTest
	}
	return unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
}

func (realSystem) KexecLoaded() (bool, error) { return kexecstate.Loaded("/sys") }

func (realSystem) Unload() error { return kexec.Unload(kexec.Real()) }

// ShutdownTarget asks systemd which shutdown target it is starting, the
// way Debian's kexec-load script does (systemctl list-jobs), with a fixed
// argv and environment; without systemd, it reads the runlevel that rc
// passes to stop scripts.
func (realSystem) ShutdownTarget() string {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		// sysvinit: rc runs the stop scripts with the target runlevel.
		switch os.Getenv("RUNLEVEL") {
		case "0":
			return "poweroff"
		case "6":
			return "reboot"
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/systemctl", "list-jobs", "--no-legend", "--no-pager", "--plain")
	if _, err := os.Stat(cmd.Path); err != nil {
		cmd = exec.CommandContext(ctx, "/bin/systemctl", cmd.Args[1:]...)
	}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SYSTEMD_COLORS=0"}
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return ParseJobs(out)
}

// ParseJobs picks the shutdown target from `systemctl list-jobs` output
// ("123 reboot.target start waiting"); two different shutdown targets make
// it unknown.
func ParseJobs(out []byte) string {
	found := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		var t string
		switch f[1] {
		case "reboot.target":
			t = "reboot"
		case "kexec.target":
			t = "kexec"
		case "poweroff.target":
			t = "poweroff"
		case "halt.target":
			t = "halt"
		case "soft-reboot.target":
			t = "soft-reboot"
		default:
			continue
		}
		if found != "" && found != t {
			return ""
		}
		found = t
	}
	return found
}
