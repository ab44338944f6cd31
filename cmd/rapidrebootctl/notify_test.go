package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/notify/notifytest"
)

// The whole subcommand on a real private session bus: the notification
// server is notifytest's stand-in, the dialog a shell script that writes
// down its arguments, /run and /proc fake trees.
func TestWatchRebootRequiredPostsOnceAndOpensTheDialog(t *testing.T) {
	bus := bustest.NewBus(t, "session")
	server, err := notifytest.NewNotificationServerStandIn(bustest.NewConn(t, bus), "actions", "body")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "run"), 0o755)
	proc := filepath.Join(dir, "proc")
	os.MkdirAll(filepath.Join(proc, "sys/kernel/random"), 0o755)
	os.WriteFile(filepath.Join(proc, "sys/kernel/random/boot_id"), []byte("6f0c2a3e-1b7e-4c1d-9a43-0c1f5b2d9e10\n"), 0o644)
	opened := filepath.Join(dir, "opened")
	dialog := filepath.Join(dir, "dialog-stand-in")
	os.WriteFile(dialog, []byte("#!/bin/sh\necho \"$*\" >> "+opened+"\n"), 0o755)

	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Addr)
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	seams(t, withProc(proc))

	start := func() (stop func() (int, string)) {
		ctx, cancel := context.WithCancel(context.Background())
		opts := append(optionsOf(t), withWatchContext(func() (context.Context, context.CancelFunc) { return ctx, cancel }))
		var stdout, stderr bytes.Buffer
		done := make(chan int, 1)
		go func() {
			done <- run([]string{"--root", root, "watch-reboot-required", "--dialog", dialog}, &stdout, &stderr, opts...)
		}()
		return func() (int, string) {
			cancel()
			select {
			case code := <-done:
				return code, stderr.String()
			case <-time.After(5 * time.Second):
				t.Fatal("watch-reboot-required did not stop")
				return 0, ""
			}
		}
	}

	stop := start()
	os.WriteFile(filepath.Join(root, "run/reboot-required"), []byte("*** System restart required ***\n"), 0o644)
	os.WriteFile(filepath.Join(root, "run/reboot-required.pkgs"), []byte("linux-image-6.1.0-18-amd64\n"), 0o644)
	if !server.WaitPosted(1, 10*time.Second) {
		t.Fatal("no notification")
	}
	n := server.Posted()[0]
	// Not the live root: the helper is not asked, Quick Restart not offered.
	if got := strings.Join(n.ActionKeys(), " "); got != "default restart" {
		t.Errorf("actions %q", got)
	}
	if err := server.Invoke(n.ID, "restart"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var b []byte
	for time.Now().Before(deadline) {
		if b, _ = os.ReadFile(opened); len(b) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if string(b) != "--reason=updates\n" {
		t.Errorf("the dialog was opened with %q", b)
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}

	// The next session in the same boot: quiet.
	stop = start()
	time.Sleep(500 * time.Millisecond)
	if code, stderr := stop(); code != 0 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if got := len(server.Posted()); got != 1 {
		t.Errorf("posted %d notifications over two sessions, want 1", got)
	}
}

func TestWatchRebootRequiredUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an argument is a usage error", []string{"watch-reboot-required", "now"}, 2, "takes no arguments"},
		{"a relative dialog path is a usage error", []string{"watch-reboot-required", "--dialog", "rapidreboot"}, 2, "absolute path"},
		{"an unknown flag is a usage error", []string{"watch-reboot-required", "--nag"}, 2, "-nag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q", code, stderr.String())
			}
		})
	}
}

func TestWatchRebootRequiredWithoutASessionBusSaysSo(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sys/kernel/random"), 0o755)
	os.WriteFile(filepath.Join(dir, "sys/kernel/random/boot_id"), []byte("00aa0000-0000-4000-8000-000000000000\n"), 0o644)
	seams(t, withProc(dir))
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "no-bus"))
	t.Setenv("XDG_STATE_HOME", dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{"watch-reboot-required", "--dialog", "/bin/true"}, &stdout, &stderr, optionsOf(t)...)
	if code != 1 || !strings.Contains(stderr.String(), "cannot connect to the session bus") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
