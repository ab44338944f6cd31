//go:build gui

package gui

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/ui/uitest"
)

// running writes the running kernel's facts into the fake root's /proc:
// its release (uname -r) and command line.
func (h *harness) running(release, cmdline string) {
	proc := filepath.Join(h.dir, "root", "proc")
	os.MkdirAll(filepath.Join(proc, "sys", "kernel"), 0o755)
	os.WriteFile(filepath.Join(proc, "sys", "kernel", "osrelease"), []byte(release+"\n"), 0o644)
	os.WriteFile(filepath.Join(proc, "cmdline"), []byte(cmdline+"\n"), 0o644)
}

// bootLine waits for the expander's trace line (as GTK has it drawn)
// with expanded, and returns its title and text.
func (d *dlg) bootLine(from int, expanded bool) (title, text string) {
	d.h.t.Helper()
	l := d.waitTrace(from, "boot shown=true expanded="+strconv.FormatBool(expanded), 10*time.Second)
	m := regexp.MustCompile(`title="((?:[^"\\]|\\.)*)" text="((?:[^"\\]|\\.)*)"`).FindStringSubmatch(l)
	if m == nil {
		d.h.t.Fatalf("no title and text in %q", l)
	}
	title, _ = strconv.Unquote(`"` + m[1] + `"`)
	text, _ = strconv.Unquote(`"` + m[2] + `"`)
	return title, text
}

// clickExpander clicks the collapsed expander's arrow: GTK 3.24 toggles
// it only on its title (arrow and label), which is below the CSS margin
// at the top of its allocation.
func (d *dlg) clickExpander() {
	d.h.t.Helper()
	d.quiet()
	x, y, _, h := d.geom("expander")
	d.xdotool("mousemove", "--window", d.xid, strconv.Itoa(x+8), strconv.Itoa(y+h-10))
	time.Sleep(50 * time.Millisecond)
	d.xdotool("click", "1")
}

// plan27 is the stand-in's plan with the Why lines bootplan writes for
// a Debian 12 grub.cfg.
func plan27() busapi.Plan {
	p := uitest.Plan("6.1.0-27-amd64")
	p.Cmdline = "root=/dev/sda1 ro quiet mitigations=off"
	p.Why = []string{"GRUB_DEFAULT=0 (/etc/default/grub)", "menuentry 'Debian GNU/Linux' at /boot/grub/grub.cfg:164"}
	return p
}

func TestWhatWillBootIsACollapsedExpanderWithThePlanAndItsDifferences(t *testing.T) {
	t.Run("a whole plan: kernel, initrd, where it came from, the command line and how it differs", func(t *testing.T) {
		h := newHarness(t)
		h.helper.SetPlan(plan27())
		h.running("6.1.0-26-amd64", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-26-amd64 root=/dev/sda1 ro quiet splash")
		d := h.start()
		title, text := d.bootLine(0, false)
		const want = `Kernel: Linux 6.1.0-27-amd64 (/boot/vmlinuz-6.1.0-27-amd64)
Linux 6.1.0-26-amd64 is running now: this is another kernel.
Initrd: /boot/initrd.img-6.1.0-27-amd64
Chosen from: /boot/grub/grub.cfg
  GRUB_DEFAULT=0 (/etc/default/grub)
  menuentry 'Debian GNU/Linux' at /boot/grub/grub.cfg:164
Command line: root=/dev/sda1 ro quiet mitigations=off
Differences from the running command line:
  added: mitigations=off
  removed: splash`
		if title != "What will boot" || text != want {
			t.Errorf("expander %q drawn with\n%s\nwant\n%s", title, text, want)
		}
		for _, l := range d.a11y().Labels {
			if strings.Contains(l.Name, "Differences from the running") && l.Showing {
				t.Error("the collapsed expander's text is showing to a screen reader")
			}
		}
		t.Logf("boot-collapsed: %s", d.shot("boot-collapsed"))

		n := d.mark()
		d.clickExpander()
		if _, got := d.bootLine(n, true); got != want {
			t.Errorf("expanded, it draws\n%s", got)
		}
		d.quiet()
		showing := false
		for _, l := range d.a11y().Labels {
			showing = showing || (strings.Contains(l.Name, "added: mitigations=off") && l.Showing)
		}
		if !showing {
			t.Error("a screen reader does not see the expanded text")
		}
		t.Logf("boot-expanded: %s", d.shot("boot-expanded"))
		if calls := strings.Join(h.helper.Calls(), ","); calls != "GetPlan(),GetAdvice()" {
			t.Errorf("opening the expander called the helper: %q", calls)
		}
	})
	t.Run("a plan the helper withheld: only what it has", func(t *testing.T) {
		h := newHarness(t)
		p := plan27()
		p.Cmdline, p.Why = "", []string{busapi.WithheldWhy}
		h.helper.SetPlan(p)
		h.running("6.1.0-27-amd64", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=/dev/sda1 ro quiet")
		d := h.start()
		n := d.mark()
		d.waitTrace(0, "boot shown=true", 10*time.Second)
		d.xdotool("key", "alt+w") // the expander's mnemonic opens it
		_, text := d.bootLine(n, true)
		const want = `Kernel: Linux 6.1.0-27-amd64 (/boot/vmlinuz-6.1.0-27-amd64)
This is the kernel running now.
Initrd: /boot/initrd.img-6.1.0-27-amd64
Chosen from: /boot/grub/grub.cfg
The command line and how the kernel was chosen are shown only to users allowed to use Quick Restart.`
		if text != want {
			t.Errorf("withheld plan drawn as\n%s\nwant\n%s", text, want)
		}
		t.Logf("boot-withheld: %s", d.shot("boot-withheld"))
	})
	for _, tc := range []struct{ lang, title, differences, armed, cancel string }{
		{"de", "Was gestartet wird", "Unterschiede zur laufenden Befehlszeile:",
			"Ein Schnellneustart in Linux 6.1.0-27-amd64 ist vorbereitet", "Schnellneustart zurücknehmen"},
		{"fr", "Ce qui va démarrer", "Différences avec la ligne de commande en cours :",
			"Un redémarrage rapide sur Linux 6.1.0-27-amd64 est préparé", "Annuler le redémarrage rapide"},
		{"es", "Qué se iniciará", "Diferencias con la línea de órdenes en ejecución:",
			"Hay un reinicio rápido en Linux 6.1.0-27-amd64 preparado", "Deshacer el reinicio rápido"},
	} {
		t.Run("in "+tc.lang+", with a Quick Restart armed", func(t *testing.T) {
			h := newHarness(t)
			h.setenv("LANGUAGE=" + tc.lang)
			h.helper.SetPlan(plan27())
			h.helper.SetArmed(true)
			h.running("6.1.0-26-amd64", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-26-amd64 root=/dev/sda1 ro quiet splash")
			d := h.start()
			d.waitTrace(0, "armed shown=true text="+strconv.Quote(tc.armed)[:len(strconv.Quote(tc.armed))-1], 10*time.Second)
			n := d.mark()
			d.waitTrace(0, "boot shown=true", 10*time.Second)
			d.clickExpander()
			title, text := d.bootLine(n, true)
			if title != tc.title || !strings.Contains(text, tc.differences) {
				t.Errorf("expander %q:\n%s", title, text)
			}
			d.quiet()
			if found, sensitive, _ := d.a11y().button(tc.cancel); !found || !sensitive {
				t.Errorf("no sensitive %q button", tc.cancel)
			}
			t.Logf("boot-armed-%s: %s", tc.lang, d.shot("boot-armed-"+tc.lang))
		})
	}
	t.Run("no helper: no expander", func(t *testing.T) {
		h := newHarness(t, noHelper)
		d := h.start()
		d.waitTrace(0, "boot shown=false", 10*time.Second)
		if d.find(0, "boot shown=true") >= 0 {
			t.Error("an expander without a plan")
		}
	})
}

func TestAnArmedQuickRestartIsShownAndCancelQuickRestartDisarms(t *testing.T) {
	const line = "A Quick Restart into Linux 6.1.0-27-amd64 is prepared: the next restart skips the firmware and boot menu."
	h := newHarness(t)
	h.helper.SetArmed(true) // prepared before the dialog opened
	d := h.start()
	d.waitTrace(0, "armed=true", 10*time.Second)
	d.waitTrace(0, "armed shown=true text="+strconv.Quote(line), 10*time.Second)
	d.quiet()
	if found, sensitive, _ := d.a11y().button("Cancel Quick Restart"); !found || !sensitive {
		t.Errorf("a screen reader sees Cancel Quick Restart found=%v sensitive=%v", found, sensitive)
	}
	t.Logf("armed: %s", d.shot("armed"))

	n := d.mark()
	d.click("disarm")
	waitCall(t, h.helper, "Disarm()")
	d.waitTrace(n, `armed shown=false text=""`, 10*time.Second)
	if _, _, info := d.state(); info != "Quick Restart was cancelled. The next restart will be a normal one." {
		t.Errorf("after Cancel Quick Restart the line says %q", info)
	}
	if h.helper.Armed() {
		t.Error("the helper is still armed")
	}
	d.quiet()
	if found, _, _ := d.a11y().button("Cancel Quick Restart"); found {
		t.Error("Cancel Quick Restart is still showing after the disarm")
	}
	t.Logf("armed-cancelled: %s", d.shot("armed-cancelled"))

	// What the dialog does next is what an unarmed one does: a plain
	// Restart disarms again (harmless) and asks the session manager.
	d.click("restart")
	waitCall(t, h.gnome, "Reboot()")
	if got := strings.Join(h.helper.Calls(), ","); got != "GetPlan(),GetAdvice(),Disarm(),Disarm()" {
		t.Errorf("helper calls %q", got)
	}
}

func TestNothingArmedShowsNoArmedLine(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	d.waitTrace(0, "armed=false", 10*time.Second)
	if d.find(0, "armed shown=true") >= 0 {
		t.Error("an armed line without an arm")
	}
}

// TestArmedAndExpandedInTheUsersThemes keeps pictures of the armed line
// and the open expander in the dark and high-contrast themes: the frame
// and the text come from the theme, nothing fixes a colour.
func TestArmedAndExpandedInTheUsersThemes(t *testing.T) {
	for _, tc := range []struct{ name, theme string }{
		{"dark", "Adwaita:dark"},
		{"high-contrast", "HighContrast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.setenv("GTK_THEME=" + tc.theme)
			h.helper.SetPlan(plan27())
			h.helper.SetArmed(true)
			h.running("6.1.0-26-amd64", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-26-amd64 root=/dev/sda1 ro quiet splash")
			d := h.start()
			d.waitTrace(0, "armed shown=true", 10*time.Second)
			n := d.mark()
			d.waitTrace(0, "boot shown=true", 10*time.Second)
			d.clickExpander()
			d.bootLine(n, true)
			t.Logf("boot-armed-%s: %s", tc.name, d.shot("boot-armed-"+tc.name))
		})
	}
}
