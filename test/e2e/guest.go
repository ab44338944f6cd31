package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timeouts under TCG on a shared 2-core machine: a boot takes about 40 s
// and a firmware reboot about 80 s, but either can take three times that.
const (
	BootTimeout    = 8 * time.Minute
	RestartTimeout = 10 * time.Minute
	CommandTimeout = 2 * time.Minute
)

// Config says how to start a guest.
type Config struct {
	Base    string // the cached base image (raw, read-only)
	Dir     string // per-guest files: overlay, OVMF vars, sockets, logs
	Accel   string // "tcg" or "kvm"
	Payload string // optional second disk (ext4, label "payload")
	MemMB   int
	CPUs    int
	Thread  string // TCG only: "multi" (default) or "single" (vcpu.go)
	// Tablet adds the absolute pointer of the desktop tests (tabletArgs,
	// display.go); off for every guest of today's tests.
	Tablet bool
	// Desktop is the desktop the desktop image's boots start ("gnome" or
	// "xfce", test/e2e/desktop), told through QEMU's firmware
	// configuration (desktopArgs); "" for every other guest.
	Desktop string
	// VGA "virtio" replaces the default std VGA with virtio-gpu-pci
	// (-vga none -device virtio-gpu-pci); "" keeps the std VGA.
	VGA string
	// CPU is qemu's -cpu under TCG ("": max). The desktop guests take
	// max without AVX2 (desktopCPU, display.go).
	CPU string
	// BootTimeout bounds the first boot (0: BootTimeout); a desktop
	// session under TCG takes longer than multi-user.target.
	BootTimeout time.Duration
	// ExtraArgs are added to qemu's command line (the desktop tests' second
	// QMP socket, to watch the screen while Start waits).
	ExtraArgs []string
}

// Boot is one boot of the guest as its marker line tells it.
type Boot struct {
	ID     string
	Kernel string
	At     time.Time // host time of the marker line
	Uptime float64   // guest seconds since its kernel started, at the marker
}

// Guest is one running qemu: the serial console, QMP, and the boot it is
// in. Methods are not safe for concurrent use: tests drive one guest at a
// time.
type Guest struct {
	cfg  Config
	cmd  *exec.Cmd
	con  *console
	qmp  *qmp
	log  *os.File
	exit chan error
	tbf  *tbFlusher // nil when QEMU runs with KVM
	disp *Display   // made by Display()

	Boot  Boot
	Boots []Boot
}

const ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
const ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"

// Start creates the copy-on-write overlay, starts qemu paused, connects the
// console and QMP, lets it run and waits for the first boot.
func Start(ctx context.Context, cfg Config) (*Guest, error) {
	if cfg.MemMB == 0 {
		cfg.MemMB = 2048
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 2
	}
	if cfg.Thread == "" {
		cfg.Thread = "multi"
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the guest directory: %w", err)
	}
	overlay := filepath.Join(cfg.Dir, "run.qcow2")
	os.Remove(overlay)
	if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-b", cfg.Base, "-F", "raw", overlay).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cannot create the overlay: %v: %s", err, out)
	}
	vars := filepath.Join(cfg.Dir, "OVMF_VARS.fd")
	if err := copyFile(ovmfVars, vars); err != nil {
		return nil, err
	}
	serialSock := filepath.Join(cfg.Dir, "serial.sock")
	qmpSock := filepath.Join(cfg.Dir, "qmp.sock")
	os.Remove(serialSock)
	os.Remove(qmpSock)
	gdbSock := filepath.Join(cfg.Dir, "gdb.sock")
	os.Remove(gdbSock)
	args := []string{
		"-name", "rapidreboot-e2e,debug-threads=on",
		"-machine", "q35",
		"-m", strconv.Itoa(cfg.MemMB), "-smp", strconv.Itoa(cfg.CPUs),
		"-drive", "if=pflash,format=raw,readonly=on,file=" + ovmfCode,
		"-drive", "if=pflash,format=raw,file=" + vars,
		"-drive", "file=" + overlay + ",format=qcow2,if=virtio,cache=unsafe",
		"-nic", "none",
		"-display", "none", // the default VGA stays: it gives the guest tty1
		"-serial", "unix:" + serialSock + ",server=on,wait=off",
		"-qmp", "unix:" + qmpSock + ",server=on,wait=off",
		"-gdb", "unix:" + gdbSock + ",server=on,wait=off", // for flushTB
		"-S", // paused until the console and QMP are connected: no line lost
	}
	if cfg.Accel == "kvm" {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		cpu := "max"
		if cfg.CPU != "" {
			cpu = cfg.CPU
		}
		args = append(args, "-accel", "tcg,thread="+cfg.Thread+tbSize(), "-cpu", cpu)
	}
	if cfg.Payload != "" {
		args = append(args, "-drive", "file="+cfg.Payload+",format=raw,if=virtio,readonly=on")
	}
	if cfg.Tablet {
		args = append(args, tabletArgs()...)
	}
	if cfg.Desktop != "" {
		args = append(args, desktopArgs(cfg.Desktop)...)
	}
	if cfg.VGA == "virtio" {
		args = append(args, "-vga", "none", "-device", "virtio-gpu-pci")
	}
	args = append(args, cfg.ExtraArgs...)
	logf, err := os.Create(filepath.Join(cfg.Dir, "console.log"))
	if err != nil {
		return nil, err
	}
	g := &Guest{cfg: cfg, log: logf, exit: make(chan error, 1)}
	g.cmd = exec.Command("qemu-system-x86_64", args...)
	qlog, err := os.Create(filepath.Join(cfg.Dir, "qemu.log"))
	if err != nil {
		return nil, err
	}
	g.cmd.Stdout, g.cmd.Stderr = qlog, qlog
	// qemu dies with the test binary, even on a panic or kill -9.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start qemu: %w", err)
	}
	go func() { g.exit <- g.cmd.Wait(); qlog.Close() }()

	if err := waitForSocket(serialSock, qmpSock, 20*time.Second, g.exit); err != nil {
		g.Kill()
		return nil, fmt.Errorf("%w (see %s)", err, filepath.Join(cfg.Dir, "qemu.log"))
	}
	conn, err := dialUnix(serialSock)
	if err != nil {
		g.Kill()
		return nil, err
	}
	g.con = newConsole(conn, logf)
	if g.qmp, err = dialQMP(qmpSock, 20*time.Second); err != nil {
		g.Kill()
		return nil, err
	}
	if cfg.Accel != "kvm" && os.Getenv("RAPIDREBOOT_E2E_TB_FLUSH") != "0" {
		g.tbf = newTBFlusher(gdbSock, filepath.Join(cfg.Dir, "tbflush.log"), g.qmp)
		onLine := func(s string) {
			for _, t := range tbFlushTriggers {
				if strings.Contains(s, t.text) {
					g.tbf.askAfter(t.text, t.delay)
				}
			}
		}
		onEvent := func(name string) {
			if name == "RESET" {
				g.tbf.askAfter("QMP RESET", 0)
			}
		}
		g.con.onLine.Store(&onLine)
		g.qmp.onEvent.Store(&onEvent)
	}
	mark := g.con.mark()
	if _, err := g.qmp.command("cont", nil, 20*time.Second); err != nil {
		g.Kill()
		return nil, err
	}
	timeout := BootTimeout
	if cfg.BootTimeout > 0 {
		timeout = cfg.BootTimeout
	}
	b, err := g.waitBoot(ctx, &mark, func(Boot) bool { return true }, timeout)
	if err != nil {
		g.Kill()
		return nil, err
	}
	g.Boot = b
	return g, nil
}

func waitForSocket(a, b string, timeout time.Duration, exit chan error) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, e1 := os.Stat(a)
		_, e2 := os.Stat(b)
		if e1 == nil && e2 == nil {
			return nil
		}
		select {
		case err := <-exit:
			exit <- err
			return fmt.Errorf("qemu exited at start: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("qemu did not create its sockets in %s", timeout)
}

var markerRE = regexp.MustCompile(`@@BOOTED boot_id=(\S+) kernel=(\S+) uptime=(\S+)`)

// waitBoot waits for a marker line that accept takes (a boot other than
// the current one, or a soft reboot's new userspace), then for the root
// command loop of that boot and the tty1 user's loop.
func (g *Guest) waitBoot(ctx context.Context, mark *int, accept func(Boot) bool, timeout time.Duration) (Boot, error) {
	deadline := time.Now().Add(timeout)
	var b Boot
	readyMark := *mark
	_, err := g.con.wait(mark, timeout, "boot marker", func(s string) bool {
		m := markerRE.FindStringSubmatch(s)
		if m == nil {
			return false
		}
		b.ID, b.Kernel = m[1], m[2]
		b.Uptime, _ = strconv.ParseFloat(m[3], 64)
		return accept(b)
	})
	if err != nil {
		return b, g.explain(err)
	}
	b.At = g.con.linesSince(*mark - 1)[0].At
	// The serial loop may have come up before or after the marker.
	if _, err := g.con.wait(&readyMark, time.Until(deadline), "root command loop", func(s string) bool {
		return strings.Contains(s, "@@READY "+b.ID)
	}); err != nil {
		return b, g.explain(err)
	}
	g.Boots = append(g.Boots, b)
	g.Boot = b
	// The tty1 autologin comes a little after multi-user.target.
	for {
		out, rc, err := g.Root(ctx, `test -p /run/e2e-user/fifo && cat /run/e2e-user/ready`, 30*time.Second)
		if err != nil {
			return b, err
		}
		if rc == 0 && strings.TrimSpace(out) == b.ID {
			return b, nil
		}
		if time.Now().After(deadline) {
			return b, fmt.Errorf("the tty1 user's command loop did not start in %s", timeout)
		}
		time.Sleep(time.Second)
	}
}

// explain adds qemu's exit, if it has exited, to err.
func (g *Guest) explain(err error) error {
	select {
	case e := <-g.exit:
		g.exit <- e
		return fmt.Errorf("%w (qemu exited: %v; see %s)", err, e, g.cfg.Dir)
	default:
		return fmt.Errorf("%w (console log: %s)", err, g.log.Name())
	}
}

// Root runs script with bash as root in the guest and returns its combined
// output and exit code. err is only for the harness (no answer, console
// gone), never for the script's own failure.
func (g *Guest) Root(ctx context.Context, script string, timeout time.Duration) (string, int, error) {
	mark := g.con.mark()
	id, err := g.con.send(script, timeout)
	if err != nil {
		return "", -1, err
	}
	out, rc, err := g.con.result(&mark, id, timeout+20*time.Second)
	if err != nil {
		err = g.explain(err)
	}
	return out, rc, err
}

// RootStart sends script to run as root and does not wait: for commands
// that end the boot.
func (g *Guest) RootStart(script string) error {
	_, err := g.con.send(script, time.Minute)
	return err
}

// userJob wraps script so that root hands it to the tty1 user's loop.
func userJob(script string, timeout time.Duration, wait bool) string {
	id := fmt.Sprintf("u%d", jobSeq.Add(1))
	enc := base64.StdEncoding.EncodeToString([]byte(script))
	s := fmt.Sprintf(`set -e
d=/run/e2e-user id=%s
[ -p "$d/fifo" ] || { echo "e2e: the tty1 user's command loop is not running" >&2; exit 253; }
echo %s | base64 -d >"$d/$id.sh"
chmod 0644 "$d/$id.sh"
timeout 10 sh -c 'echo "$1 $2" >"$3"' - "$id" %d "$d/fifo"
`, id, enc, int(timeout.Seconds()+0.999))
	if !wait {
		return s
	}
	return s + `set +e
while [ ! -e "$d/$id.rc" ]; do sleep 0.1; done
cat "$d/$id.out"
rc=$(cat "$d/$id.rc")
rm -f "$d/$id.sh" "$d/$id.out" "$d/$id.rc"
exit "$rc"
`
}

// User runs script with bash as the tty1 user (alice) inside her active
// seat0 session.
func (g *Guest) User(ctx context.Context, script string, timeout time.Duration) (string, int, error) {
	return g.Root(ctx, userJob(script, timeout, true), timeout+15*time.Second)
}

// UserStart hands script to the tty1 user and does not wait.
func (g *Guest) UserStart(ctx context.Context, script string) error {
	out, rc, err := g.Root(ctx, userJob(script, 5*time.Minute, false), 30*time.Second)
	if err == nil && rc != 0 {
		err = fmt.Errorf("cannot hand the job to the tty1 user (%d): %s", rc, out)
	}
	return err
}

// Restart is what one restart looked like from outside the guest.
type Restart struct {
	Requested time.Time
	HookAt    time.Time // the e2e stamp hook's line: systemd-shutdown reached its hooks
	Resets    []Event   // QMP RESET events between request and marker
	Firmware  bool      // firmware output on the console (OVMF's BdsDxe lines)
	Lines     []Line    // the console between request and marker
	From, To  Boot
}

// Wall is the time from the request to the marker of the new boot.
func (r Restart) Wall() time.Duration { return r.To.At.Sub(r.Requested) }

// ByKexec tells whether the restart skipped the firmware: no QMP RESET and
// no firmware output.
func (r Restart) ByKexec() bool { return len(r.Resets) == 0 && !r.Firmware }

func (r Restart) String() string {
	kind := "kexec"
	if !r.ByKexec() {
		kind = fmt.Sprintf("firmware (%d RESET, banner %v)", len(r.Resets), r.Firmware)
	}
	return fmt.Sprintf("%s in %.1f s, %s → %s", kind, r.Wall().Seconds(), r.From.Kernel, r.To.Kernel)
}

// RestartWith runs start (which asks the guest to restart somehow), waits
// for the next boot and reports how the guest came back.
func (g *Guest) RestartWith(ctx context.Context, start func() error) (Restart, error) {
	from := g.Boot.ID
	return g.restartWith(ctx, start, func(b Boot) bool { return b.ID != from })
}

// SoftRebootWith runs start (systemctl soft-reboot: systemd >= 254 stops
// and starts userspace only; the kernel and the boot id stay) and waits
// for the new userspace's marker: the same boot id, a later uptime. The
// tty1 user's ready file is removed first, so that the old loop's cannot
// be taken for the new one's.
func (g *Guest) SoftRebootWith(ctx context.Context, start func() error) (Restart, error) {
	from := g.Boot
	if _, rc, err := g.Root(ctx, "rm -f /run/e2e-user/ready", 30*time.Second); err != nil || rc != 0 {
		return Restart{From: from}, fmt.Errorf("cannot remove the tty1 loop's ready file (rc %d): %v", rc, err)
	}
	return g.restartWith(ctx, start, func(b Boot) bool { return b.ID == from.ID && b.Uptime > from.Uptime })
}

func (g *Guest) restartWith(ctx context.Context, start func() error, accept func(Boot) bool) (Restart, error) {
	r := Restart{From: g.Boot}
	mark := g.con.mark()
	qmark := g.qmp.mark()
	r.Requested = time.Now()
	if err := start(); err != nil {
		return r, err
	}
	m := mark
	b, err := g.waitBoot(ctx, &m, accept, RestartTimeout)
	r.To = b
	r.Lines = g.con.linesSince(mark)
	for _, l := range r.Lines {
		if l.At.After(b.At) {
			break
		}
		switch {
		case strings.Contains(l.Text, "@@SHUTDOWN-HOOK") && r.HookAt.IsZero():
			r.HookAt = l.At
		case strings.Contains(l.Text, "BdsDxe"):
			r.Firmware = true
		}
	}
	for _, e := range g.qmp.since(qmark, "RESET") {
		if b.At.IsZero() || e.At.Before(b.At) {
			r.Resets = append(r.Resets, e)
		}
	}
	if err != nil {
		// Say where it stopped: in the old system, in the firmware after a
		// reset (the product's part was over), or in the new boot.
		last := "none"
		if n := len(r.Lines); n > 0 {
			l := r.Lines[n-1]
			last = fmt.Sprintf("%q %.0f s before the timeout", l.Text, time.Since(l.At).Seconds())
		}
		err = fmt.Errorf("%w; %d QMP RESET since the request, firmware output %v, last console line %s; %s; qemu threads' CPU time: %s",
			err, len(r.Resets), r.Firmware, last, g.TBFlushes(), g.threadCPU())
	}
	return r, err
}

// TBFlushes says how many translation-cache flushes the harness made.
func (g *Guest) TBFlushes() string {
	if g.tbf == nil {
		return "no translation-cache flushes (off)"
	}
	return g.tbf.summary()
}

// FlushCount is QEMU's own count of translation-cache flushes ("info jit").
func (g *Guest) FlushCount() (int, error) {
	raw, err := g.qmp.command("human-monitor-command", map[string]any{"command-line": "info jit"}, 20*time.Second)
	if err != nil {
		return 0, err
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, fmt.Errorf("info jit: %w", err)
	}
	m := regexp.MustCompile(`TB flush count\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("info jit has no TB flush count: %q", out)
	}
	return strconv.Atoi(m[1])
}

// threadCPU lists qemu's threads with the CPU seconds each has used, so a
// stalled boot shows whether a vCPU spins (an emulator stall) or idles
// (the guest waits for something).
func (g *Guest) threadCPU() string {
	if g.cmd == nil || g.cmd.Process == nil {
		return "?"
	}
	dir := fmt.Sprintf("/proc/%d/task", g.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "stat"))
		if err != nil {
			continue
		}
		// comm is in parentheses and may hold spaces; fields follow ")".
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		parts = append(parts, fmt.Sprintf("%s %.0f s", s[open+1:close], (ut+st)/100))
	}
	return strings.Join(parts, ", ")
}

// Reset pulls the guest's reset line, as a person presses the button.
func (g *Guest) Reset() error {
	_, err := g.qmp.command("system_reset", nil, 20*time.Second)
	return err
}

// WaitNextBoot waits for a boot other than the current one, reading the
// console from mark (taken before the reset or request).
func (g *Guest) WaitNextBoot(ctx context.Context, mark int) (Boot, error) {
	from := g.Boot.ID
	return g.waitBoot(ctx, &mark, func(b Boot) bool { return b.ID != from }, RestartTimeout)
}

// ConsoleMark and ConsoleSince give tests the raw console.
func (g *Guest) ConsoleMark() int             { return g.con.mark() }
func (g *Guest) ConsoleSince(mark int) []Line { return g.con.linesSince(mark) }
func (g *Guest) ConsoleLog() string           { return g.log.Name() }
func (g *Guest) Dir() string                  { return g.cfg.Dir }
func (g *Guest) WaitConsole(mark *int, timeout time.Duration, what string, match func(string) bool) (Line, error) {
	return g.con.wait(mark, timeout, what, match)
}

// Alive tells whether qemu still runs.
func (g *Guest) Alive() bool {
	select {
	case e := <-g.exit:
		g.exit <- e
		return false
	default:
		return true
	}
}

// Stop asks qemu to quit and kills it if it does not within 10 s. The
// guest's disk is a throw-away overlay, so nothing needs a clean shutdown.
func (g *Guest) Stop() {
	if g.tbf != nil {
		g.tbf.close()
		g.tbf = nil
	}
	if g.qmp != nil {
		g.qmp.command("quit", nil, 5*time.Second)
	}
	select {
	case e := <-g.exit:
		g.exit <- e
	case <-time.After(10 * time.Second):
		g.Kill()
	}
	g.closeAll()
}

// Kill ends qemu at once.
func (g *Guest) Kill() {
	if g.cmd != nil && g.cmd.Process != nil {
		syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case e := <-g.exit:
			g.exit <- e
		case <-time.After(10 * time.Second):
		}
	}
	g.closeAll()
}

func (g *Guest) closeAll() {
	if g.tbf != nil {
		g.tbf.close()
		g.tbf = nil
	}
	if g.qmp != nil {
		g.qmp.close()
		g.qmp = nil
	}
	if g.con != nil {
		g.con.conn.Close()
		<-g.con.done
		g.con = nil
	}
	g.log.Close()
}

func dialUnix(path string) (net.Conn, error) {
	conn, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the serial console: %w", err)
	}
	return conn, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", from, err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", to, err)
	}
	return nil
}

// tbSize sets the size of TCG's translation cache. Before the harness
// flushed it at every kernel's end (tbflush.go), a 256 MiB cache bounded
// the stale translations that slowed every boot after a reset or kexec
// (OVMF after a reset: 5.6-9.6 s, against minutes with QEMU's default
// 1 GiB); with the flushes QEMU's default is best again: fewer forced
// flushes while a boot runs (eight with 256 MiB in the first boot and the
// package's install alone), and short-lived programs are not translated
// anew each time (rapidrebootctl arm / kexec -s -l: 1.46 with 64 MiB,
// 1.14-1.23 with 256 MiB).
// RAPIDREBOOT_E2E_TB_SIZE (MiB) sets it; unset or 0 leaves QEMU's default.
func tbSize() string {
	v := os.Getenv("RAPIDREBOOT_E2E_TB_SIZE")
	if v == "" || v == "0" {
		return ""
	}
	return ",tb-size=" + v
}
