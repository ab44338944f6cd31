package bustest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/assets"
)

// FakeKexecTag is the build tag that gives rapidreboot-helper the
// kexectest stand-in (mirrored on disk) and the --test-root flag. A
// binary built without it has neither.
const FakeKexecTag = "rapidreboot_fakekexec"

// HelperBinEnv names a prebuilt test helper (mk/helper.mk sets it), to
// spare each test binary its own build.
const HelperBinEnv = "RAPIDREBOOT_TEST_HELPER"

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// HelperBinary returns the path of rapidreboot-helper built with
// FakeKexecTag: $RAPIDREBOOT_TEST_HELPER, or a build made once per test
// process. The directory is readable by everyone (dbus-daemon execs it).
func HelperBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(HelperBinEnv); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rr-helper-bin")
		if err != nil {
			buildErr = err
			return
		}
		_ = os.Chmod(dir, 0o755)
		buildPath = filepath.Join(dir, "rapidreboot-helper")
		_, self, _, _ := runtime.Caller(0)
		modRoot := filepath.Join(filepath.Dir(self), "..", "..")
		cmd := exec.Command("go", "build", "-tags", FakeKexecTag, "-o", buildPath, "./cmd/rapidreboot-helper")
		cmd.Dir = modRoot
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("cannot build the test helper: %w\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Activation returns the shipped activation file with its Exec= line
// replaced by bin and args (one shell-free word each, as dbus-daemon
// splits them).
func Activation(bin string, args ...string) string {
	var out []string
	for _, line := range strings.Split(assets.Activation, "\n") {
		if strings.HasPrefix(line, "Exec=") {
			line = "Exec=" + strings.Join(append([]string{bin}, args...), " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// LogSink is a syslog socket the helper logs to in tests.
type LogSink struct {
	Path  string
	conn  *net.UnixConn
	mu    sync.Mutex
	lines []string
}

// NewLogSink listens on dir/log (a datagram socket like /dev/log).
func NewLogSink(t testing.TB, dir string) *LogSink {
	t.Helper()
	p := filepath.Join(dir, "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &LogSink{Path: p, conn: c}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.lines = append(s.lines, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return s
}

// Close stops listening, as a journal that went away: the next write of
// a connected writer fails.
func (s *LogSink) Close() { s.conn.Close() }

// Lines returns what was logged so far.
func (s *LogSink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// WaitFor waits up to d for a line containing every one of parts and
// returns it, or "".
func (s *LogSink) WaitFor(d time.Duration, parts ...string) string {
	deadline := time.Now().Add(d)
	for {
		for _, l := range s.Lines() {
			ok := true
			for _, p := range parts {
				if !strings.Contains(l, p) {
					ok = false
					break
				}
			}
			if ok {
				return l
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
}
