package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The guest's screen, keyboard and pointer through QMP, as a person at the
// machine uses them (issue 13: real desktop sessions). input-send-event
// puts events into QEMU's emulated devices: the PS/2 keyboard every PC
// machine has (q35 and pc keep it under -nodefaults), and an absolute
// pointer, the usb-tablet (tabletArgs). The guest's kernel sees real input
// devices, so a Wayland compositor and an X server read the same events
// through libinput. screendump saves what the display device shows.

// absMax is the top of QEMU's absolute axis range (INPUT_EVENT_ABS_MAX):
// 0..absMax spans the whole screen, whatever its size in pixels.
const absMax = 0x7fff

// tabletArgs are qemu's arguments for the absolute pointer: QEMU's
// usb-tablet on an xHCI controller. Why usb-tablet rather than
// virtio-tablet-pci: it is the device libvirt, virt-manager and GNOME
// Boxes give every guest, so GNOME on Wayland and Xorg have long been used
// with it; the guest needs only xhci_pci and usbhid (in Debian's kernel and
// initramfs), and the kernel's input_id rule names an absolute device with
// a left button and no stylus a mouse (ID_INPUT_MOUSE), which libinput
// drives as a pointer with absolute motion. xHCI, unlike UHCI, does not
// wake the guest every millisecond, which matters under TCG. Only guests
// started with Config.Tablet get it: today's guests and their images are
// unchanged.
func tabletArgs() []string {
	return []string{"-device", "qemu-xhci,id=rr-xhci", "-device", "usb-tablet,bus=rr-xhci.0"}
}

// desktopArgs tell the desktop image (test/e2e/desktop) which desktop its
// boots start: a QEMU firmware configuration item, read in the guest by
// desktop-choice from /sys/firmware/qemu_fw_cfg. It belongs to the
// machine, so it holds across the guest's restarts, kexec or firmware.
func desktopArgs(desktop string) []string {
	return []string{"-fw_cfg", "name=opt/rapidreboot/desktop,string=" + desktop}
}

// desktopCPU is the TCG CPU of the desktop guests: QEMU's max without
// AVX2. Seen on 2026-12-03 with QEMU 7.2: GNOME Shell 48 (mutter drawing
// through Mesa's llvmpipe) died of a segfault inside llvmpipe's JIT code at
// a vpgatherdd (an AVX2 gather, bytes c4 e2 7d 90) about 3.5 min into the
// session, just before its first frame; GDM then logged "Session never
// registered, failing" and fell back to Xorg, and the screen stayed black.
// Without AVX2 in CPUID, LLVM emits no gathers.
const desktopCPU = "max,avx2=off"

// inputEvent is one member of input-send-event's "events" (QAPI's
// InputEvent union): key, btn, abs or rel.
type inputEvent struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

type keyData struct {
	Down bool     `json:"down"`
	Key  keyValue `json:"key"`
}

// keyValue is a KeyValue of type qcode: QEMU's own key names (QKeyCode:
// "shift", "ctrl", "alt", "meta_l", "ret", "esc", "spc", "tab", "a".."z",
// "0".."9", "f1".."f12", "left", "up", "delete", ...).
type keyValue struct {
	Type string `json:"type"`
	Data string `json:"data"`
}

type btnData struct {
	Down   bool   `json:"down"`
	Button string `json:"button"` // left, middle, right, wheel-up, wheel-down, side, extra
}

type moveData struct {
	Axis  string `json:"axis"` // x or y
	Value int    `json:"value"`
}

func keyEvent(qcode string, down bool) inputEvent {
	return inputEvent{"key", keyData{down, keyValue{"qcode", qcode}}}
}

func btnEvent(button string, down bool) inputEvent {
	return inputEvent{"btn", btnData{down, button}}
}

func absEvent(axis string, value int) inputEvent {
	return inputEvent{"abs", moveData{axis, value}}
}

// absValue is the absolute axis value of the centre of pixel p on an axis
// of size pixels: the guest scales 0..absMax to its screen as libinput
// does, value*size/(absMax+1), so the centre lands on p itself.
func absValue(p, size int) int {
	v := (2*p + 1) * (absMax + 1) / (2 * size)
	return min(max(v, 0), absMax)
}

// Display drives one guest's screen and input devices through its QMP
// connection. Its methods are not safe for concurrent use.
type Display struct {
	q *qmp
	// W and H are the screen's size in pixels: the last Screendump's, or
	// set by the caller. MoveTo needs them.
	W, H int
	// Gap is the pause between the steps of one gesture (key down, move,
	// click, key up), so that the guest sees them apart as it would a
	// person's: QEMU delivers the events of one command at once.
	Gap time.Duration
	// SettleEvery is the time between Settle's screendumps.
	SettleEvery time.Duration

	pngChecked bool
	pngOK      bool // screendump has "format" (QEMU 7.1 and later): PNG straight from QEMU
}

func newDisplay(q *qmp) *Display {
	return &Display{q: q, Gap: 30 * time.Millisecond, SettleEvery: 5 * time.Second}
}

// Display returns the guest's screen and input devices. Pointer moves need
// a guest started with Config.Tablet.
func (g *Guest) Display() *Display {
	if g.disp == nil {
		g.disp = newDisplay(g.qmp)
	}
	return g.disp
}

func (d *Display) send(events ...inputEvent) error {
	_, err := d.q.command("input-send-event", map[string]any{"events": events}, 20*time.Second)
	return err
}

func (d *Display) pause() {
	if d.Gap > 0 {
		time.Sleep(d.Gap)
	}
}

// KeyDown presses key (a QKeyCode name) and keeps it down.
func (d *Display) KeyDown(key string) error { return d.send(keyEvent(key, true)) }

// KeyUp releases key.
func (d *Display) KeyUp(key string) error { return d.send(keyEvent(key, false)) }

// Press presses keys in order and releases them in reverse order: one key
// ("ret") or a chord ("ctrl", "alt", "t"). Whatever happens, every key
// pressed is released.
func (d *Display) Press(keys ...string) error {
	return d.holding(keys, func() error { return nil })
}

// holding presses keys in order, runs f, and releases the keys in reverse
// order, also when a press or f failed.
func (d *Display) holding(keys []string, f func() error) (err error) {
	var down []string
	defer func() {
		for i := len(down) - 1; i >= 0; i-- {
			d.pause()
			if e := d.KeyUp(down[i]); e != nil && err == nil {
				err = e
			}
		}
	}()
	for _, k := range keys {
		if err := d.KeyDown(k); err != nil {
			return err
		}
		down = append(down, k)
		d.pause()
	}
	return f()
}

// MoveTo moves the absolute pointer to pixel (x, y) of the screen.
func (d *Display) MoveTo(x, y int) error {
	if d.W <= 0 || d.H <= 0 {
		return fmt.Errorf("cannot move the pointer to (%d, %d): the screen's size is unknown (take a screendump first)", x, y)
	}
	if x < 0 || y < 0 || x >= d.W || y >= d.H {
		return fmt.Errorf("cannot move the pointer to (%d, %d): off the %dx%d screen", x, y, d.W, d.H)
	}
	return d.send(absEvent("x", absValue(x, d.W)), absEvent("y", absValue(y, d.H)))
}

// Click presses and releases a pointer button (left, middle, right) where
// the pointer is.
func (d *Display) Click(button string) error {
	if err := d.send(btnEvent(button, true)); err != nil {
		return err
	}
	d.pause()
	return d.send(btnEvent(button, false))
}

// ClickAt moves the pointer to (x, y) and clicks button there with the
// keys held ("shift"; none for a plain click): keys down, move, click,
// keys up, each step a Gap apart.
func (d *Display) ClickAt(x, y int, button string, held ...string) error {
	return d.holding(held, func() error {
		if err := d.MoveTo(x, y); err != nil {
			return err
		}
		d.pause()
		return d.Click(button)
	})
}

// Type types text on a US keyboard layout (the guests' default): letters,
// digits, space, newline, tab and the US punctuation; a character with no
// key fails before anything is typed.
func (d *Display) Type(text string) error {
	type stroke struct {
		key   string
		shift bool
	}
	var strokes []stroke
	for _, r := range text {
		k, shift, ok := usKey(r)
		if !ok {
			return fmt.Errorf("cannot type %q: no key for it on a US layout", r)
		}
		strokes = append(strokes, stroke{k, shift})
	}
	for _, s := range strokes {
		keys := []string{s.key}
		if s.shift {
			keys = []string{"shift", s.key}
		}
		if err := d.Press(keys...); err != nil {
			return err
		}
		d.pause()
	}
	return nil
}

// usKey is the QKeyCode that types r on a US layout, and whether Shift is
// needed.
func usKey(r rune) (key string, shift, ok bool) {
	switch {
	case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		return string(r), false, true
	case r >= 'A' && r <= 'Z':
		return string(r - 'A' + 'a'), true, true
	}
	plain := map[rune]string{' ': "spc", '\n': "ret", '\t': "tab", '-': "minus", '=': "equal",
		'[': "bracket_left", ']': "bracket_right", '\\': "backslash", ';': "semicolon",
		'\'': "apostrophe", '`': "grave_accent", ',': "comma", '.': "dot", '/': "slash"}
	if k, ok := plain[r]; ok {
		return k, false, true
	}
	shifted := map[rune]string{'!': "1", '@': "2", '#': "3", '$': "4", '%': "5", '^': "6", '&': "7",
		'*': "8", '(': "9", ')': "0", '_': "minus", '+': "equal", '{': "bracket_left",
		'}': "bracket_right", '|': "backslash", ':': "semicolon", '"': "apostrophe",
		'~': "grave_accent", '<': "comma", '>': "dot", '?': "slash"}
	if k, ok := shifted[r]; ok {
		return k, true, true
	}
	return "", false, false
}

// Screendump saves what the guest's display shows as a PNG file at path
// and returns the picture; the screen's size becomes d.W and d.H. QEMU
// writes the file itself, so path is made absolute first. QEMU 7.1 and
// later write PNG (screendump's "format"); an older one writes PPM, which
// is converted here.
func (d *Display) Screendump(path string) (image.Image, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, err
	}
	if !d.pngChecked {
		if d.pngOK, err = d.q.commandHasArg("screendump", "format"); err != nil {
			return nil, err
		}
		d.pngChecked = true
	}
	os.Remove(abs)
	var img image.Image
	if d.pngOK {
		if _, err := d.q.command("screendump", map[string]any{"filename": abs, "format": "png"}, time.Minute); err != nil {
			return nil, err
		}
		if img, err = readPNG(abs); err != nil {
			return nil, err
		}
	} else {
		ppm := abs + ".ppm"
		defer os.Remove(ppm)
		if _, err := d.q.command("screendump", map[string]any{"filename": ppm}, time.Minute); err != nil {
			return nil, err
		}
		if img, err = readPPM(ppm); err != nil {
			return nil, err
		}
		if err := writePNG(abs, img); err != nil {
			return nil, err
		}
	}
	d.W, d.H = img.Bounds().Dx(), img.Bounds().Dy()
	return img, nil
}

// Settle takes screendumps SettleEvery apart until two are the same (the
// screen has stopped changing: a menu has opened, a session has drawn its
// desktop) and keeps the last at path. After timeout it returns the last
// one with an error.
func (d *Display) Settle(path string, timeout time.Duration) (image.Image, error) {
	deadline := time.Now().Add(timeout)
	prev, err := d.Screendump(path)
	if err != nil {
		return nil, err
	}
	for {
		time.Sleep(d.SettleEvery)
		img, err := d.Screendump(path)
		if err != nil {
			return nil, err
		}
		if changed(prev, img) == 0 {
			return img, nil
		}
		if time.Now().After(deadline) {
			return img, fmt.Errorf("the screen still changes after %s (%s)", timeout, path)
		}
		prev = img
	}
}

// changed is the fraction of pixels whose colour differs between a and b
// (1 when their sizes differ).
func changed(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 1
	}
	r := a.Bounds()
	if r.Empty() {
		return 0
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the screendump: %w", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("the screendump %s is no PNG: %w", path, err)
	}
	return img, nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readPPM reads the binary PPM (P6, maxval 255) that QEMU's screendump
// writes without a format.
func readPPM(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the screendump: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var magic string
	var w, h, maxval int
	if _, err := fmt.Fscan(r, &magic, &w, &h, &maxval); err != nil || magic != "P6" || maxval != 255 {
		return nil, fmt.Errorf("the screendump %s is no 8-bit binary PPM (%q %dx%d maxval %d, %v)", path, magic, w, h, maxval, err)
	}
	if _, err := r.ReadByte(); err != nil { // the one whitespace before the pixels
		return nil, err
	}
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return nil, fmt.Errorf("the screendump %s has an impossible size %dx%d", path, w, h)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	px := make([]byte, 3*w*h)
	if _, err := io.ReadFull(r, px); err != nil {
		return nil, fmt.Errorf("the screendump %s is cut short: %w", path, err)
	}
	for i := 0; i < w*h; i++ {
		copy(img.Pix[4*i:], px[3*i:3*i+3])
		img.Pix[4*i+3] = 0xff
	}
	return img, nil
}

// commandHasArg asks QEMU's schema (query-qmp-schema) whether command takes
// an argument named arg.
func (q *qmp) commandHasArg(command, arg string) (bool, error) {
	raw, err := q.command("query-qmp-schema", nil, time.Minute)
	if err != nil {
		return false, err
	}
	var schema []struct {
		Name     string `json:"name"`
		MetaType string `json:"meta-type"`
		ArgType  string `json:"arg-type"`
		Members  []struct {
			Name string `json:"name"`
		} `json:"members"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		return false, fmt.Errorf("cannot read QEMU's QMP schema: %w", err)
	}
	argType := ""
	for _, e := range schema {
		if e.MetaType == "command" && e.Name == command {
			argType = e.ArgType
		}
	}
	if argType == "" {
		return false, fmt.Errorf("QEMU's QMP schema has no command %s", strconv.Quote(command))
	}
	for _, e := range schema {
		if e.Name == argType && e.MetaType == "object" {
			for _, m := range e.Members {
				if m.Name == arg {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// uniform tells whether every pixel of img has one colour.
func uniform(img image.Image) bool {
	b := img.Bounds()
	if b.Empty() {
		return true
	}
	r0, g0, b0, a0 := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, a := img.At(x, y).RGBA(); r != r0 || g != g0 || bl != b0 || a != a0 {
				return false
			}
		}
	}
	return true
}
