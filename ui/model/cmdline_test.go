package model

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitCmdline(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"spaces, tabs and a newline separate", "root=/dev/sda1  ro\tquiet\n", []string{"root=/dev/sda1", "ro", "quiet"}},
		{"a quoted value keeps its spaces", `dyndbg="file a.c +p" ro`, []string{`dyndbg="file a.c +p"`, "ro"}},
		{"a quoted whole parameter keeps its spaces", `"foo=a b" ro`, []string{`"foo=a b"`, "ro"}},
		{"an unclosed quote runs to the end", `foo="a b`, []string{`foo="a b`}},
		{"empty", "  ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SplitCmdline(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitCmdline(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDiffCmdline(t *testing.T) {
	// Running lines as Debian 12's GRUB boots them (/proc/cmdline of the
	// guest); planned lines as the helper plans them (no BOOT_IMAGE).
	const running = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0a1b ro quiet"
	for _, tc := range []struct {
		name             string
		running, planned string
		want             []ParamChange
	}{
		{"the same line but for BOOT_IMAGE differs in nothing", running, "root=UUID=0a1b ro quiet", nil},
		{"order of different names, spacing and quotes do not count",
			`root=UUID=0a1b ro quiet foo="x"`, `quiet  ro foo=x root=UUID=0a1b`, nil},
		{"dash and underscore in a name are the same",
			"nvme_core.default_ps_max_latency_us=0", "nvme-core.default_ps_max_latency_us=0", nil},
		{"a parameter only in the plan is added",
			running, "root=UUID=0a1b ro quiet mitigations=off",
			[]ParamChange{{Kind: ParamAdded, Name: "mitigations", New: "mitigations=off"}}},
		{"a parameter only in the running line is removed",
			running, "root=UUID=0a1b ro",
			[]ParamChange{{Kind: ParamRemoved, Name: "quiet", Old: "quiet"}}},
		{"another value is a change",
			running, "root=UUID=9f8e ro quiet",
			[]ParamChange{{Kind: ParamChanged, Name: "root", Old: "root=UUID=0a1b", New: "root=UUID=9f8e"}}},
		{"a repeated name is one change with all its occurrences",
			"console=tty0 ro", "console=tty0 console=ttyS0,115200 ro",
			[]ParamChange{{Kind: ParamChanged, Name: "console", Old: "console=tty0", New: "console=tty0 console=ttyS0,115200"}}},
		{"the order of one name's occurrences counts",
			"console=ttyS0 console=tty0", "console=tty0 console=ttyS0",
			[]ParamChange{{Kind: ParamChanged, Name: "console", Old: "console=ttyS0 console=tty0", New: "console=tty0 console=ttyS0"}}},
		{"a flag and a value of the same name differ",
			"splash", "splash=silent",
			[]ParamChange{{Kind: ParamChanged, Name: "splash", Old: "splash", New: "splash=silent"}}},
		{"init's arguments after -- are compared as one",
			"ro -- single", "ro -- emergency",
			[]ParamChange{{Kind: ParamChanged, Name: "--", Old: "single", New: "emergency"}}},
		{"added and changed in the plan's order, then removed in the running order",
			running + " splash resume=UUID=77", "ro root=UUID=9f8e quiet nomodeset",
			[]ParamChange{
				{Kind: ParamChanged, Name: "root", Old: "root=UUID=0a1b", New: "root=UUID=9f8e"},
				{Kind: ParamAdded, Name: "nomodeset", New: "nomodeset"},
				{Kind: ParamRemoved, Name: "splash", Old: "splash"},
				{Kind: ParamRemoved, Name: "resume", Old: "resume=UUID=77"},
			}},
		{"BOOT_IMAGE alone in either is no difference", "BOOT_IMAGE=/vmlinuz", "", nil},
		{"systemd-boot's initrd= words are no difference (arch-2020-systemd-boot-luks-ucode)",
			`initrd=\intel-ucode.img initrd=\initramfs-linux.img cryptdevice=UUID=5e1f:cryptroot root=/dev/mapper/cryptroot rw`,
			"cryptdevice=UUID=5e1f:cryptroot root=/dev/mapper/cryptroot rw", nil},
		{"a one-shot word of the running boot that the plan drops is shown",
			"root=/dev/sda1 ro systemd.unit=rescue.target", "root=/dev/sda1 ro",
			[]ParamChange{{Kind: ParamRemoved, Name: "systemd.unit", Old: "systemd.unit=rescue.target"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DiffCmdline(tc.running, tc.planned); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DiffCmdline(%q, %q) =\n%+v\nwant\n%+v", tc.running, tc.planned, got, tc.want)
			}
		})
	}
}

// FuzzDiffCmdline: any two lines are diffed without a panic; a line
// differs from itself in nothing; every change names a parameter that
// has the sides its kind says.
func FuzzDiffCmdline(f *testing.F) {
	f.Add("BOOT_IMAGE=/boot/vmlinuz root=UUID=0a1b ro quiet", "root=UUID=0a1b ro quiet splash")
	f.Add(`foo="a b" -- single`, `"foo=a b" console=tty0 console=ttyS0`)
	f.Add(`"`, `=`)
	f.Fuzz(func(t *testing.T, running, planned string) {
		if len(running) > 4096 || len(planned) > 4096 {
			return
		}
		if d := DiffCmdline(planned, planned); len(d) != 0 {
			t.Fatalf("%q differs from itself: %+v", planned, d)
		}
		for _, c := range DiffCmdline(running, planned) {
			switch c.Kind {
			case ParamAdded:
				if c.New == "" || c.Old != "" {
					t.Fatalf("added %+v", c)
				}
			case ParamRemoved:
				if c.Old == "" || c.New != "" {
					t.Fatalf("removed %+v", c)
				}
			case ParamChanged:
				if c.Old == "" || c.New == "" {
					t.Fatalf("changed %+v", c)
				}
			}
			if c.Kind != ParamRemoved && !strings.Contains(planned, strings.Fields(c.New)[0][:1]) {
				t.Fatalf("%+v is not from the planned line %q", c, planned)
			}
		}
	})
}
