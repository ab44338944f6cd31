package restartkind

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Caps on what the parsers keep: the inputs are root-owned but may be
// large (dpkg.log) or odd, and the decision must stay cheap.
const (
	maxNames    = 200
	maxFieldLen = 256
)

// ParseNeedRestart reads `needrestart -b` output (README.batch.md: one
// "NEEDRESTART-KEY: value" per line, the apt-dater protocol). Unknown keys
// and lines that are not of that form are skipped: needrestart's Perl
// warnings go to stderr, but a caller may have merged the streams.
func ParseNeedRestart(b []byte) (*NeedRestart, error) {
	nr := &NeedRestart{}
	seen := false
	for _, line := range bytes.Split(b, []byte("\n")) {
		key, val, ok := strings.Cut(string(line), ":")
		if !ok || !strings.HasPrefix(key, "NEEDRESTART-") {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) > maxFieldLen {
			continue
		}
		seen = true
		switch strings.TrimPrefix(key, "NEEDRESTART-") {
		case "VER":
			nr.Version = val
		case "KCUR":
			nr.KCur = val
		case "KEXP":
			nr.KExp = val
		case "KSTA":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 3 {
				return nil, fmt.Errorf("needrestart -b: bad NEEDRESTART-KSTA %q", val)
			}
			nr.KSta = KernelStatus(n)
		case "UCSTA":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 2 {
				return nil, fmt.Errorf("needrestart -b: bad NEEDRESTART-UCSTA %q", val)
			}
			nr.UCSta = n
		case "SVC":
			if val != "" && len(nr.Services) < maxNames {
				nr.Services = append(nr.Services, val)
			}
		case "SESS":
			if val != "" && len(nr.Sessions) < maxNames {
				nr.Sessions = append(nr.Sessions, val)
			}
		}
	}
	if !seen {
		return nil, errors.New("needrestart -b: no NEEDRESTART- line in its output")
	}
	return nr, nil
}

// dpkgTime is dpkg.log's timestamp layout (local time).
const dpkgTime = "2006-01-02 15:04:05"

// ParseDpkgLog returns the packages dpkg installed or upgraded at or after
// since (lines "DATE TIME install|upgrade PKG[:ARCH] OLD NEW"), without
// the architecture, in the order of the log, each once. The timestamps are
// in loc (dpkg writes local time). Malformed lines are skipped.
func ParseDpkgLog(b []byte, since time.Time, loc *time.Location) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) < 4 || (f[2] != "install" && f[2] != "upgrade") {
			continue
		}
		t, err := time.ParseInLocation(dpkgTime, f[0]+" "+f[1], loc)
		if err != nil || t.Before(since) {
			continue
		}
		name := bare(f[3])
		if name == "" || len(name) > maxFieldLen || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
		if len(out) == maxNames {
			break
		}
	}
	return out
}

// EFI variables as efivarfs shows them: a little-endian uint32 of
// attributes, then the data.
const (
	GlobalGUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c" // EFI_GLOBAL_VARIABLE
	LoaderGUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f" // systemd-boot's vendor GUID

	// OsIndications bits (UEFI 2.x, 8.5.4).
	OsIndBootToFWUI         uint64 = 0x01
	OsIndFileCapsuleDeliver uint64 = 0x04
)

// ErrShortVar: an EFI variable too short for its type.
var ErrShortVar = errors.New("EFI variable too short")

// ParseBootNext returns BootNext's boot option number.
func ParseBootNext(b []byte) (uint16, error) {
	if len(b) < 4+2 {
		return 0, fmt.Errorf("BootNext: %w (%d bytes)", ErrShortVar, len(b))
	}
	return binary.LittleEndian.Uint16(b[4:6]), nil
}

// ParseOsIndications returns OsIndications' bits.
func ParseOsIndications(b []byte) (uint64, error) {
	if len(b) < 4+8 {
		return 0, fmt.Errorf("OsIndications: %w (%d bytes)", ErrShortVar, len(b))
	}
	return binary.LittleEndian.Uint64(b[4:12]), nil
}
