//go:build gui

package gui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/testtool"
	"github.com/rapidreboot/rapidreboot/ui/model"
	"github.com/rapidreboot/rapidreboot/ui/uitest"
)

// Shared by every test: one Xvfb, one built dialog.
var (
	display string
	binary  string
	repo    string
	workDir string
)

const python = "/usr/bin/python3" // Debian's, which has pyatspi and Xlib

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// missingTool, when set, names what the GUI tests need and this machine
// lacks: each test then skips, naming it (newHarness).
var missingTool string

// requireTools is how make check runs the tests: its first step installed
// every tool (make deps), so a missing one is a failure, never a pass.
const requireTools = testtool.RequireEnv

func run(m *testing.M) int {
	if missingTool = findMissingTool(); missingTool != "" {
		if os.Getenv(requireTools) == "1" {
			fmt.Printf("FAIL: the GUI tests need %s; %s=1 (make check) does not let them skip\n", missingTool, requireTools)
			return 1
		}
		fmt.Printf("SKIP: the GUI tests need %s\n", missingTool)
		return m.Run()
	}
	var err error
	workDir, err = os.MkdirTemp("", "rapidreboot-gui-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(workDir)
	repo, _ = filepath.Abs("../..")
	binary = filepath.Join(workDir, "rapidreboot")
	if b := os.Getenv("RAPIDREBOOT_BIN"); b != "" {
		binary = b
	} else {
		// The test build: the shipped dialog has no fake root and no trace.
		build := exec.Command("go", "build", "-tags", "rapidreboot_testhooks", "-o", binary, "./cmd/rapidreboot")
		build.Dir = repo
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Println("cannot build the dialog:", err)
			return 1
		}
	}
	if err := compileCatalogs(filepath.Join(workDir, "locale")); err != nil {
		fmt.Println(err)
		return 1
	}
	xvfb, disp, err := startXvfb()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	display = disp
	defer func() {
		xvfb.Process.Kill()
		xvfb.Wait()
	}()
	return m.Run()
}

// findMissingTool names the first program or Python module the tests need
// that is not installed, with its Debian package; "" if none is missing.
func findMissingTool() string {
	for _, tool := range []struct{ name, pkg string }{
		{"Xvfb", "xvfb"}, {"xdotool", "xdotool"}, {"dbus-daemon", "dbus-daemon"},
		{"import", "imagemagick"}, {"msgfmt", "gettext"}, {python, "python3"},
	} {
		if _, err := exec.LookPath(tool.name); err != nil {
			return fmt.Sprintf("%s (package %s, scripts/deps/gui.txt, make deps)", tool.name, tool.pkg)
		}
	}
	for _, mod := range []struct{ name, pkg string }{{"pyatspi", "python3-pyatspi"}, {"Xlib", "python3-xlib"}} {
		if err := exec.Command(python, "-c", "import "+mod.name).Run(); err != nil {
			return fmt.Sprintf("the Python module %s (package %s, scripts/deps/gui.txt, make deps)", mod.name, mod.pkg)
		}
	}
	return ""
}

// compileCatalogs compiles po/*.po for the dialog's translated runs.
func compileCatalogs(dir string) error {
	files, _ := filepath.Glob(filepath.Join(repo, "po", "*.po"))
	for _, f := range files {
		lang := strings.TrimSuffix(filepath.Base(f), ".po")
		out := filepath.Join(dir, lang, "LC_MESSAGES")
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		if b, err := exec.Command("msgfmt", "-o", filepath.Join(out, "rapidreboot.mo"), f).CombinedOutput(); err != nil {
			return fmt.Errorf("msgfmt %s: %v\n%s", f, err, b)
		}
	}
	return nil
}

// startXvfb starts Xvfb on a display number it picks itself (-displayfd),
// so parallel runs and a developer's own displays do not collide.
func startXvfb() (*exec.Cmd, string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1920x1200x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("cannot start Xvfb: %w", err)
	}
	w.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, "", fmt.Errorf("Xvfb gave no display number")
		}
		return cmd, ":" + n, nil
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", fmt.Errorf("Xvfb did not start within 15 s")
	}
}

// harness is one dialog's world: a private session bus with a
// session-manager stand-in, a private system bus with logind and helper
// stand-ins.
type harness struct {
	t      *testing.T
	dir    string
	sess   *bustest.Bus
	sys    *bustest.Bus
	logind *bustest.LogindStandIn
	helper *uitest.HelperStandIn
	gnome  *bustest.GnomeSMStandIn // nil with noSM or withSM
	other  recorder                // withSM's stand-in
	env    []string
}

type setup struct {
	noSM, noHelper bool
	inhibitors     []bustest.GnomeInhibitor
	other          string // "xfce", "kde" or "lxqt" instead of GNOME
}

type option func(*setup)

// noSM leaves the session bus without a session manager (logind fallback).
func noSM(s *setup) { s.noSM = true }

// noHelper leaves rapidreboot-helper out, as on a system without it.
func noHelper(s *setup) { s.noHelper = true }

// withSM replaces the GNOME stand-in by another session manager's.
func withSM(name string) option { return func(s *setup) { s.other = name } }

func withInhibitors(in ...bustest.GnomeInhibitor) option {
	return func(s *setup) { s.inhibitors = in }
}

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	if missingTool != "" {
		t.Skipf("needs %s", missingTool)
	}
	var cfg setup
	for _, o := range opts {
		o(&cfg)
	}
	h := &harness{t: t, dir: t.TempDir()}
	h.sess = bustest.NewBus(t, "session", "org.a11y.Bus")
	h.sys = bustest.NewBus(t, "system")
	var err error
	h.logind, err = bustest.StartLogindStandIn(bustest.NewConn(t, h.sys), map[string]string{"CanHibernate": "no"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.noHelper {
		h.helper, err = uitest.NewHelperStandIn(bustest.NewConn(t, h.sys), uitest.Plan("6.1.0-27-amd64"))
		if err != nil {
			t.Fatal(err)
		}
	}
	switch {
	case cfg.noSM:
	case cfg.other == "xfce":
		h.other, err = bustest.NewXfceSMStandIn(bustest.NewConn(t, h.sess))
	case cfg.other == "kde":
		h.other, err = bustest.NewKDEStandIn(bustest.NewConn(t, h.sess))
	case cfg.other == "lxqt":
		h.other, err = bustest.NewLXQtStandIn(bustest.NewConn(t, h.sess))
	default:
		h.gnome, err = bustest.NewGnomeSMStandIn(bustest.NewConn(t, h.sess), false, cfg.inhibitors)
	}
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(h.dir, "root", "run"), 0o755)
	os.MkdirAll(filepath.Join(h.dir, "root", "sys", "kernel"), 0o755)
	os.WriteFile(filepath.Join(h.dir, "root", "sys", "kernel", "kexec_loaded"), []byte("0\n"), 0o644)
	os.MkdirAll(filepath.Join(h.dir, "config"), 0o755)
	h.env = []string{
		"DISPLAY=" + display,
		"DBUS_SESSION_BUS_ADDRESS=" + h.sess.Addr,
		"DBUS_SYSTEM_BUS_ADDRESS=" + h.sys.Addr,
		"RAPIDREBOOT_TEST_ROOT=" + filepath.Join(h.dir, "root"),
		"XDG_CONFIG_HOME=" + filepath.Join(h.dir, "config"),
		"XDG_CONFIG_DIRS=" + filepath.Join(h.dir, "etc-xdg"),
		"XDG_CURRENT_DESKTOP=GNOME",
		"XDG_SESSION_ID=7",
		"HOME=" + h.dir,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
		"RAPIDREBOOT_LOCALEDIR=" + filepath.Join(workDir, "locale"),
		"GTK_THEME=Adwaita",
		"GDK_BACKEND=x11",
		// One place for GTK's own accessibility bus per test.
		"XDG_RUNTIME_DIR=" + h.dir,
	}
	return h
}

// config writes the user's dialog.conf.
func (h *harness) config(body string) {
	d := filepath.Join(h.dir, "config", "rapidreboot")
	os.MkdirAll(d, 0o755)
	if err := os.WriteFile(filepath.Join(d, "dialog.conf"), []byte(body), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// rebootRequired writes /run/reboot-required(.pkgs) in the fake root.
func (h *harness) rebootRequired(pkgs string) {
	run := filepath.Join(h.dir, "root", "run")
	os.WriteFile(filepath.Join(run, "reboot-required"), []byte("*** System restart required ***\n"), 0o644)
	os.WriteFile(filepath.Join(run, "reboot-required.pkgs"), []byte(pkgs), 0o644)
}

// dlg is one running dialog.
type dlg struct {
	h     *harness
	cmd   *exec.Cmd
	trace string
	xid   string
	done  chan error
	out   *bytes.Buffer
}

// setenv adds or replaces environment variables of the dialog.
func (h *harness) setenv(kv ...string) {
	for _, e := range kv {
		k, _, _ := strings.Cut(e, "=")
		for i, old := range h.env {
			if strings.HasPrefix(old, k+"=") {
				h.env = append(h.env[:i], h.env[i+1:]...)
				break
			}
		}
		h.env = append(h.env, e)
	}
}

func (h *harness) start(args ...string) *dlg {
	h.t.Helper()
	d := h.launch(args...)
	d.waitTrace(0, "mapped", 20*time.Second)
	m := regexp.MustCompile(`xid=(0x[0-9a-f]+)`).FindStringSubmatch(d.lines()[d.find(0, "mapped")])
	if m == nil || m[1] == "0x0" {
		h.t.Fatalf("no X window id in the trace")
	}
	d.xid = m[1]
	d.waitTrace(0, "plan available=", 20*time.Second)
	d.waitTrace(0, "session manager=", 20*time.Second)
	// Without a window manager the keyboard focus must be given.
	d.focus()
	return d
}

func (h *harness) launch(args ...string) *dlg {
	h.t.Helper()
	d := &dlg{h: h, trace: filepath.Join(h.dir, fmt.Sprintf("trace-%d", time.Now().UnixNano())), done: make(chan error, 1), out: &bytes.Buffer{}}
	d.cmd = exec.Command(binary, args...)
	d.cmd.Env = append(append([]string(nil), h.env...), "RAPIDREBOOT_TRACE="+d.trace)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	h.t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
		if h.t.Failed() {
			h.t.Logf("dialog output:\n%s\ntrace:\n%s", d.out, strings.Join(d.lines(), "\n"))
		}
	})
	return d
}

func (d *dlg) lines() []string {
	b, _ := os.ReadFile(d.trace)
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// mark is the number of trace lines so far; waits after it see only new ones.
func (d *dlg) mark() int { return len(d.lines()) }

func (d *dlg) find(from int, substr string) int {
	ls := d.lines()
	for i := from; i < len(ls); i++ {
		if strings.Contains(ls[i], substr) {
			return i
		}
	}
	return -1
}

// waitTrace waits for a trace line containing substr after line from.
func (d *dlg) waitTrace(from int, substr string, timeout time.Duration) string {
	d.h.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if i := d.find(from, substr); i >= 0 {
			return d.lines()[i]
		}
		select {
		case err := <-d.done:
			d.done <- err
			d.h.t.Fatalf("the dialog exited (%v) before %q", err, substr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.h.t.Fatalf("no %q in the trace within %v", substr, timeout)
	return ""
}

// state returns the last "state" line's restart button name, sensitivity and info.
func (d *dlg) state() (name string, sensitive bool, info string) {
	ls := d.lines()
	re := regexp.MustCompile(`state restart="([^"]*)" sensitive=(\w+) info="((?:[^"\\]|\\.)*)"`)
	for i := len(ls) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(ls[i]); m != nil {
			info, _ := strconv.Unquote(`"` + m[3] + `"`)
			return m[1], m[2] == "true", info
		}
	}
	return "", false, ""
}

// waitLabel waits until the Restart button reads want.
func (d *dlg) waitLabel(want string) {
	d.h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if name, _, _ := d.state(); name == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	name, _, _ := d.state()
	d.h.t.Fatalf("Restart button reads %q, want %q", name, want)
}

// settle gives GTK time to handle events that must change nothing.
func settle() { time.Sleep(300 * time.Millisecond) }

func (d *dlg) xdotool(args ...string) {
	d.h.t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = []string{"DISPLAY=" + display}
	if out, err := cmd.CombinedOutput(); err != nil {
		d.h.t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
}

func (d *dlg) focus() {
	d.h.t.Helper()
	d.xfocus(d.xid)
}

func (d *dlg) xfocus(target string) {
	d.h.t.Helper()
	cmd := exec.Command(python, filepath.Join(repo, "test/gui/xfocus.py"), target)
	cmd.Env = []string{"DISPLAY=" + display}
	if out, err := cmd.CombinedOutput(); err != nil {
		d.h.t.Fatalf("xfocus %s: %v\n%s", target, err, out)
	}
}

// hold presses keys and keeps them down until the returned release runs:
// an xdotool process keeps a key pressed only while it stays connected.
func hold(t *testing.T, keys ...string) (release func()) {
	t.Helper()
	args := []string{"keydown"}
	args = append(args, keys...)
	args = append(args, "sleep", "60")
	cmd := exec.Command("xdotool", args...)
	cmd.Env = []string{"DISPLAY=" + display}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// keydown is sent at once; give the server a moment.
	time.Sleep(150 * time.Millisecond)
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		up := exec.Command("xdotool", append([]string{"keyup"}, keys...)...)
		up.Env = cmd.Env
		up.Run()
		cmd.Process.Kill()
		cmd.Wait()
	}
	t.Cleanup(release)
	return release
}

// geom returns the latest allocation of a button, relative to the window.
func (d *dlg) geom(button string) (x, y, w, h int) {
	d.h.t.Helper()
	ls := d.lines()
	re := regexp.MustCompile(`geom ` + button + ` x=(-?\d+) y=(-?\d+) w=(\d+) h=(\d+) visible=(\w+)`)
	for i := len(ls) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(ls[i]); m != nil {
			if m[5] != "true" {
				d.h.t.Fatalf("button %s is not visible", button)
			}
			x, _ = strconv.Atoi(m[1])
			y, _ = strconv.Atoi(m[2])
			w, _ = strconv.Atoi(m[3])
			h, _ = strconv.Atoi(m[4])
			return
		}
	}
	d.h.t.Fatalf("no geometry for %s", button)
	return
}

// click clicks a button with the pointer (holding whatever keys are held).
func (d *dlg) click(button string) {
	d.h.t.Helper()
	d.quiet()
	x, y, w, h := d.geom(button)
	d.xdotool("mousemove", "--window", d.xid, strconv.Itoa(x+w/2), strconv.Itoa(y+h/2))
	time.Sleep(50 * time.Millisecond)
	d.xdotool("click", "1")
}

// quiet waits until the dialog has traced nothing for a moment, so that a
// relayout after the last change (a longer line, a new button) is done and
// the button geometry is current.
func (d *dlg) quiet() {
	n, since := d.mark(), time.Now()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		time.Sleep(25 * time.Millisecond)
		if m := d.mark(); m != n {
			n, since = m, time.Now()
		} else if time.Since(since) >= 150*time.Millisecond {
			return
		}
	}
}

// a11y is the screen reader's view of the dialog.
type a11y struct {
	Buttons []struct {
		Name, Description  string
		Sensitive, Showing bool
	}
	Labels []struct {
		Name    string
		Showing bool
	}
}

// a11y reads the screen reader's view, and checks that it names the
// Restart button as it is drawn (the trace's restart=, GTK's label text).
func (d *dlg) a11y() a11y {
	d.h.t.Helper()
	var last error
	var unlike *a11y
	for try := 0; try < 3; try++ {
		cmd := exec.Command(python, filepath.Join(repo, "test/gui/atspi.py"), strconv.Itoa(d.cmd.Process.Pid))
		cmd.Env = []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + d.h.sess.Addr, "XDG_RUNTIME_DIR=" + d.h.dir, "HOME=" + d.h.dir}
		out, err := cmd.Output()
		if err == nil {
			var a a11y
			if err := json.Unmarshal(out, &a); err != nil {
				d.h.t.Fatalf("atspi.py: %v\n%s", err, out)
			}
			if len(a.Buttons) != int(model.NButtons) {
				d.h.t.Fatalf("a screen reader sees %d buttons, the dialog has %d", len(a.Buttons), model.NButtons)
			}
			drawn, _, _ := d.state()
			if spoken := a.Buttons[model.BRestart].Name; spoken != drawn {
				// Names reach AT-SPI asynchronously: look again.
				unlike, last = &a, fmt.Errorf("a screen reader hears the Restart button as %q while it is drawn %q", spoken, drawn)
				time.Sleep(300 * time.Millisecond)
				continue
			}
			return a
		}
		last = fmt.Errorf("%v: %s", err, out)
		time.Sleep(300 * time.Millisecond)
	}
	if unlike != nil {
		d.h.t.Error(last)
		return *unlike
	}
	d.h.t.Fatalf("atspi.py: %v", last)
	return a11y{}
}

// button finds the showing button a screen reader would call name.
func (a a11y) button(name string) (found, sensitive bool, desc string) {
	for _, b := range a.Buttons {
		if b.Name == name && b.Showing {
			return true, b.Sensitive, b.Description
		}
	}
	return false, false, ""
}

// waitExit waits for the dialog to quit by itself.
func (d *dlg) waitExit(timeout time.Duration) {
	d.h.t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			d.h.t.Errorf("dialog exited with %v", err)
		}
	case <-time.After(timeout):
		d.h.t.Fatalf("the dialog did not exit within %v", timeout)
	}
}

// shot saves a PNG of the dialog's window under $RAPIDREBOOT_SHOTS (or
// build/screenshots) and returns its path.
func (d *dlg) shot(name string) string {
	d.h.t.Helper()
	dir := os.Getenv("RAPIDREBOOT_SHOTS")
	if dir == "" {
		dir = filepath.Join(repo, "build", "screenshots")
	}
	os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, name+".png")
	// The pointer off the window: a hovered button is drawn lighter.
	d.xdotool("mousemove", "0", "0")
	settle() // the frame after the last change
	cmd := exec.Command("import", "-window", d.xid, p)
	cmd.Env = []string{"DISPLAY=" + display, "HOME=" + d.h.dir}
	if out, err := cmd.CombinedOutput(); err != nil {
		d.h.t.Fatalf("import: %v\n%s", err, out)
	}
	return p
}

// buttonPixels saves a screenshot of the dialog (see shot) and returns
// the part where button is drawn, as GTK laid it out.
func (d *dlg) buttonPixels(shotName, button string) *image.RGBA {
	d.h.t.Helper()
	p := d.shot(shotName)
	d.h.t.Logf("%s: %s", shotName, p)
	d.quiet()
	x, y, w, h := d.geom(button)
	f, err := os.Open(p)
	if err != nil {
		d.h.t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		d.h.t.Fatalf("%s: %v", p, err)
	}
	r := image.Rect(x, y, x+w, y+h)
	if !r.In(img.Bounds()) {
		d.h.t.Fatalf("button %s at %v lies outside the screenshot %v", button, r, img.Bounds())
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), img, r.Min, draw.Src)
	return out
}

// differingPixels counts the pixels that differ between two crops of the
// same size (-1 when the sizes differ).
func differingPixels(a, b *image.RGBA) int {
	if a.Bounds() != b.Bounds() {
		return -1
	}
	n := 0
	for i := 0; i+3 < len(a.Pix); i += 4 {
		if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] {
			n++
		}
	}
	return n
}

// stop ends the dialog now, so that the next one's window is not drawn
// over (both are centred on the screen).
func (d *dlg) stop() {
	select {
	case err := <-d.done:
		d.done <- err
	default:
		d.cmd.Process.Kill()
		d.done <- <-d.done
	}
}

type recorder interface {
	WaitFor(string, time.Duration) bool
	Calls() []string
}

// waitCall waits for a stand-in call.
func waitCall(t *testing.T, r recorder, call string) {
	t.Helper()
	if !r.WaitFor(call, 10*time.Second) {
		t.Fatalf("no %s; calls %q", call, r.Calls())
	}
}
