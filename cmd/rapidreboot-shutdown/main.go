// rapidreboot-shutdown is the systemd-shutdown hook of Quick Restart,
// installed as /usr/lib/systemd/system-shutdown/rapidreboot, and the
// program of rapidreboot-boot.service. It is the one place in the product
// that calls reboot(2). docs/reboot-design.md says when and why.
//
//	rapidreboot-shutdown reboot|poweroff|halt|kexec   as systemd-shutdown runs it
//	rapidreboot-shutdown --verify                     ExecStop, while /boot is mounted
//	rapidreboot-shutdown --boot                       early in every boot
//	rapidreboot-shutdown --came-up                    after multi-user.target
//	rapidreboot-shutdown --clear-failed               switch Quick Restart back on
//
// It always exits 0 in hook mode: whatever it decides, systemd must go on
// with the shutdown.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/cmd/rapidreboot-shutdown/internal/hook"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

const usage = "usage: rapidreboot-shutdown reboot|poweroff|halt|kexec | --verify | --boot | --came-up | --clear-failed"

func run(args []string) int {
	if len(args) != 1 || !known(args[0]) {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	log := newKmsg()
	defer log.Close()
	c := hook.Live(hook.Real(), log)
	switch a := args[0]; a {
	case "--verify":
		hook.Verify(c)
		hook.RecordShutdown(c) // after the dpkg wait: as late as /var allows
	case "--boot":
		hook.Boot(c)
		hook.BootGap(c, hook.LiveClocks())
	case "--came-up":
		hook.CameUp(c)
	case "--clear-failed":
		if err := armstate.ClearFailed(filepath.Join("/", armstate.StateDir)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		log.Logf("Quick Restart switched back on by the administrator")
	default:
		hook.Shutdown(c, a)
	}
	return 0
}

// known accepts the modes and any verb: systemd may one day pass a verb
// this program does not know, and the hook must then do nothing, quietly.
func known(a string) bool {
	switch a {
	case "--verify", "--boot", "--came-up", "--clear-failed":
		return true
	}
	return a != "" && !strings.HasPrefix(a, "-")
}

// kmsg writes each line as one kernel log record: at the hook's time the
// journal has stopped and the console may be gone, but the kernel log
// survives into pstore and the serial console. If /dev/kmsg cannot be
// written the line goes to stderr instead (attack list row 49: logging is
// never fatal, never silent).
type kmsg struct{ f *os.File }

func newKmsg() *kmsg {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rapidreboot: cannot open /dev/kmsg: %v\n", err)
		return &kmsg{}
	}
	return &kmsg{f: f}
}

func (k *kmsg) Logf(format string, args ...any) {
	line := "rapidreboot: " + strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
	if k.f != nil {
		// <5> is "notice": shown on a console at the default log level.
		if _, err := k.f.WriteString("<5>" + line + "\n"); err == nil {
			return
		}
	}
	fmt.Fprintln(os.Stderr, line)
}

func (k *kmsg) Close() {
	if k.f != nil {
		k.f.Close()
	}
}
