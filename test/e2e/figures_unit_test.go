package e2e

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample builds a restart of the given parts, as the harness records it.
func sample(shutdown, between, boot time.Duration) RestartSample {
	t0 := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	return RestartSample{
		R: Restart{
			Requested: t0,
			HookAt:    t0.Add(shutdown),
			To:        Boot{At: t0.Add(shutdown + between + boot), Uptime: boot.Seconds()},
		},
		Analyze: Analyze{Kernel: boot / 2, Userspace: boot / 2},
	}
}

// TestUnitFiguresTable runs without a guest (TestMain runs the TestUnit
// tests alone then): the table of a run like the final check of
// 2026-12-01, evening, against its golden file.
func TestUnitFiguresTable(t *testing.T) {
	f := NewFigures()
	f.Accel, f.Kernel = "tcg", "6.1.0-57-amd64"
	s := time.Second
	for _, r := range [][3]time.Duration{{3240, 17400, 18460}, {3100, 19000, 20000}, {3500, 16000, 17000}} {
		f.AddRestart(KindFirmware, sample(r[0]*time.Millisecond, r[1]*time.Millisecond, r[2]*time.Millisecond))
	}
	for _, r := range [][3]time.Duration{{7570, 5230, 20310}, {7000, 5000, 19000}, {8000, 5500, 22000}} {
		f.AddRestart(KindQuick, sample(r[0]*time.Millisecond, r[1]*time.Millisecond, r[2]*time.Millisecond))
	}
	f.AddRestart(KindSystemd, sample(5*s, 5*s, 19*s))
	f.AddSpan("Arm (D-Bus call)", 2940*time.Millisecond)
	f.AddSpan("rapidrebootctl arm", 3040*time.Millisecond)
	f.AddSpan("kexec -s -l", 2630*time.Millisecond)
	f.AddSpan("hook: beyond its siblings", 90*time.Millisecond)
	f.Note("first boot of guest 1: 39 s from qemu start to marker")

	var b bytes.Buffer
	f.Write(&b)
	golden := filepath.Join("testdata", "figures.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read %s (go test -run TestUnitFiguresTable -update writes it): %v", golden, err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("the table differs from %s:\n%s", golden, b.String())
	}
}

// TestUnitFiguresTableEmpty: a run that measured nothing says so and
// prints no ratio.
func TestUnitFiguresTableEmpty(t *testing.T) {
	var b bytes.Buffer
	NewFigures().Write(&b)
	if !bytes.Contains(b.Bytes(), []byte("no restarts measured")) || bytes.Contains(b.Bytes(), []byte("target")) {
		t.Errorf("empty figures:\n%s", b.String())
	}
}

// TestUnitFiguresPlanColdBoot: the "plan = cold boot" line counts the
// settings and names the ones that differed.
func TestUnitFiguresPlanColdBoot(t *testing.T) {
	f := NewFigures()
	f.AddPlanColdBoot("GRUB_DEFAULT=0", true)
	f.AddPlanColdBoot(`GRUB_DEFAULT="1>2"`, false)
	var b bytes.Buffer
	f.Write(&b)
	if !bytes.Contains(b.Bytes(), []byte("plan = cold boot: 1 of 2")) || !bytes.Contains(b.Bytes(), []byte(`differed: GRUB_DEFAULT="1>2"`)) {
		t.Errorf("figures:\n%s", b.String())
	}
	b.Reset()
	NewFigures().Write(&b)
	if bytes.Contains(b.Bytes(), []byte("plan = cold boot")) {
		t.Errorf("a run without the test prints the line:\n%s", b.String())
	}
}
