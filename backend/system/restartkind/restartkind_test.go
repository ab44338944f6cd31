package restartkind

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/advice"
	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
)

func needrestart(t *testing.T, name string) *NeedRestart {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "needrestart", name))
	if err != nil {
		t.Fatal(err)
	}
	nr, err := ParseNeedRestart(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return nr
}

// pkgs parses a reboot-required.pkgs as Debian's maintainer scripts leave
// it (appended per package, names repeat, some with an architecture).
func pkgs(content string) []string {
	return rebootreq.Parse([]byte(content), true).Packages
}

const (
	running    = "6.1.0-27-amd64"
	newer      = "6.1.0-28-amd64"
	cmdline    = "root=UUID=0b2f6c8e-6e0e-4d4a-9d49-6c7d2f1b8e11 ro quiet"
	runningCmd = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 " + cmdline
)

func TestDecideTable(t *testing.T) {
	base := func() Inputs {
		return Inputs{
			RunningKernel: running, PlanVersion: running,
			RunningCmdline: runningCmd, PlanCmdline: cmdline,
			SoftAvailable: true, QuickAvailable: true,
		}
	}
	tests := []struct {
		name string
		in   func(in *Inputs)
		want advice.Advice
	}{
		{"nothing pending", func(in *Inputs) {}, advice.Advice{Kind: advice.Full, Code: advice.Nothing, Detail: "", QuickOffered: true}},
		{"nothing pending, needrestart agrees", func(in *Inputs) {
			in.NeedRestart = needrestart(t, "nothing.txt")
		}, advice.Advice{Kind: advice.Full, Code: advice.Nothing, Detail: "", QuickOffered: true}},
		{"recorded on the build host: KSTA 0 decides nothing", func(in *Inputs) {
			in.NeedRestart = needrestart(t, "buildhost-3.6.txt")
		}, advice.Advice{Kind: advice.Full, Code: advice.Nothing, Detail: "", QuickOffered: true}},
		{"new kernel installed and planned", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("linux-image-6.1.0-28-amd64\nlinux-image-6.1.0-28-amd64\n")
			in.PlanVersion = newer
		}, advice.Advice{Kind: advice.Quick, Code: advice.Kernel, Detail: newer, QuickOffered: true}},
		{"kernel and libc: the kernel wins over soft", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("linux-image-6.1.0-28-amd64\nlibc6\nlinux-image-6.1.0-28-amd64\nlibssl3:amd64\n")
			in.PlanVersion = newer
		}, advice.Advice{Kind: advice.Quick, Code: advice.Kernel, Detail: newer, QuickOffered: true}},
		{"plan differs from running, no marker", func(in *Inputs) {
			in.PlanVersion = newer
		}, advice.Advice{Kind: advice.Quick, Code: advice.Kernel, Detail: newer, QuickOffered: true}},
		{"needrestart KSTA 3", func(in *Inputs) {
			in.NeedRestart = needrestart(t, "kernel-version-upgrade.txt")
			in.PlanVersion = ""
		}, advice.Advice{Kind: advice.Quick, Code: advice.Kernel, Detail: newer, QuickOffered: true}},
		{"needrestart KSTA 2 (ABI-compatible rebuild, same uname -r)", func(in *Inputs) {
			in.NeedRestart = needrestart(t, "kernel-abi-upgrade.txt")
			in.RunningKernel, in.PlanVersion = newer, newer
		}, advice.Advice{Kind: advice.Quick, Code: advice.Kernel, Detail: newer, QuickOffered: true}},
		{"command line changed", func(in *Inputs) {
			in.PlanCmdline = cmdline + " mitigations=off"
		}, advice.Advice{Kind: advice.Quick, Code: advice.Cmdline, Detail: running, QuickOffered: true}},
		{"only BOOT_IMAGE and order differ: not a change", func(in *Inputs) {
			in.PlanCmdline = "quiet ro root=UUID=0b2f6c8e-6e0e-4d4a-9d49-6c7d2f1b8e11"
		}, advice.Advice{Kind: advice.Full, Code: advice.Nothing, Detail: "", QuickOffered: true}},
		{"microcode package", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("intel-microcode\n")
		}, advice.Advice{Kind: advice.Quick, Code: advice.Microcode, Detail: "", QuickOffered: true}},
		{"needrestart microcode obsolete", func(in *Inputs) {
			in.NeedRestart = needrestart(t, "microcode.txt")
			in.RunningKernel, in.PlanVersion = newer, newer
		}, advice.Advice{Kind: advice.Quick, Code: advice.Microcode, Detail: "", QuickOffered: true}},
		{"libraries only, soft available", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("libc6\ndbus\nlibc6\nsystemd\nlibssl3:amd64\n")
		}, advice.Advice{Kind: advice.Soft, Code: advice.Userspace, Detail: "dbus, libc6, libssl3", QuickOffered: true}},
		{"libraries only, no soft (systemd 252)", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("libc6\n")
			in.SoftAvailable = false
		}, advice.Advice{Kind: advice.Quick, Code: advice.Userspace, Detail: "libc6", QuickOffered: true}},
		{"needrestart services only", func(in *Inputs) {
			in.NeedRestart = needrestart(t, "services-only.txt")
			in.RunningKernel, in.PlanVersion = newer, newer
		}, advice.Advice{Kind: advice.Soft, Code: advice.Userspace, Detail: "dbus.service, systemd-logind.service, systemd-journald.service", QuickOffered: true}},
		{"marker without package list", func(in *Inputs) {
			in.RebootRequired = true
		}, advice.Advice{Kind: advice.Quick, Code: advice.Userspace, Detail: "", QuickOffered: true}},
		{"shim upgraded", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("shim-signed\nlinux-base\n")
		}, advice.Advice{Kind: advice.Full, Code: advice.BootLoader, Detail: "shim-signed", QuickOffered: false}},
		{"shim and a new kernel: the boot loader wins", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("linux-image-6.1.0-28-amd64\nshim-signed:amd64\n")
			in.PlanVersion = newer
		}, advice.Advice{Kind: advice.Full, Code: advice.BootLoader, Detail: "shim-signed", QuickOffered: false}},
		{"grub-efi upgraded since boot (dpkg.log)", func(in *Inputs) {
			in.DpkgSinceBoot = []string{"libc6", "grub-efi-amd64-signed", "grub-efi-amd64-bin"}
		}, advice.Advice{Kind: advice.Full, Code: advice.BootLoader, Detail: "grub-efi-amd64-bin", QuickOffered: false}},
		{"grub-pc upgraded since boot", func(in *Inputs) {
			in.DpkgSinceBoot = []string{"grub-pc"}
		}, advice.Advice{Kind: advice.Full, Code: advice.BootLoader, Detail: "grub-pc", QuickOffered: false}},
		{"grub-common alone is not the boot loader image", func(in *Inputs) {
			in.DpkgSinceBoot = []string{"grub-common", "grub2-common"}
		}, advice.Advice{Kind: advice.Full, Code: advice.Nothing, Detail: "", QuickOffered: true}},
		{"firmware update staged (BootNext)", func(in *Inputs) {
			in.Firmware.Pending = []string{"BootNext=Boot0003"}
			in.PlanVersion = newer
		}, advice.Advice{Kind: advice.Full, Code: advice.Firmware, Detail: "BootNext=Boot0003", QuickOffered: false}},
		{"coldreboot beats everything", func(in *Inputs) {
			in.ColdReboot = true
			in.Firmware.Pending = []string{"BootNext=Boot0003"}
			in.PlanVersion = newer
		}, advice.Advice{Kind: advice.Full, Code: advice.ColdReboot, Detail: "", QuickOffered: false}},
		{"kernel update but Quick Restart unavailable", func(in *Inputs) {
			in.PlanVersion = newer
			in.QuickAvailable = false
		}, advice.Advice{Kind: advice.Full, Code: advice.QuickUnavailable, Detail: newer, QuickOffered: true}},
		{"libraries, no soft and no quick", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("dbus\n")
			in.SoftAvailable, in.QuickAvailable = false, false
		}, advice.Advice{Kind: advice.Full, Code: advice.QuickUnavailable, Detail: "dbus", QuickOffered: true}},
		{"libraries, soft available, quick not: soft still", func(in *Inputs) {
			in.RebootRequired = true
			in.Pkgs = pkgs("dbus\n")
			in.QuickAvailable = false
		}, advice.Advice{Kind: advice.Soft, Code: advice.Userspace, Detail: "dbus", QuickOffered: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.in(&in)
			if got := Decide(in); got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseNeedRestartRecorded(t *testing.T) {
	nr := needrestart(t, "buildhost-3.6.txt")
	want := &NeedRestart{Version: "3.6", KCur: "6.18.44-fc-v1045", KSta: KStaUnknown, UCSta: 1}
	if !reflect.DeepEqual(nr, want) {
		t.Errorf("got %+v, want %+v", nr, want)
	}
	nr = needrestart(t, "services-only.txt")
	if len(nr.Services) != 3 || len(nr.Sessions) != 2 || nr.KSta != KStaCurrent {
		t.Errorf("services-only: %+v", nr)
	}
}

func TestParseNeedRestartRefuses(t *testing.T) {
	for _, in := range []string{
		"",
		"Scanning processes...\n",
		"NEEDRESTART-KSTA: 7\n",
		"NEEDRESTART-KSTA: x\n",
		"NEEDRESTART-UCSTA: -1\n",
	} {
		if nr, err := ParseNeedRestart([]byte(in)); err == nil {
			t.Errorf("%q: got %+v, want an error", in, nr)
		}
	}
}

func TestParseDpkgLogSinceBoot(t *testing.T) {
	log := `2026-12-01 09:00:00 startup archives unpack
2026-12-01 09:00:01 upgrade grub-efi-amd64-bin:amd64 2.06-13 2.06-13+deb12u1
2026-12-02 10:11:12 startup archives unpack
2026-12-02 10:11:13 upgrade shim-signed:amd64 1.39+15.7-1 1.44+15.8-1~deb12u1
2026-12-02 10:11:13 status half-configured shim-signed:amd64 1.44+15.8-1~deb12u1
2026-12-02 10:11:14 install linux-image-6.1.0-28-amd64:amd64 <none> 6.1.119-1
2026-12-02 10:11:15 upgrade shim-signed:amd64 1.44+15.8-1~deb12u1 1.44+15.8-1~deb12u1
2026-12-02 10:11:16 configure grub-pc:amd64 2.06-13+deb12u1 <none>
garbage line
2026-13-02 10:11:17 upgrade bogus:amd64 1 2
`
	since := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	got := ParseDpkgLog([]byte(log), since, time.UTC)
	want := []string{"shim-signed", "linux-image-6.1.0-28-amd64"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseEFIVariables(t *testing.T) {
	bn, err := ParseBootNext([]byte{0x07, 0, 0, 0, 0x03, 0x00})
	if err != nil || bn != 3 {
		t.Errorf("BootNext = %d, %v", bn, err)
	}
	if _, err := ParseBootNext([]byte{7, 0, 0, 0, 3}); err == nil {
		t.Error("short BootNext accepted")
	}
	oi, err := ParseOsIndications([]byte{0x07, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0})
	if err != nil || oi != OsIndFileCapsuleDeliver {
		t.Errorf("OsIndications = %#x, %v", oi, err)
	}
}

func TestCmdlineDiff(t *testing.T) {
	add, rm := CmdlineDiff("root=/dev/sda1 ro quiet splash", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet nomodeset")
	if !reflect.DeepEqual(add, []string{"splash"}) || !reflect.DeepEqual(rm, []string{"nomodeset"}) {
		t.Errorf("added %q, removed %q", add, rm)
	}
}

// writeRoot lays out files under a fixture root.
func writeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestGatherFixtureRoot(t *testing.T) {
	now := time.Now()
	boot := now.Add(-time.Hour)
	before := boot.Add(-time.Hour).In(time.Local).Format(dpkgTime)
	after := boot.Add(time.Minute).In(time.Local).Format(dpkgTime)
	root := writeRoot(t, map[string]string{
		"run/reboot-required":      "*** System restart required ***\n",
		"run/reboot-required.pkgs": "libc6\ndbus\n",
		OsReleasePath:              running + "\n",
		CmdlinePath:                runningCmd + "\n",
		UptimePath:                 "3600.00 7000.00\n",
		DpkgLogPath: before + " upgrade grub-pc:amd64 1 2\n" +
			after + " upgrade grub-efi-amd64-signed:amd64 1 2\n",
		filepath.Join(EfivarsDir, "BootNext-"+GlobalGUID):      "\x07\x00\x00\x00\x03\x00",
		filepath.Join(EfivarsDir, "OsIndications-"+GlobalGUID): "\x07\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00",
		FwupdPendingDB: "",
	})
	g := Gather(root, now)
	if len(g.Problems) != 0 {
		t.Errorf("problems: %v", g.Problems)
	}
	if !g.RebootRequired || !reflect.DeepEqual(g.Pkgs, []string{"dbus", "libc6"}) {
		t.Errorf("marker: %v %q", g.RebootRequired, g.Pkgs)
	}
	if g.RunningKernel != running || g.RunningCmdline != runningCmd {
		t.Errorf("running: %q %q", g.RunningKernel, g.RunningCmdline)
	}
	if !reflect.DeepEqual(g.DpkgSinceBoot, []string{"grub-efi-amd64-signed"}) {
		t.Errorf("dpkg since boot: %q", g.DpkgSinceBoot)
	}
	want := []string{"BootNext=Boot0003", "OsIndications: capsule on disk", "OsIndications: firmware setup", "fwupd: /var/lib/fwupd/pending.db"}
	if !reflect.DeepEqual(g.Firmware.Pending, want) {
		t.Errorf("firmware: %q, want %q", g.Firmware.Pending, want)
	}
}

func TestGatherEmptyRootIsNothingPending(t *testing.T) {
	g := Gather(t.TempDir(), time.Now())
	in := g.Inputs
	in.QuickAvailable, in.SoftAvailable = true, true
	if a := Decide(in); a.Code != advice.Nothing {
		t.Errorf("empty root: %+v", a)
	}
	// The running kernel, command line and uptime are missing: problems, not a panic.
	if len(g.Problems) == 0 {
		t.Error("no problems reported for an empty root")
	}
}

func FuzzParseNeedRestart(f *testing.F) {
	for _, n := range []string{"buildhost-3.6.txt", "kernel-version-upgrade.txt", "services-only.txt", "microcode.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "needrestart", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		nr, err := ParseNeedRestart(b)
		if err != nil {
			return
		}
		if nr.KSta < 0 || nr.KSta > 3 || len(nr.Services) > maxNames || len(nr.Sessions) > maxNames {
			t.Fatalf("out of range: %+v", nr)
		}
		_ = Decide(Inputs{NeedRestart: nr, QuickAvailable: true})
	})
}

func FuzzParseDpkgLog(f *testing.F) {
	f.Add([]byte("2026-12-02 10:11:13 upgrade shim-signed:amd64 1 2\n"))
	f.Add([]byte("2026-12-02 10:11:14 install linux-image-6.1.0-28-amd64:amd64 <none> 6.1.119-1\n"))
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		out := ParseDpkgLog(b, since, time.UTC)
		if len(out) > maxNames {
			t.Fatalf("%d names", len(out))
		}
		for _, n := range out {
			if n == "" || len(n) > maxFieldLen {
				t.Fatalf("bad name %q", n)
			}
		}
		_ = Decide(Inputs{DpkgSinceBoot: out})
	})
}

func FuzzCmdline(f *testing.F) {
	f.Add(runningCmd, cmdline)
	f.Add("a a b", "a b b")
	f.Fuzz(func(t *testing.T, a, b string) {
		if SameCmdline(a, b) != SameCmdline(b, a) {
			t.Fatal("SameCmdline is not symmetric")
		}
		add, rm := CmdlineDiff(a, b)
		if SameCmdline(a, b) != (len(add) == 0 && len(rm) == 0) {
			t.Fatalf("SameCmdline and CmdlineDiff disagree: %q %q", add, rm)
		}
	})
}
