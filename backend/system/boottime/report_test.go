package boottime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

func gaps(kind Kind, secs ...float64) []Record {
	var rs []Record
	for _, s := range secs {
		rs = append(rs, Record{Kind: kind, Value: time.Duration(s * float64(time.Second)), BootID: idA})
	}
	return rs
}

func TestComputeChoosesTheSourceInTheIssuesOrder(t *testing.T) {
	fp := BootRecord{StartupStart: 5913000000, ExitBootServicesExit: 9135000000}
	sd := &Span{Seconds: 12.5, Loader: 3, N: 1}
	measured := append(gaps(KindFirmware, 41.2, 39.9, 44.0), gaps(KindKexec, 9.8, 10.2)...)
	to := 5 * time.Second
	for _, tc := range []struct {
		name   string
		in     Inputs
		want   *float64
		source Source
		n      int
	}{
		{"nothing measured", Inputs{}, nil, "", 0},
		{"only menu timeout: still nothing", Inputs{MenuTimeout: &to}, nil, "", 0},
		{"fpdt now", Inputs{FPDT: &fp, Systemd: sd, History: measured}, ptr(9.1), SourceFPDT, 1},
		{"fpdt kept at firmware boots wins over now", Inputs{FPDT: &fp, History: append(gaps(KindFPDT, 8, 9, 30), measured...)}, ptr(9), SourceFPDT, 3},
		{"fpdt of zeros: systemd", Inputs{FPDT: &BootRecord{}, Systemd: sd, History: measured}, ptr(12.5), SourceSystemd, 1},
		{"measured", Inputs{History: measured}, ptr(41.2 - 10), SourceMeasured, 2},
		{"only firmware gaps", Inputs{History: gaps(KindFirmware, 40)}, nil, "", 0},
		{"only kexec gaps", Inputs{History: gaps(KindKexec, 10)}, nil, "", 0},
		{"kexec slower: nothing claimed", Inputs{History: append(gaps(KindFirmware, 10), gaps(KindKexec, 12)...)}, nil, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(tc.in)
			if (r.Seconds == nil) != (tc.want == nil) || (r.Seconds != nil && *r.Seconds != *tc.want) || r.Source != tc.source || r.N != tc.n {
				t.Fatalf("got %v %q n=%d, want %v %q n=%d", deref(r.Seconds), r.Source, r.N, deref(tc.want), tc.source, tc.n)
			}
		})
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestComputeReportsEveryFigure(t *testing.T) {
	to := 5 * time.Second
	r := Compute(Inputs{History: append(gaps(KindFirmware, 41.2, 39.9, 44.0), gaps(KindKexec, 9.8, 10.2)...), MenuTimeout: &to})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seconds":31.2,"source":"measured","n":2,"firmware_gaps":{"median_s":41.2,"n":3},"kexec_gaps":{"median_s":10,"n":2},"boot_menu_timeout_s":5}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	if b, _ := json.Marshal(Compute(Inputs{})); string(b) != `{"seconds":null}` {
		t.Fatalf("nothing measured: %s", b)
	}
}

func TestSpanOfSystemd(t *testing.T) {
	s, err := SpanOfSystemd(12_543_210, 3_100_000)
	if err != nil || s.Seconds != 12.5 || s.Loader != 3.1 {
		t.Fatalf("%+v, %v", s, err)
	}
	for _, tc := range [][2]uint64{{0, 0}, {0, 5}, {5, 6}, {uint64(2 * time.Hour / time.Microsecond), 0}} {
		if _, err := SpanOfSystemd(tc[0], tc[1]); !IsNoRecord(err) {
			t.Errorf("%v: %v, want ErrNoRecord", tc, err)
		}
	}
}

func TestMenuTimeoutReadsGrubDefaultsWithTheGrubParser(t *testing.T) {
	got, ok := MenuTimeout(host.Target{Root: filepath.Join("testdata", "grub"), OwnerUID: uint32(os.Getuid())})
	if !ok || got != 2*time.Second {
		t.Fatalf("%v %v, want 2s from grub.d overriding 5", got, ok)
	}
	if _, ok := MenuTimeout(host.Target{Root: t.TempDir(), OwnerUID: uint32(os.Getuid())}); ok {
		t.Fatal("a timeout without a grub configuration")
	}
}

func TestReportCrossesTheWire(t *testing.T) {
	to := 5 * time.Second
	fp := BootRecord{StartupStart: 5913000000, ExitBootServicesExit: 9135000000}
	for _, in := range []Inputs{
		{},
		{History: append(gaps(KindFirmware, 41.2, 39.9), gaps(KindKexec, 9.8)...), MenuTimeout: &to},
		{FPDT: &fp, Systemd: &Span{Seconds: 9.1, Loader: 3.2, N: 1}},
	} {
		r := Compute(in)
		m := map[string]dbus.Variant{}
		r.Wire(m)
		// Through a real encoding, as the bus carries it.
		msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath: dbus.MakeVariant(dbus.ObjectPath("/x")), dbus.FieldInterface: dbus.MakeVariant("a.b"),
			dbus.FieldMember: dbus.MakeVariant("C"), dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(m))}, Body: []any{m}}
		var back map[string]dbus.Variant
		if err := dbus.Store(msg.Body, &back); err != nil {
			t.Fatal(err)
		}
		if got := FromWire(back); !reflect.DeepEqual(got, r) {
			a, _ := json.Marshal(r)
			b, _ := json.Marshal(got)
			t.Fatalf("sent %s\ngot  %s", a, b)
		}
	}
	if got := FromWire(map[string]dbus.Variant{KeySavesMS: dbus.MakeVariant("9 s")}); got.Seconds != nil {
		t.Fatalf("a value of the wrong type was read: %+v", got)
	}
}
