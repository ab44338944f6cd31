package hook_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
	"github.com/rapidreboot/rapidreboot/cmd/rapidreboot-shutdown/internal/hook"
)

const nextBoot = "0b9e8d7c-6b5a-4948-8372-6a5b4c3d2e1f"

// restart runs the stop step of this boot with the shutdown target, then
// the boot step of the next boot, whose kernel started gap after the stop
// step, of the given x86 loader type (0xD0 kexec, 0x72 GRUB).
func restart(t *testing.T, m *machine, target string, loaderType string, gap time.Duration, sys string) string {
	t.Helper()
	m.sys.target = target
	hook.Verify(m.cfg)
	hook.RecordShutdown(m.cfg)
	put(t, m.proc, "sys/kernel/random/boot_id", nextBoot+"\n")
	put(t, m.proc, "sys/kernel/bootloader_type", loaderType+"\n")
	defer put(t, m.proc, "sys/kernel/random/boot_id", thisBoot+"\n")
	hook.Boot(m.cfg)
	return hook.BootGap(m.cfg, hook.Clocks{Sys: sys, KernelStart: func() (time.Time, error) { return m.cfg.Now().Add(gap), nil }})
}

func gapsOf(t *testing.T, m *machine) []boottime.Record {
	t.Helper()
	d, err := armstate.OpenDirIn(m.root, armstate.StateDir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rs, err := boottime.ReadGaps(d)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestTheStopAndBootStepsMeasureTheGapOfEachRestart(t *testing.T) {
	for _, tc := range []struct {
		name, target, loader string
		armed                bool
		want                 boottime.Kind
		note                 string
	}{
		{"firmware reboot", "reboot", "0x72", false, boottime.KindFirmware, "firmware restart took 41s"},
		{"quick restart", "reboot", "0xd0", true, boottime.KindKexec, "kexec restart took 9s"},
		{"systemctl kexec", "kexec", "208", false, boottime.KindKexec, "kexec restart took 9s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			if tc.armed {
				m.armed(t)
			}
			gap := 41 * time.Second
			if tc.want == boottime.KindKexec {
				gap = 9 * time.Second
			}
			note := restart(t, m, tc.target, tc.loader, gap, "")
			if !strings.Contains(note, tc.note) || !strings.Contains(m.log.String(), tc.note) {
				t.Fatalf("note %q, log:\n%s", note, m.log)
			}
			rs := gapsOf(t, m)
			if len(rs) != 1 || rs[0].Kind != tc.want || rs[0].Value != gap || rs[0].BootID != nextBoot {
				t.Fatalf("history %+v", rs)
			}
		})
	}
}

func TestAPowerOffIsNoGap(t *testing.T) {
	m := newMachine(t)
	restart(t, m, "poweroff", "0x72", 41*time.Second, "")
	if rs := gapsOf(t, m); len(rs) != 0 {
		t.Fatalf("history %+v", rs)
	}
	if _, err := os.Lstat(filepath.Join(m.stateDir(), boottime.ShutdownFile)); !os.IsNotExist(err) {
		t.Fatalf("the shutdown record was not consumed: %v", err)
	}
}

func TestAFirmwareBootKeepsTheFPDTRecord(t *testing.T) {
	m := newMachine(t)
	sys := filepath.FromSlash("../../../../backend/system/boottime/testdata/sys")
	restart(t, m, "reboot", "0x72", 41*time.Second, sys)
	rs := gapsOf(t, m)
	if len(rs) != 2 || rs[1].Kind != boottime.KindFPDT || rs[1].Value != 9135*time.Millisecond {
		t.Fatalf("history %+v", rs)
	}
	// A kexec boot shows the same (stale) table: not kept again.
	restart(t, m, "reboot", "0xd0", 9*time.Second, sys)
	if rs := gapsOf(t, m); len(rs) != 3 || rs[2].Kind != boottime.KindKexec {
		t.Fatalf("history %+v", rs)
	}
}

func TestTheShutdownRecordRefusesASymlinkedStateDirectory(t *testing.T) {
	m := newMachine(t)
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, m.stateDir()); err != nil {
		t.Fatal(err)
	}
	hook.RecordShutdown(m.cfg)
	if es, _ := os.ReadDir(elsewhere); len(es) != 0 {
		t.Fatalf("written through the symlink: %v", es)
	}
	if !strings.Contains(m.log.String(), "boot time:") {
		t.Fatalf("no line about it:\n%s", m.log)
	}
}
