//go:build gnomeshell

package gnomeshell

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// TestRealGnomeShellRunsTheExtension runs GNOME Shell 48 headless in a
// Debian 13 root (gnome-shell/test/chroot.sh, cached) with the extension
// enabled by the administrator's dconf defaults, against the real helper
// binary (fake kexec) on a private system bus with the polkit and logind
// stand-ins, and GnomeSessionStandIn on the Shell's session bus. The
// scenario (test/scenario.sh) drives the menu with virtual input devices;
// this side moves the helper's world between its phases and checks what the
// helper did. Screenshots: build/gnome-shell/ (RAPIDREBOOT_GNOME_SHELL_OUT).
//
// Root only (debootstrap, chroot, mounts); run by make test-gnome-shell.
func TestRealGnomeShellRunsTheExtension(t *testing.T) {
	t.Run("C", func(t *testing.T) { runShell(t, "C.UTF-8", "") })
	// German: GNOME's "Restart…" is found in gnome-shell's catalog, ours
	// come from the product's (make mo), the reason line too.
	t.Run("de", func(t *testing.T) {
		locale, _ := filepath.Abs("../build/locale")
		if _, err := os.Stat(filepath.Join(locale, "de/LC_MESSAGES/rapidreboot.mo")); err != nil {
			if os.Getenv("RAPIDREBOOT_REQUIRE_TOOLS") == "1" {
				t.Fatal("build/locale/de has no rapidreboot.mo (make mo)")
			}
			t.Skip("build/locale/de has no rapidreboot.mo (make mo)")
		}
		runShell(t, "de_DE.UTF-8", locale)
	})
}

func runShell(t *testing.T, lang, localeDir string) {
	if os.Getuid() != 0 {
		t.Skip("needs root (debootstrap, chroot, mount namespaces)")
	}
	start := time.Now()
	suite := os.Getenv("RAPIDREBOOT_GNOME_SHELL_SUITE") // "": trixie
	rootOut, err := exec.Command("test/chroot.sh", suite).Output()
	if err != nil {
		t.Fatalf("test/chroot.sh: %v", err)
	}
	chroot := strings.TrimSpace(string(rootOut))
	t.Logf("Debian root with GNOME Shell: %s (%.1f s)", chroot, time.Since(start).Seconds())

	out := os.Getenv("RAPIDREBOOT_GNOME_SHELL_OUT")
	if out == "" {
		out, _ = filepath.Abs("../build/gnome-shell")
	}
	out = filepath.Join(out, strings.SplitN(lang, ".", 2)[0])
	_ = os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}

	dir := bustest.ShortDir(t)
	helperRoot := bustest.NewHelperRoot(t)
	log := bustest.NewLogSink(t, dir)
	bus, err := bustest.StartSystemBus(dir, bustest.Activation(bustest.HelperBinary(t),
		"--test-root="+helperRoot, "--log-socket="+log.Path, "--idle-timeout=5m"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Stop)
	pk := bustest.NewPolkitStandIn(t, bus)
	pk.Always(bustest.Allow)
	li := bustest.NewLogindStandIn(t, bus)
	client := busapi.NewClient(bustest.NewConn(t, bus))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "test/run.sh", chroot, dir, out, lang, localeDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	answer := func(phase string) {
		if err := os.WriteFile(filepath.Join(dir, "go-"+phase), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	armed := func() bool {
		a, err := client.Armed(ctx)
		if err != nil {
			t.Fatalf("Armed: %v", err)
		}
		return a
	}
	// The helper's audit lines (backend/system/helper/log.go's Decision)
	// for a Prepare that loaded and an Unprepare that unloaded; the kexec
	// loads the fake recorded.
	count := func(parts ...string) int {
		n := 0
		for _, l := range log.Lines() {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l, p)
			}
			if all {
				n++
			}
		}
		return n
	}
	prepares := func() int { return count(" Prepare: sender=", "result=loaded, not armed") }
	unprepares := func() int { return count(" Unprepare: sender=", "result=unloaded") }
	loads := func() int {
		calls, _ := kexectest.ReadCalls(helperRoot)
		return kexectest.CountOp(calls, kexectest.OpLoad)
	}
	waitUntil := func(ok func() bool) bool {
		deadline := time.Now().Add(10 * time.Second)
		for !ok() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		return ok()
	}
	var preparedAt, loadsAt, preparesAt int
	phases := map[string]func(){
		// Quick Restart… on offer (Shift held, the menu open): prepared,
		// every earlier offer unprepared.
		"prepared": func() {
			if !waitUntil(func() bool { return prepares() == unprepares()+1 && kexectest.LoadedIn(helperRoot) }) || armed() {
				t.Errorf("Quick Restart… on offer: Prepare %d, Unprepare %d, kernel loaded %v, armed %v; want one Prepare more than Unprepare, loaded, not armed",
					prepares(), unprepares(), kexectest.LoadedIn(helperRoot), armed())
			}
			preparedAt = prepares()
			t.Logf("Quick Restart… on offer: the helper logged Prepare %d, Unprepare %d; kernel loaded %v", preparedAt, unprepares(), kexectest.LoadedIn(helperRoot))
		},
		// More key events with the key still held, then the menu closed
		// without a click: no second Prepare, unprepared, unloaded.
		"unprepared": func() {
			if !waitUntil(func() bool { return unprepares() == prepares() && !kexectest.LoadedIn(helperRoot) }) ||
				prepares() != preparedAt || armed() {
				t.Errorf("the menu closed without a click: Prepare %d (%d at the offer), Unprepare %d, kernel loaded %v, armed %v; want no new Prepare, one Unprepare each, unloaded, not armed",
					prepares(), preparedAt, unprepares(), kexectest.LoadedIn(helperRoot), armed())
			}
			t.Logf("the menu closed without a click: Prepare %d, Unprepare %d; kernel loaded %v", prepares(), unprepares(), kexectest.LoadedIn(helperRoot))
		},
		// A block inhibitor: the helper says Quick Restart is impossible.
		"1": func() {
			li.SetInhibitors(bustest.StandInInhibitor{What: "shutdown", Who: "Text Editor", Why: "Unsaved document", Mode: "block", UID: 1000, PID: 4242})
			plan, err := client.GetPlan(ctx)
			if err != nil || plan.Available {
				t.Fatalf("GetPlan with a block inhibitor: %+v, %v", plan, err)
			}
			for name, v := range map[string]string{
				"why":          plan.Sentence(nil),
				"why-template": reason.Template(plan.Reason),
				"why-detail":   plan.Detail,
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		},
		"2": func() {
			li.SetInhibitors()
			loadsAt, preparesAt = loads(), prepares()
		},
		// The end-session dialog is open: the click armed the helper, and
		// the kernel was loaded once: prepared when Quick Restart…
		// appeared, the click's Arm found it.
		"3": func() {
			if !armed() || !kexectest.LoadedIn(helperRoot) {
				t.Errorf("after Shift+click: armed %v, kernel loaded %v; want both", armed(), kexectest.LoadedIn(helperRoot))
			}
			// (The Prepare's reply may follow the Arm's when the Arm was
			// first in the helper's queue; it then loads nothing.)
			waitUntil(func() bool { return prepares()-preparesAt >= 1 })
			if l, p := loads()-loadsAt, prepares()-preparesAt; l != 1 || p != 1 {
				t.Errorf("Shift held, then the click: %d kexec loads, %d Prepare; want one of each (the click's Arm uses the prepared kernel)", l, p)
			}
			t.Logf("Shift held, then the click: %d kexec load, %d Prepare", loads()-loadsAt, prepares()-preparesAt)
		},
		// Cancelled in GNOME's dialog: disarmed and unloaded.
		"4": func() {
			waitUntil(func() bool { return !armed() })
			if armed() || kexectest.LoadedIn(helperRoot) {
				t.Errorf("after Cancel: armed %v, kernel loaded %v; want neither", armed(), kexectest.LoadedIn(helperRoot))
			}
		},
		"6": func() {
			if !armed() {
				t.Errorf("after the second Shift+click: not armed")
			}
		},
		// The boot menu asked for: disarmed, or the kexec would skip it.
		"7": func() {
			waitUntil(func() bool { return !armed() })
			if armed() || kexectest.LoadedIn(helperRoot) {
				t.Errorf("after the boot menu was asked for: armed %v, kernel loaded %v; want neither", armed(), kexectest.LoadedIn(helperRoot))
			}
		},
		"8": func() {
			if !armed() {
				t.Errorf("after the fourth Shift+click: not armed")
			}
		},
		// gnome-session's SessionRunning: the restart was cancelled there.
		"9": func() {
			waitUntil(func() bool { return !armed() })
			if armed() || kexectest.LoadedIn(helperRoot) {
				t.Errorf("after SessionRunning: armed %v, kernel loaded %v; want neither", armed(), kexectest.LoadedIn(helperRoot))
			}
		},
		// Confirmed: the arm stays for the reboot that gnome-session asks.
		"5": func() {
			time.Sleep(time.Second)
			if !armed() || !kexectest.LoadedIn(helperRoot) {
				t.Errorf("after the dialog's Restart: armed %v, kernel loaded %v; want both", armed(), kexectest.LoadedIn(helperRoot))
			}
		},
	}
	var steps []string
	done := false
	seen := map[string]bool{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			t.Log(l)
			steps = append(steps, l)
			if l == "DONE" {
				done = true
			}
		case <-tick.C:
			for p, f := range phases {
				if !seen[p] {
					if _, err := os.Stat(filepath.Join(dir, "phase-"+p)); err == nil {
						seen[p] = true
						f()
						answer(p)
					}
				}
			}
		}
	}
	err = cmd.Wait()
	if !done {
		t.Fatalf("scenario did not finish (%v); output in %s", err, out)
	}
	if r := li.Reboots(); len(r) != 0 {
		t.Errorf("logind stand-in was asked to reboot: %v (only gnome-session may ask, after the dialog)", r)
	}
	calls, _ := kexectest.ReadCalls(helperRoot)
	t.Logf("helper's kexec calls: loads %d, unloads %d; whole run %.1f s; screenshots in %s",
		kexectest.CountOp(calls, kexectest.OpLoad), kexectest.CountOp(calls, kexectest.OpUnload), time.Since(start).Seconds(), out)
}
