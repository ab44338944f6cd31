package boottime

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
)

// Files in the state directory (/var/lib/rapidreboot, root-owned, 0700),
// read and written only through armstate.Dir: relative to the directory's
// descriptor, never through a symlink, 0600, atomically.
const (
	// ShutdownFile: the end of the last shutdown, written by
	// `rapidreboot-shutdown --verify` (ExecStop of rapidreboot-boot.service,
	// the last point of a shutdown where /var is still writable), consumed
	// by the next boot.
	ShutdownFile = "last-shutdown"
	// GapsFile: the measured history.
	GapsFile = "boot-gaps"

	// MaxPerKind bounds the history: the newest MaxPerKind records of each
	// kind are kept, so the file stays under a few KiB whatever happens.
	MaxPerKind = 16
	// MaxFileSize caps both files when read.
	MaxFileSize = 4 << 10
	// MaxGap: a longer gap is not a restart but a machine left off (a
	// power cut, a shutdown that hung and was reset by hand): not kept.
	MaxGap = 15 * time.Minute
)

// Kind is what a history record measured.
type Kind string

const (
	// KindFirmware: the gap of a restart through the firmware.
	KindFirmware Kind = "firmware"
	// KindKexec: the gap of a restart by kexec (Quick Restart).
	KindKexec Kind = "kexec"
	// KindFPDT: not a gap but the FPDT span read at a firmware boot
	// (firmware + loader), kept because after a kexec the table still
	// shows the last firmware boot and should count once.
	KindFPDT Kind = "fpdt"
)

// Record is one line of GapsFile.
type Record struct {
	Kind   Kind
	Value  time.Duration // millisecond resolution
	BootID string        // the boot it was measured at
	At     time.Time     // when (the kernel's start of that boot), second resolution
}

// Shutdown is the content of ShutdownFile.
type Shutdown struct {
	BootID string    // the boot that shut down
	At     time.Time // wall clock at --verify
	Target string    // "reboot", "kexec", "poweroff", "halt", "soft-reboot", "unknown"
}

const (
	shutdownMagic = "rapidreboot-last-shutdown 1"
	gapsMagic     = "rapidreboot-boot-gaps 1"
)

// MarshalShutdown is ShutdownFile's text: the magic line, then
// "<boot id> <unix ms> <target>".
func MarshalShutdown(s Shutdown) []byte {
	return []byte(fmt.Sprintf("%s\n%s %d %s\n", shutdownMagic, s.BootID, s.At.UnixMilli(), s.Target))
}

// ParseShutdown parses ShutdownFile strictly: exactly the two lines,
// a boot id, a positive millisecond count, a known target.
func ParseShutdown(b []byte) (Shutdown, error) {
	var s Shutdown
	lines, err := splitLines(b, shutdownMagic)
	if err != nil {
		return s, err
	}
	if len(lines) != 1 {
		return s, fmt.Errorf("%d records, want 1", len(lines))
	}
	f := strings.Split(lines[0], " ")
	if len(f) != 3 {
		return s, fmt.Errorf("record %q: want 3 fields", lines[0])
	}
	if !validBootID(f[0]) {
		return s, fmt.Errorf("record %q: bad boot id", lines[0])
	}
	ms, err := parseMillis(f[1])
	if err != nil {
		return s, fmt.Errorf("record %q: %w", lines[0], err)
	}
	if !knownTarget(f[2]) {
		return s, fmt.Errorf("record %q: unknown target", lines[0])
	}
	return Shutdown{BootID: f[0], At: time.UnixMilli(ms), Target: f[2]}, nil
}

// MarshalGaps is GapsFile's text: the magic line, then one line per record,
// "<kind> <ms> <boot id> <unix s>".
func MarshalGaps(rs []Record) []byte {
	var b bytes.Buffer
	b.WriteString(gapsMagic + "\n")
	for _, r := range rs {
		at := r.At.Unix()
		if at < 0 {
			at = 0 // a clock before 1970 (a dead RTC battery) is not worth a damaged file
		}
		fmt.Fprintf(&b, "%s %d %s %d\n", r.Kind, r.Value.Milliseconds(), r.BootID, at)
	}
	return b.Bytes()
}

// ParseGaps parses GapsFile strictly: any malformed line, unknown kind,
// value out of range or more than 2·MaxPerKind·3 lines refuses the whole
// file (a file this program did not write is not believed in part).
func ParseGaps(b []byte) ([]Record, error) {
	lines, err := splitLines(b, gapsMagic)
	if err != nil {
		return nil, err
	}
	if len(lines) > 3*MaxPerKind {
		return nil, fmt.Errorf("%d records, over %d", len(lines), 3*MaxPerKind)
	}
	out := make([]Record, 0, len(lines))
	for i, l := range lines {
		f := strings.Split(l, " ")
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: want 4 fields", i+2)
		}
		k := Kind(f[0])
		if k != KindFirmware && k != KindKexec && k != KindFPDT {
			return nil, fmt.Errorf("line %d: unknown kind %q", i+2, f[0])
		}
		ms, err := parseMillis(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+2, err)
		}
		if time.Duration(ms)*time.Millisecond > MaxGap {
			return nil, fmt.Errorf("line %d: %d ms, over %s", i+2, ms, MaxGap)
		}
		if !validBootID(f[2]) {
			return nil, fmt.Errorf("line %d: bad boot id", i+2)
		}
		at, err := parseMillis(f[3])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+2, err)
		}
		out = append(out, Record{Kind: k, Value: time.Duration(ms) * time.Millisecond, BootID: f[2], At: time.Unix(at, 0)})
	}
	return out, nil
}

// splitLines checks the magic first line and the final newline, and
// returns the other lines.
func splitLines(b []byte, magic string) ([]string, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%d bytes, over %d", len(b), MaxFileSize)
	}
	s := string(b)
	if !strings.HasSuffix(s, "\n") {
		return nil, errors.New("no final newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if lines[0] != magic {
		return nil, fmt.Errorf("first line %q, want %q", lines[0], magic)
	}
	return lines[1:], nil
}

// parseMillis is a decimal, non-negative, without sign or leading zeros
// (so each value has one spelling).
func parseMillis(s string) (int64, error) {
	if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	return strconv.ParseInt(s, 10, 64)
}

func validBootID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		default:
			return false
		}
	}
	return true
}

func knownTarget(t string) bool {
	switch t {
	case "reboot", "kexec", "poweroff", "halt", "soft-reboot", "unknown":
		return true
	}
	return false
}

// RecordShutdown writes the end of this shutdown into d.
func RecordShutdown(d *armstate.Dir, s Shutdown) error {
	if s.Target == "" {
		s.Target = "unknown"
	}
	if !validBootID(s.BootID) || !knownTarget(s.Target) {
		return fmt.Errorf("cannot record the shutdown: boot id %q, target %q", s.BootID, s.Target)
	}
	return d.WriteFile(ShutdownFile, MarshalShutdown(s))
}

// ReadGaps reads the history in d; no file is no records. A file that is
// unsafe or does not parse is an error (callers show nothing).
func ReadGaps(d *armstate.Dir) ([]Record, error) {
	b, err := d.ReadFile(GapsFile, MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rs, err := ParseGaps(b)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", d.Path(), GapsFile, err)
	}
	return rs, nil
}

// Append adds r to rs and keeps only the newest MaxPerKind of each kind,
// in their order.
func Append(rs []Record, r Record) []Record {
	rs = append(append([]Record(nil), rs...), r)
	count := map[Kind]int{}
	keep := make([]bool, len(rs))
	for i := len(rs) - 1; i >= 0; i-- {
		if count[rs[i].Kind] < MaxPerKind {
			keep[i] = true
			count[rs[i].Kind]++
		}
	}
	out := rs[:0]
	for i, r := range rs {
		if keep[i] {
			out = append(out, r)
		}
	}
	return out
}

// Boot is what the boot step knows about the boot it runs in.
type Boot struct {
	BootID      string
	Kind        armstate.BootKind
	KernelStart time.Time // wall clock minus uptime
	// FPDT is the firmware record Linux shows, if any (ReadSysfs).
	FPDT *BootRecord
}

// AtBoot runs early in every boot (`rapidreboot-shutdown --boot`): it
// consumes the record of the last shutdown and, when that was a restart
// and this boot's kind is known, keeps the gap between the two; at a
// firmware boot it also keeps the FPDT span. It returns one line for the
// log, "" when nothing was kept. A damaged history is replaced (it is a
// measurement, nothing depends on it); a damaged shutdown record is
// dropped.
func AtBoot(d *armstate.Dir, b Boot) (string, error) {
	var add []Record
	var notes []string
	sb, err := d.ReadFile(ShutdownFile, MaxFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		notes = append(notes, fmt.Sprintf("the record of the last shutdown: %v", err))
	default:
		s, perr := ParseShutdown(sb)
		if perr != nil {
			notes = append(notes, fmt.Sprintf("dropped a damaged record of the last shutdown: %v", perr))
		} else if r, ok := gapOf(s, b); ok {
			add = append(add, r)
		}
	}
	if s, err := b.fpdtSpan(); err == nil {
		add = append(add, Record{Kind: KindFPDT, Value: s, BootID: b.BootID, At: b.KernelStart})
	}
	if len(add) == 0 {
		if err := d.Remove(ShutdownFile); err != nil {
			return "", err
		}
		return strings.Join(notes, "; "), nil
	}
	rs, err := ReadGaps(d)
	if err != nil {
		notes = append(notes, fmt.Sprintf("started the boot time history again: %v", err))
		rs = nil
	}
	for _, r := range add {
		if has(rs, r.BootID, r.Kind) {
			// The unit ran twice in this boot: keep the first.
			continue
		}
		rs = Append(rs, r)
		if r.Kind != KindFPDT {
			notes = append(notes, fmt.Sprintf("this %s restart took %s from the end of the shutdown to the kernel's start", r.Kind, r.Value))
		}
	}
	if err := d.WriteFile(GapsFile, MarshalGaps(rs)); err != nil {
		return "", err
	}
	// Removed last: a record whose gap could not be kept is tried again
	// by a second run, never counted twice (the boot id check above).
	if err := d.Remove(ShutdownFile); err != nil {
		return "", err
	}
	return strings.Join(notes, "; "), nil
}

func has(rs []Record, bootID string, k Kind) bool {
	for _, r := range rs {
		if r.BootID == bootID && r.Kind == k {
			return true
		}
	}
	return false
}

func (b Boot) fpdtSpan() (time.Duration, error) {
	if b.FPDT == nil || b.Kind != armstate.BootFirmware {
		return 0, ErrNoRecord
	}
	return b.FPDT.Span()
}

// gapOf is the gap record for a shutdown followed by this boot, if it
// counts: another boot's shutdown, a restart (not a power-off, halt or
// soft-reboot, which keeps the kernel), a known boot kind, and a gap in
// (0, MaxGap].
func gapOf(s Shutdown, b Boot) (Record, bool) {
	if s.BootID == b.BootID || b.KernelStart.IsZero() {
		return Record{}, false
	}
	switch s.Target {
	case "reboot", "kexec", "unknown":
	default:
		return Record{}, false
	}
	var k Kind
	switch b.Kind {
	case armstate.BootFirmware:
		k = KindFirmware
	case armstate.BootKexec:
		k = KindKexec
	default:
		return Record{}, false
	}
	g := b.KernelStart.Sub(s.At).Round(time.Millisecond)
	if g <= 0 || g > MaxGap {
		return Record{}, false
	}
	return Record{Kind: k, Value: g, BootID: b.BootID, At: b.KernelStart}, true
}

// Median of the records of kind k, and how many there are.
func Median(rs []Record, k Kind) (time.Duration, int) {
	var v []time.Duration
	for _, r := range rs {
		if r.Kind == k {
			v = append(v, r.Value)
		}
	}
	if len(v) == 0 {
		return 0, 0
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	n := len(v)
	if n%2 == 1 {
		return v[n/2], n
	}
	return (v[n/2-1] + v[n/2]) / 2, n
}
