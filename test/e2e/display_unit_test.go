package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The display's QMP traffic against a fake QEMU on a unix socket: the
// exact JSON lines a real QEMU would get. (display_qemu_test.go, build tag
// desktop, sends the same to a real one.)

// fakeQMP is a QMP server that answers every command with {"return": {}}
// unless reply says otherwise, and records each line it got after the
// capabilities negotiation.
type fakeQMP struct {
	path  string
	reply func(cmd string, args map[string]any) string // "" = {"return": {}}
	mu    sync.Mutex
	lines []string
}

func newFakeQMP(t *testing.T, reply func(string, map[string]any) string) *fakeQMP {
	t.Helper()
	f := &fakeQMP{path: filepath.Join(t.TempDir(), "qmp.sock"), reply: reply}
	l, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprintln(c, `{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}`)
		r := bufio.NewScanner(c)
		for r.Scan() {
			line := r.Text()
			var req struct {
				Execute   string         `json:"execute"`
				Arguments map[string]any `json:"arguments"`
			}
			if err := json.Unmarshal([]byte(line), &req); err != nil {
				fmt.Fprintf(c, `{"error": {"class": "GenericError", "desc": "bad JSON %q"}}`+"\n", line)
				continue
			}
			if req.Execute != "qmp_capabilities" {
				f.mu.Lock()
				f.lines = append(f.lines, line)
				f.mu.Unlock()
			}
			out := ""
			if f.reply != nil {
				out = f.reply(req.Execute, req.Arguments)
			}
			if out == "" {
				out = `{"return": {}}`
			}
			fmt.Fprintln(c, out)
		}
	}()
	return f
}

func (f *fakeQMP) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

func fakeDisplay(t *testing.T, f *fakeQMP) *Display {
	t.Helper()
	q, err := dialQMP(f.path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.close() })
	d := newDisplay(q)
	d.Gap = 0
	return d
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("QMP lines sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func key(name string, down bool) string {
	return fmt.Sprintf(`{"arguments":{"events":[{"type":"key","data":{"down":%v,"key":{"type":"qcode","data":"%s"}}}]},"execute":"input-send-event"}`, down, name)
}

func btn(name string, down bool) string {
	return fmt.Sprintf(`{"arguments":{"events":[{"type":"btn","data":{"down":%v,"button":"%s"}}]},"execute":"input-send-event"}`, down, name)
}

func move(x, y int) string {
	return fmt.Sprintf(`{"arguments":{"events":[{"type":"abs","data":{"axis":"x","value":%d}},{"type":"abs","data":{"axis":"y","value":%d}}]},"execute":"input-send-event"}`, x, y)
}

func TestUnitDisplayShiftHeldWhileThePointerClicks(t *testing.T) {
	f := newFakeQMP(t, nil)
	d := fakeDisplay(t, f)
	d.W, d.H = 1024, 768
	if err := d.ClickAt(512, 300, "left", "shift"); err != nil {
		t.Fatal(err)
	}
	// Shift goes down before the pointer moves and comes up after the
	// button: the guest sees the click with Shift held.
	wantLines(t, f.got(),
		key("shift", true),
		move(16400, 12821),
		btn("left", true),
		btn("left", false),
		key("shift", false))
}

func TestUnitDisplayKeysAndChords(t *testing.T) {
	f := newFakeQMP(t, nil)
	d := fakeDisplay(t, f)
	if err := d.Press("ctrl", "alt", "t"); err != nil {
		t.Fatal(err)
	}
	if err := d.KeyDown("shift"); err != nil {
		t.Fatal(err)
	}
	if err := d.KeyUp("shift"); err != nil {
		t.Fatal(err)
	}
	if err := d.Type("Hi!\n"); err != nil {
		t.Fatal(err)
	}
	wantLines(t, f.got(),
		key("ctrl", true), key("alt", true), key("t", true),
		key("t", false), key("alt", false), key("ctrl", false),
		key("shift", true), key("shift", false),
		key("shift", true), key("h", true), key("h", false), key("shift", false),
		key("i", true), key("i", false),
		key("shift", true), key("1", true), key("1", false), key("shift", false),
		key("ret", true), key("ret", false))

	// A character with no key types nothing at all.
	before := len(f.got())
	if err := d.Type("ok é"); err == nil || !strings.Contains(err.Error(), `'é'`) {
		t.Errorf("Type of é: %v, want an error naming it", err)
	}
	if n := len(f.got()); n != before {
		t.Errorf("Type sent %d events before failing, want none", n-before)
	}
}

func TestUnitDisplayReleasesHeldKeysWhenAStepFails(t *testing.T) {
	f := newFakeQMP(t, func(cmd string, args map[string]any) string {
		if b, _ := json.Marshal(args); strings.Contains(string(b), `"btn"`) {
			return `{"error": {"class": "GenericError", "desc": "no pointer"}}`
		}
		return ""
	})
	d := fakeDisplay(t, f)
	d.W, d.H = 800, 600
	err := d.ClickAt(0, 599, "right", "shift", "ctrl")
	if err == nil || !strings.Contains(err.Error(), "no pointer") {
		t.Fatalf("ClickAt with a failing button: %v, want QEMU's error", err)
	}
	wantLines(t, f.got(),
		key("shift", true), key("ctrl", true),
		move(20, 32740),
		btn("right", true),
		key("ctrl", false), key("shift", false))
}

func TestUnitDisplayPointerNeedsTheScreenSize(t *testing.T) {
	f := newFakeQMP(t, nil)
	d := fakeDisplay(t, f)
	if err := d.MoveTo(1, 1); err == nil || !strings.Contains(err.Error(), "size is unknown") {
		t.Errorf("MoveTo before any screendump: %v, want the size unknown", err)
	}
	d.W, d.H = 640, 480
	if err := d.MoveTo(640, 10); err == nil || !strings.Contains(err.Error(), "off the 640x480 screen") {
		t.Errorf("MoveTo off the screen: %v", err)
	}
	if n := len(f.got()); n != 0 {
		t.Errorf("%d events sent for moves that cannot be made", n)
	}
}

func TestUnitDisplayAbsValueHitsPixelCentres(t *testing.T) {
	// The guest (libinput, usbhid) maps v to v*size/(absMax+1): each
	// pixel's value must map back to that pixel, the corners included.
	for _, size := range []int{400, 720, 768, 1024, 1080, 1280, 1920} {
		for p := 0; p < size; p++ {
			v := absValue(p, size)
			if v < 0 || v > absMax || v*size/(absMax+1) != p {
				t.Fatalf("absValue(%d, %d) = %d maps back to %d", p, size, v, v*size/(absMax+1))
			}
		}
	}
}

// screendumpSchema is a QMP schema with the one command, with or without
// its "format" argument (QEMU 7.1+ or older).
func screendumpSchema(withFormat bool) string {
	members := `{"name": "filename", "type": "str"}, {"name": "device", "default": null, "type": "str"}`
	if withFormat {
		members += `, {"name": "format", "default": null, "type": "200"}`
	}
	return `{"return": [{"name": "screendump", "ret-type": "0", "meta-type": "command", "arg-type": "100"},` +
		`{"name": "100", "meta-type": "object", "members": [` + members + `]},` +
		`{"name": "query-status", "ret-type": "1", "meta-type": "command", "arg-type": "0"}]}`
}

func TestUnitDisplayScreendumpPNG(t *testing.T) {
	want := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	want.Set(1, 1, color.NRGBA{200, 10, 20, 255})
	f := newFakeQMP(t, func(cmd string, args map[string]any) string {
		switch cmd {
		case "query-qmp-schema":
			return screendumpSchema(true)
		case "screendump":
			if err := writePNG(args["filename"].(string), want); err != nil {
				return fmt.Sprintf(`{"error": {"class": "GenericError", "desc": %q}}`, err.Error())
			}
		}
		return ""
	})
	d := fakeDisplay(t, f)
	dir := t.TempDir()
	path := filepath.Join(dir, "shots", "bios.png")
	for i := 0; i < 2; i++ {
		img, err := d.Screendump(path)
		if err != nil {
			t.Fatal(err)
		}
		if d.W != 3 || d.H != 2 || img.Bounds().Dx() != 3 || uniform(img) {
			t.Errorf("screendump: %v, size %dx%d, uniform %v", img.Bounds(), d.W, d.H, uniform(img))
		}
	}
	// The schema is asked once; QEMU gets the absolute path and "png".
	wantLines(t, f.got(),
		`{"execute":"query-qmp-schema"}`,
		fmt.Sprintf(`{"arguments":{"filename":%q,"format":"png"},"execute":"screendump"}`, path),
		fmt.Sprintf(`{"arguments":{"filename":%q,"format":"png"},"execute":"screendump"}`, path))
}

func TestUnitDisplayScreendumpOfAnOldQEMUIsConvertedFromPPM(t *testing.T) {
	f := newFakeQMP(t, func(cmd string, args map[string]any) string {
		switch cmd {
		case "query-qmp-schema":
			return screendumpSchema(false)
		case "screendump":
			if _, ok := args["format"]; ok {
				return `{"error": {"class": "GenericError", "desc": "Parameter 'format' is unexpected"}}`
			}
			ppm := "P6\n2 1\n255\n" + "\x00\x00\x00" + "\xff\x80\x01"
			os.WriteFile(args["filename"].(string), []byte(ppm), 0o644)
		}
		return ""
	})
	d := fakeDisplay(t, f)
	path := filepath.Join(t.TempDir(), "old.png")
	if _, err := d.Screendump(path); err != nil {
		t.Fatal(err)
	}
	img, err := readPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(1, 0).RGBA(); r>>8 != 0xff || g>>8 != 0x80 || b>>8 != 0x01 || d.W != 2 || d.H != 1 {
		t.Errorf("converted pixel (%x %x %x), size %dx%d", r>>8, g>>8, b>>8, d.W, d.H)
	}
	if _, err := os.Stat(path + ".ppm"); !os.IsNotExist(err) {
		t.Errorf("the PPM was left behind: %v", err)
	}
	wantLines(t, f.got(),
		`{"execute":"query-qmp-schema"}`,
		fmt.Sprintf(`{"arguments":{"filename":%q},"execute":"screendump"}`, path+".ppm"))
}

func TestUnitDisplayTabletAndDesktopArgs(t *testing.T) {
	args := strings.Join(tabletArgs(), " ")
	if args != "-device qemu-xhci,id=rr-xhci -device usb-tablet,bus=rr-xhci.0" {
		t.Errorf("tablet arguments %q", args)
	}
	// The name desktop-choice reads in the guest.
	choice, err := os.ReadFile("desktop/guest/usr/local/lib/e2e/desktop-choice")
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(desktopArgs("xfce"), " "); args != "-fw_cfg name=opt/rapidreboot/desktop,string=xfce" ||
		!strings.Contains(string(choice), "/sys/firmware/qemu_fw_cfg/by_name/opt/rapidreboot/desktop/raw") {
		t.Errorf("desktop arguments %q do not match desktop-choice's fw_cfg name", args)
	}
}

func TestUnitDesktopChoice(t *testing.T) {
	script, err := filepath.Abs("desktop/guest/usr/local/lib/e2e/desktop-choice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, fwcfg, cmdline string
		want                 string // the file made in the run folder; "" = fails
	}{
		{"fw_cfg", "xfce", "BOOT_IMAGE=/boot/vmlinuz ro rapidreboot.desktop=gnome quiet", "xfce"},
		{"command line", "", "BOOT_IMAGE=/boot/vmlinuz ro rapidreboot.desktop=xfce quiet", "xfce"},
		{"default", "", "BOOT_IMAGE=/boot/vmlinuz ro quiet", "gnome"},
		{"not a word prefix", "", "root=UUID=x myrapidreboot.desktop=xfce", "gnome"},
		{"unknown", "kde", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fw := filepath.Join(dir, "raw")
			if c.fwcfg != "" {
				os.WriteFile(fw, []byte(c.fwcfg), 0o644)
			}
			os.WriteFile(filepath.Join(dir, "cmdline"), []byte(c.cmdline+"\n"), 0o644)
			run := filepath.Join(dir, "run")
			os.MkdirAll(run, 0o755)
			os.WriteFile(filepath.Join(run, "stale"), nil, 0o644)
			cmd := exec.Command("sh", script)
			cmd.Env = append(os.Environ(), "E2E_FW_CFG="+fw, "E2E_CMDLINE="+filepath.Join(dir, "cmdline"), "E2E_RUN="+run)
			out, err := cmd.CombinedOutput()
			if c.want == "" {
				if err == nil {
					t.Errorf("desktop %q accepted: %s", c.fwcfg, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			ents, _ := os.ReadDir(run)
			if len(ents) != 1 || ents[0].Name() != c.want {
				t.Errorf("run folder holds %v, want only %s (output %q)", ents, c.want, out)
			}
		})
	}
}

// framesQMP is a fake QEMU whose screen shows frames one screendump after
// the other (the last one stays); screendumps() says how many were taken.
func framesQMP(t *testing.T, frames ...color.NRGBA) (*Display, func() int) {
	var mu sync.Mutex
	n := 0
	f := newFakeQMP(t, func(cmd string, args map[string]any) string {
		switch cmd {
		case "query-qmp-schema":
			return screendumpSchema(true)
		case "screendump":
			mu.Lock()
			c := frames[min(n, len(frames)-1)]
			n++
			mu.Unlock()
			img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
			img.Set(0, 0, c)
			writePNG(args["filename"].(string), img)
		}
		return ""
	})
	return fakeDisplay(t, f), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestUnitDisplaySettleWaitsForTheScreenToStopChanging(t *testing.T) {
	// The screen changes twice (a menu opening), then stays.
	d, screendumps := framesQMP(t, color.NRGBA{0, 0, 0, 255}, color.NRGBA{9, 9, 9, 255}, color.NRGBA{50, 60, 70, 255})
	d.SettleEvery = time.Millisecond
	img, err := d.Settle(filepath.Join(t.TempDir(), "s.png"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(0, 0).RGBA(); r>>8 != 50 || screendumps() != 4 {
		t.Errorf("settled on red %d after %d screendumps, want 50 after 4", r>>8, screendumps())
	}
	// A screen that never stops changing: an error after the timeout.
	var frames []color.NRGBA
	for i := 0; i < 100; i++ {
		frames = append(frames, color.NRGBA{uint8(i), 0, 0, 255})
	}
	d, _ = framesQMP(t, frames...)
	d.SettleEvery = 20 * time.Millisecond
	if _, err := d.Settle(filepath.Join(t.TempDir(), "s.png"), 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "still changes") {
		t.Errorf("Settle of a changing screen: %v", err)
	}
	a := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	b := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	b.Set(3, 3, color.NRGBA{1, 2, 3, 255})
	if got := changed(a, b); got != 0.01 {
		t.Errorf("changed: %v, want 0.01", got)
	}
	if got := changed(a, image.NewNRGBA(image.Rect(0, 0, 5, 5))); got != 1 {
		t.Errorf("changed of different sizes: %v, want 1", got)
	}
}
