package model

import (
	"strings"
	"testing"
)

// plan28 is a plan as the helper answers it for a Debian 12 system
// after a kernel update (the Why lines as bootplan writes them).
func plan28() Boot {
	return Boot{
		Kernel:  "/boot/vmlinuz-6.1.0-28-amd64",
		Version: "6.1.0-28-amd64",
		Initrds: []string{"/boot/initrd.img-6.1.0-28-amd64"},
		Source:  "/boot/grub/grub.cfg",
		Why: []string{
			`GRUB_DEFAULT=0 (/etc/default/grub), saved_entry unset (/boot/grub/grubenv)`,
			`menuentry 'Debian GNU/Linux' at /boot/grub/grub.cfg:164`,
		},
		Cmdline:        "root=UUID=0a1b ro quiet mitigations=off",
		RunningRelease: "6.1.0-27-amd64",
		RunningCmdline: "BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0a1b ro quiet splash",
	}
}

func TestBootText(t *testing.T) {
	for _, tc := range []struct {
		name string
		boot Boot
		want string
	}{
		{"a newer kernel: which one runs now, where the plan came from, and the command line's differences", plan28(),
			`Kernel: Linux 6.1.0-28-amd64 (/boot/vmlinuz-6.1.0-28-amd64)
Linux 6.1.0-27-amd64 is running now: this is another kernel.
Initrd: /boot/initrd.img-6.1.0-28-amd64
Chosen from: /boot/grub/grub.cfg
  GRUB_DEFAULT=0 (/etc/default/grub), saved_entry unset (/boot/grub/grubenv)
  menuentry 'Debian GNU/Linux' at /boot/grub/grub.cfg:164
Command line: root=UUID=0a1b ro quiet mitigations=off
Differences from the running command line:
  added: mitigations=off
  removed: splash`},
		{"the running kernel again, with the same command line but for BOOT_IMAGE", func() Boot {
			b := plan28()
			b.Version, b.Kernel, b.Initrds = "6.1.0-27-amd64", "/boot/vmlinuz-6.1.0-27-amd64", []string{"/boot/initrd.img-6.1.0-27-amd64", "/boot/intel-ucode.img"}
			b.Why = nil
			b.Cmdline = "root=UUID=0a1b ro quiet splash"
			return b
		}(),
			`Kernel: Linux 6.1.0-27-amd64 (/boot/vmlinuz-6.1.0-27-amd64)
This is the kernel running now.
Initrds: /boot/initrd.img-6.1.0-27-amd64, /boot/intel-ucode.img
Chosen from: /boot/grub/grub.cfg
Command line: root=UUID=0a1b ro quiet splash
The same command line as the running kernel's.`},
		{"a changed value", func() Boot {
			b := plan28()
			b.Cmdline = "root=UUID=9f8e ro quiet splash"
			b.Why = nil
			return b
		}(),
			`Kernel: Linux 6.1.0-28-amd64 (/boot/vmlinuz-6.1.0-28-amd64)
Linux 6.1.0-27-amd64 is running now: this is another kernel.
Initrd: /boot/initrd.img-6.1.0-28-amd64
Chosen from: /boot/grub/grub.cfg
Command line: root=UUID=9f8e ro quiet splash
Differences from the running command line:
  changed: root=UUID=0a1b → root=UUID=9f8e`},
		{"a plan withheld from this user says only what it has", func() Boot {
			b := plan28()
			b.Cmdline, b.Why, b.Withheld = "", nil, true
			return b
		}(),
			`Kernel: Linux 6.1.0-28-amd64 (/boot/vmlinuz-6.1.0-28-amd64)
Linux 6.1.0-27-amd64 is running now: this is another kernel.
Initrd: /boot/initrd.img-6.1.0-28-amd64
Chosen from: /boot/grub/grub.cfg
The command line and how the kernel was chosen are shown only to users allowed to use Quick Restart.`},
		{"without the running kernel's facts nothing is compared", func() Boot {
			b := plan28()
			b.RunningRelease, b.RunningCmdline, b.Why, b.Initrds = "", "", nil, nil
			return b
		}(),
			`Kernel: Linux 6.1.0-28-amd64 (/boot/vmlinuz-6.1.0-28-amd64)
Initrd: none
Chosen from: /boot/grub/grub.cfg
Command line: root=UUID=0a1b ro quiet mitigations=off`},
		{"an installer's plan of /target names its files as the target sees them", Boot{
			Kernel: "/boot/vmlinuz-6.12.48+deb13-amd64", Version: "6.12.48+deb13-amd64", Source: "/target/boot/grub/grub.cfg",
			Cmdline: "root=UUID=77 ro", RunningRelease: "6.1.0-27-amd64", RunningCmdline: "BOOT_IMAGE=/install.amd/vmlinuz vga=788 --- quiet",
		},
			`Kernel: Linux 6.12.48+deb13-amd64 (/boot/vmlinuz-6.12.48+deb13-amd64)
Linux 6.1.0-27-amd64 is running now: this is another kernel.
Initrd: none
Chosen from: /target/boot/grub/grub.cfg
Command line: root=UUID=77 ro
Differences from the running command line:
  added: root=UUID=77
  added: ro
  removed: vga=788
  removed: ---
  removed: quiet`},
		{"no plan: nothing", Boot{RunningRelease: "6.1.0-27-amd64"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := state(func(s *State) { s.Boot = tc.boot })
			if got := s.BootText(); got != tc.want {
				t.Errorf("BootText:\n%s\nwant:\n%s", got, tc.want)
			}
			if s.Boot.Shown() != (tc.want != "") {
				t.Errorf("Shown = %v", s.Boot.Shown())
			}
		})
	}
}

func TestArmedStateShowsTheLineAndTheDisarmButton(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       State
		text    string
		visible bool
	}{
		{"not armed: no line, no button", state(nil), "", false},
		{"armed, its kernel known", state(func(s *State) { s.Armed, s.ArmedVersion = true, "6.1.0-28-amd64" }),
			"A Quick Restart into Linux 6.1.0-28-amd64 is prepared: the next restart skips the firmware and boot menu.", true},
		{"armed, its kernel not known", state(func(s *State) { s.Armed = true }),
			"A Quick Restart is prepared: the next restart skips the firmware and boot menu.", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.ArmedText(); got != tc.text {
				t.Errorf("ArmedText = %q, want %q", got, tc.text)
			}
			b := tc.s.Buttons()[BDisarm]
			if b.Visible != tc.visible || b.Name != "Cancel Quick Restart" {
				t.Errorf("disarm button %+v", b)
			}
			want := None
			if tc.visible {
				want = Disarm
			}
			if got := tc.s.Click(BDisarm, 0); got != want {
				t.Errorf("Click(BDisarm) = %v, want %v", got, want)
			}
			busy := tc.s
			busy.Busy = true
			if got := busy.Click(BDisarm, 0); got != None {
				t.Errorf("a click while busy = %v", got)
			}
			if strings.Contains(tc.s.Info(), "prepared") {
				t.Error("the line under the buttons took the armed line")
			}
		})
	}
}
