package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// QEMU 7.2's TCG keeps its translations across a reset and across a kexec.
// The translated code of the kernel that just ended stays attached to its
// pages (placed at random by KASLR, so every boot leaves new ones), and
// every store the next firmware or kernel makes into such a page is checked
// against all of them (page_collection_lock: 44 % of a stuck vCPU in perf).
// Boots then crawled or stalled: OVMF took minutes after a reset, and once a
// kexec'd kernel's modprobe hit the soft-lockup detector after 518 s.
//
// QEMU has no monitor command to empty that cache, but its gdbstub does it
// as a side effect: the VM's stop after a single step flushes every
// translation ("info jit": TB count 26363 → 261, TB flush count 0 → 1).
// So the harness single-steps one instruction through the gdbstub each
// time the guest leaves a kernel: when the console says systemd-shutdown's
// hooks ran or the kernel restarts, and on every QMP RESET. Nothing is lost
// but translations the next code would not have reused; gdb takes
// 0.15-0.3 s, most of it its own start-up, and the VM pauses for less.

// tbFlushTriggers are console lines that come as the old kernel's code is
// left for good, with how long to wait before flushing. The kernel's own
// "kexec_core: Starting new kernel" is hidden by "quiet" unless a test
// raised the log level; the image's systemd-shutdown hook prints its line
// always, but while the product's hook still runs (it waits for its
// siblings, then calls kexec): a flush then would make that hook's timed
// step translate its code anew (0.16 s beyond its siblings in one check,
// against 0.08-0.10 s without flushes), so that one waits two seconds.
var tbFlushTriggers = []struct {
	text  string
	delay time.Duration
}{
	{"@@SHUTDOWN-HOOK", 2 * time.Second},   // systemd-shutdown's hooks: kexec or reboot next
	{"kexec_core: Starting new kernel", 0}, // kernel_kexec(), when the log level shows it
	{"reboot: Restarting system", 0},       // a firmware reboot (KERN_EMERG: always shown)
}

// tbFlusher flushes in its own goroutine, so the console and QMP readers
// that ask for it never wait. Asks that come while one is pending merge.
type tbFlusher struct {
	sock  string
	qmp   *qmp
	kick  chan flushAsk
	last  time.Time // start of the last flush (run's goroutine only)
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	ok    int
	fails []string
	log   *os.File
}

func newTBFlusher(sock, logPath string, q *qmp) *tbFlusher {
	f := &tbFlusher{sock: sock, qmp: q, kick: make(chan flushAsk, 1), stop: make(chan struct{}), done: make(chan struct{})}
	f.log, _ = os.Create(logPath)
	go f.run()
	return f
}

// askAfter requests a flush after delay, unless one starts in between
// (a firmware reboot's "Restarting system" comes right after the hooks).
func (f *tbFlusher) askAfter(why string, delay time.Duration) {
	at := time.Now()
	if delay <= 0 {
		f.ask(flushAsk{why, at})
		return
	}
	time.AfterFunc(delay, func() { f.ask(flushAsk{why, at}) })
}

type flushAsk struct {
	why string
	at  time.Time // what happened; a flush started after it serves
}

// ask requests a flush; asks that come while one is pending merge.
func (f *tbFlusher) ask(a flushAsk) {
	select {
	case f.kick <- a:
	default:
	}
}

func (f *tbFlusher) run() {
	defer close(f.done)
	for {
		select {
		case <-f.stop:
			return
		case a := <-f.kick:
			if f.last.After(a.at) {
				continue
			}
			start := time.Now()
			f.last = start
			err := f.flush()
			f.mu.Lock()
			if err == nil {
				f.ok++
			} else {
				f.fails = append(f.fails, err.Error())
			}
			f.mu.Unlock()
			if f.log != nil {
				fmt.Fprintf(f.log, "%s flush after %q: %.0f ms, err %v\n", start.Format("15:04:05.000"), a.why, time.Since(start).Seconds()*1000, err)
			}
		}
	}
}

func (f *tbFlusher) close() {
	close(f.stop)
	<-f.done
	if f.log != nil {
		f.log.Close()
	}
}

// summary is for timeout messages: how many flushes worked, the last failure.
func (f *tbFlusher) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := fmt.Sprintf("%d translation-cache flushes", f.ok)
	if n := len(f.fails); n > 0 {
		s += fmt.Sprintf(", %d failed (last: %s)", n, f.fails[n-1])
	}
	return s
}

// flush has gdb connect to the gdbstub (which stops the VM), step one
// instruction (the stop after it flushes), and detach (which lets the VM
// run). gdb rather than a few lines of the remote protocol here: a bare
// "vCont;s" from such a client came back as an interrupt (T02) with no
// flush and left the VM paused, where gdb's own exchange works every time.
// If anything goes wrong the VM is let run through QMP: a stopped guest
// would fail the test for the harness's sake.
func (f *tbFlusher) flush() (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gdb", "-batch", "-nx",
		"-ex", "target remote "+f.sock, "-ex", "stepi", "-ex", "detach").CombinedOutput()
	if err == nil && !strings.Contains(string(out), "detached") {
		err = errors.New("no detach")
	}
	if err != nil {
		err = fmt.Errorf("gdb: %v: %s", err, lastLine(string(out)))
	}
	if st := f.status(); st != "" && st != "running" {
		f.resume()
		if err == nil {
			err = fmt.Errorf("the VM was %s after gdb detached; let it run", st)
		}
	}
	return err
}

func (f *tbFlusher) status() string {
	raw, err := f.qmp.command("query-status", nil, 10*time.Second)
	if err != nil {
		return ""
	}
	var st struct {
		Status string `json:"status"`
	}
	json.Unmarshal(raw, &st)
	return st.Status
}

func (f *tbFlusher) resume() {
	f.qmp.command("cont", nil, 10*time.Second)
}
