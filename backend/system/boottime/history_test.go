package boottime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
)

const (
	idA = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	idB = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
)

func TestParseGapsFixture(t *testing.T) {
	rs, err := ParseGaps(fixture(t, "history/boot-gaps"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 || rs[0].Kind != KindFirmware || rs[0].Value != 41230*time.Millisecond || rs[0].BootID != idA || rs[0].At.Unix() != 1796220000 {
		t.Fatalf("got %+v", rs)
	}
	if m, n := Median(rs, KindFirmware); m != 41230*time.Millisecond || n != 3 {
		t.Fatalf("firmware median %v n %d", m, n)
	}
	if m, n := Median(rs, KindKexec); m != 10025*time.Millisecond || n != 2 {
		t.Fatalf("kexec median %v n %d", m, n)
	}
	if got := MarshalGaps(rs); string(got) != string(fixture(t, "history/boot-gaps")) {
		t.Fatalf("does not round-trip:\n%s", got)
	}
}

func TestParseGapsIsStrict(t *testing.T) {
	ok := "firmware 41230 " + idA + " 1796220000\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "no final newline"},
		{"no final newline", gapsMagic + "\n" + strings.TrimSuffix(ok, "\n"), "no final newline"},
		{"other magic", "rapidreboot-boot-gaps 2\n" + ok, "first line"},
		{"unknown kind", gapsMagic + "\nsoft 5 " + idA + " 1\n", "unknown kind"},
		{"three fields", gapsMagic + "\nkexec 5 " + idA + "\n", "want 4 fields"},
		{"two spaces", gapsMagic + "\nkexec  5 " + idA + " 1\n", "want 4 fields"},
		{"negative", gapsMagic + "\nkexec -5 " + idA + " 1\n", "not a count"},
		{"leading zero", gapsMagic + "\nkexec 05 " + idA + " 1\n", "not a count"},
		{"over MaxGap", gapsMagic + "\nkexec 900001 " + idA + " 1\n", "over 15m"},
		{"bad boot id", gapsMagic + "\nkexec 5 " + strings.ToUpper(idA) + " 1\n", "bad boot id"},
		{"empty line", gapsMagic + "\n\n", "want 4 fields"},
		{"too many", gapsMagic + "\n" + strings.Repeat(ok, 3*MaxPerKind+1), "records, over"},
		{"too big", gapsMagic + "\n" + strings.Repeat("x", MaxFileSize), "bytes, over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGaps([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseShutdown(t *testing.T) {
	s, err := ParseShutdown(fixture(t, "history/last-shutdown"))
	if err != nil || s.BootID != idA || s.At.UnixMilli() != 1796220000500 || s.Target != "reboot" {
		t.Fatalf("got %+v, %v", s, err)
	}
	for _, bad := range []string{
		shutdownMagic + "\n",
		shutdownMagic + "\n" + idA + " 1 reboot\n" + idA + " 2 reboot\n",
		shutdownMagic + "\n" + idA + " 1 suspend\n",
		shutdownMagic + "\n" + idA + " 1.5 reboot\n",
		shutdownMagic + "\nnot-a-boot-id 1 reboot\n",
		"rapidreboot-last-shutdown 2\n" + idA + " 1 reboot\n",
	} {
		if _, err := ParseShutdown([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestAppendKeepsTheNewestPerKind(t *testing.T) {
	var rs []Record
	for i := 0; i < MaxPerKind+5; i++ {
		rs = Append(rs, Record{Kind: KindFirmware, Value: time.Duration(i) * time.Second, BootID: idA})
		rs = Append(rs, Record{Kind: KindKexec, Value: time.Duration(i) * time.Second, BootID: idB})
	}
	rs = Append(rs, Record{Kind: KindFPDT, Value: time.Second, BootID: idA})
	if len(rs) != 2*MaxPerKind+1 {
		t.Fatalf("%d records", len(rs))
	}
	if rs[0].Value != 5*time.Second || rs[len(rs)-2].Value != time.Duration(MaxPerKind+4)*time.Second {
		t.Fatalf("kept the wrong ones: first %v, last gap %v", rs[0].Value, rs[len(rs)-2].Value)
	}
	if _, err := ParseGaps(MarshalGaps(rs)); err != nil {
		t.Fatalf("a full history does not parse: %v", err)
	}
}

func stateDir(t *testing.T) *armstate.Dir {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := armstate.OpenDirIn(root, armstate.StateDir, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestAtBootKeepsTheGapOfEachKindOfRestart(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	fp := BootRecord{StartupStart: 5e9, ExitBootServicesExit: 9e9}
	for _, tc := range []struct {
		name     string
		target   string
		kind     armstate.BootKind
		start    time.Time
		fpdt     *BootRecord
		want     []Kind
		wantNote string
	}{
		{"firmware restart", "reboot", armstate.BootFirmware, t0.Add(41 * time.Second), nil, []Kind{KindFirmware}, "firmware restart took 41s"},
		{"firmware restart with fpdt", "reboot", armstate.BootFirmware, t0.Add(41 * time.Second), &fp, []Kind{KindFirmware, KindFPDT}, "took 41s"},
		{"quick restart", "reboot", armstate.BootKexec, t0.Add(9500 * time.Millisecond), &fp, []Kind{KindKexec}, "kexec restart took 9.5s"},
		{"systemctl kexec", "kexec", armstate.BootKexec, t0.Add(9 * time.Second), nil, []Kind{KindKexec}, "took 9s"},
		{"unknown target", "unknown", armstate.BootKexec, t0.Add(9 * time.Second), nil, []Kind{KindKexec}, "took 9s"},
		{"power-off", "poweroff", armstate.BootFirmware, t0.Add(41 * time.Second), nil, nil, ""},
		{"soft-reboot", "soft-reboot", armstate.BootFirmware, t0.Add(41 * time.Second), nil, nil, ""},
		{"unknown boot kind", "reboot", armstate.BootUnknown, t0.Add(41 * time.Second), nil, nil, ""},
		{"clock went back", "reboot", armstate.BootFirmware, t0.Add(-time.Second), nil, nil, ""},
		{"left off for an hour", "reboot", armstate.BootFirmware, t0.Add(time.Hour), nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := stateDir(t)
			if err := RecordShutdown(d, Shutdown{BootID: idA, At: t0, Target: tc.target}); err != nil {
				t.Fatal(err)
			}
			note, err := AtBoot(d, Boot{BootID: idB, Kind: tc.kind, KernelStart: tc.start, FPDT: tc.fpdt})
			if err != nil || !strings.Contains(note, tc.wantNote) {
				t.Fatalf("note %q, %v; want %q", note, err, tc.wantNote)
			}
			rs, err := ReadGaps(d)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []Kind
			for _, r := range rs {
				kinds = append(kinds, r.Kind)
			}
			if strings.Join(kindStrings(kinds), ",") != strings.Join(kindStrings(tc.want), ",") {
				t.Fatalf("kept %v, want %v", kinds, tc.want)
			}
			if _, err := d.ReadFile(ShutdownFile, MaxFileSize); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the shutdown record is still there: %v", err)
			}
			// A second run in the same boot keeps nothing more.
			if err := RecordShutdown(d, Shutdown{BootID: idA, At: t0, Target: tc.target}); err != nil {
				t.Fatal(err)
			}
			if _, err := AtBoot(d, Boot{BootID: idB, Kind: tc.kind, KernelStart: tc.start, FPDT: tc.fpdt}); err != nil {
				t.Fatal(err)
			}
			if rs2, _ := ReadGaps(d); len(rs2) != len(rs) {
				t.Fatalf("second run: %d records, first %d", len(rs2), len(rs))
			}
		})
	}
}

func kindStrings(ks []Kind) []string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return s
}

func TestAtBootIgnoresTheShutdownOfThisBoot(t *testing.T) {
	d := stateDir(t)
	t0 := time.Now()
	if err := RecordShutdown(d, Shutdown{BootID: idB, At: t0, Target: "reboot"}); err != nil {
		t.Fatal(err)
	}
	if _, err := AtBoot(d, Boot{BootID: idB, Kind: armstate.BootFirmware, KernelStart: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if rs, _ := ReadGaps(d); len(rs) != 0 {
		t.Fatalf("kept %+v", rs)
	}
}

func TestAtBootReplacesADamagedHistoryAndDropsADamagedRecord(t *testing.T) {
	d := stateDir(t)
	t0 := time.Now()
	if err := d.WriteFile(GapsFile, []byte("garbage\n")); err != nil {
		t.Fatal(err)
	}
	if err := RecordShutdown(d, Shutdown{BootID: idA, At: t0, Target: "reboot"}); err != nil {
		t.Fatal(err)
	}
	note, err := AtBoot(d, Boot{BootID: idB, Kind: armstate.BootKexec, KernelStart: t0.Add(8 * time.Second)})
	if err != nil || !strings.Contains(note, "started the boot time history again") {
		t.Fatalf("note %q, %v", note, err)
	}
	if rs, err := ReadGaps(d); err != nil || len(rs) != 1 {
		t.Fatalf("%+v, %v", rs, err)
	}
	if err := d.WriteFile(ShutdownFile, []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	note, err = AtBoot(d, Boot{BootID: idA, Kind: armstate.BootKexec, KernelStart: t0})
	if err != nil || !strings.Contains(note, "damaged record") {
		t.Fatalf("note %q, %v", note, err)
	}
	if _, err := d.ReadFile(ShutdownFile, MaxFileSize); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the damaged record stayed: %v", err)
	}
}

func TestHistoryRefusesSymlinks(t *testing.T) {
	d := stateDir(t)
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, []byte(gapsMagic+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(d.Path(), GapsFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGaps(d); !errors.Is(err, armstate.ErrUnsafe) {
		t.Fatalf("ReadGaps through a symlink: %v, want ErrUnsafe", err)
	}
	// Writing replaces the link itself (rename over it), never the target.
	if err := RecordShutdown(d, Shutdown{BootID: idA, At: time.Now(), Target: "reboot"}); err != nil {
		t.Fatal(err)
	}
	if _, err := AtBoot(d, Boot{BootID: idB, Kind: armstate.BootKexec, KernelStart: time.Now().Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != gapsMagic+"\n" {
		t.Fatalf("the symlink's target was written: %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(d.Path(), GapsFile)); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history after the write: %v, %v", fi, err)
	}
}

func TestHistoryRefusesAFileWritableByOthers(t *testing.T) {
	d := stateDir(t)
	p := filepath.Join(d.Path(), GapsFile)
	if err := os.WriteFile(p, fixture(t, "history/boot-gaps"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGaps(d); !errors.Is(err, armstate.ErrUnsafe) {
		t.Fatalf("ReadGaps of a 0666 file: %v, want ErrUnsafe", err)
	}
}

func FuzzParseGaps(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("testdata", "history", "boot-gaps"))
	f.Add(b)
	f.Add([]byte(gapsMagic + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseGaps(b)
		if err != nil {
			return
		}
		// What parses is re-written to the same bytes: one spelling each.
		if got := MarshalGaps(rs); string(got) != string(b) {
			t.Fatalf("%q re-written as %q", b, got)
		}
	})
}

func FuzzParseShutdown(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("testdata", "history", "last-shutdown"))
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseShutdown(b)
		if err != nil {
			return
		}
		if got := MarshalShutdown(s); string(got) != string(b) {
			t.Fatalf("%q re-written as %q", b, got)
		}
	})
}
