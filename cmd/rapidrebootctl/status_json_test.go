package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/boottime"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// An older helper has no GetTimeSaved: status --json still answers, with
// nothing measured (seconds null), never a guess and never an error.
func TestStatusJSONWithAnOlderHelperSaysNothingMeasured(t *testing.T) {
	newBusRig(t) // a helper stand-in with the first four methods only
	code, out, errs := ctl(t, "status", "--json")
	if code != 0 || errs != "" {
		t.Fatalf("status --json: %d\n%s\n%s", code, out, errs)
	}
	var st struct {
		Armed     *bool           `json:"armed"`
		TimeSaved json.RawMessage `json:"time_saved"`
	}
	var ts bytes.Buffer
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Armed == nil || json.Compact(&ts, st.TimeSaved) != nil || ts.String() != `{"seconds":null}` {
		t.Fatalf("status --json = %s (%v)", out, err)
	}
}

// --root reads the target's own history and GRUB_TIMEOUT in-process, and
// no firmware figure of the machine it runs on.
func TestStatusJSONForARootReadsTheTargetsHistory(t *testing.T) {
	r := newRootRig(t)
	dir := filepath.Join(r.target, armstate.StateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	hist, err := os.ReadFile(filepath.FromSlash("../../backend/system/boottime/testdata/history/boot-gaps"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, boottime.GapsFile), hist, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := ctl(t, "--root", r.target, "status", "--json")
	if code != 0 {
		t.Fatalf("status: %d %s %s", code, out, errs)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	ts := st.TimeSaved
	if ts.Seconds == nil || *ts.Seconds != 31.2 || ts.Source != boottime.SourceMeasured || ts.N != 2 ||
		ts.Firmware.N != 3 || ts.Kexec.N != 2 || ts.FPDT != nil || ts.Systemd != nil {
		t.Fatalf("time_saved = %s", out)
	}
	if !strings.Contains(out, `"source": "measured"`) || !strings.Contains(out, `"firmware_gaps": {`) {
		t.Fatalf("the JSON names differ:\n%s", out)
	}
	// A relative --root names the same target.
	t.Chdir(filepath.Dir(r.target))
	code, rel, errs := ctl(t, "--root", filepath.Base(r.target), "status", "--json")
	if code != 0 || rel != out {
		t.Fatalf("relative --root: %d %s\n%s", code, errs, rel)
	}
}

func TestStatusJSONNamesTheNvidiaDriverWithItsCode(t *testing.T) {
	newBusRig(t)
	sys := t.TempDir()
	seams(t, withLive(preflight.Env{Sys: sys, Proc: t.TempDir(), Run: t.TempDir(), Root: "/"}))
	code, out, _ := ctl(t, "status", "--json")
	if code != 0 || !strings.Contains(out, `"advisories": []`) {
		t.Fatalf("without the driver: %d\n%s", code, out)
	}
	if err := os.MkdirAll(filepath.Join(sys, "module/nvidia"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, _ = ctl(t, "status", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || len(st.Advisories) != 1 ||
		st.Advisories[0].Code != reason.NvidiaDriver || !strings.Contains(st.Advisories[0].Message, "normal Restart") {
		t.Fatalf("with the driver: %d\n%s", code, out)
	}
}
