package notify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rapidreboot/rapidreboot/backend/bootid"
	"github.com/rapidreboot/rapidreboot/backend/rebootreq"
)

// StateFile is the file, in the state directory, that holds the key of the
// reboot-required state the user was last told about.
const StateFile = "reboot-required-notified"

// maxState caps what is read back from the state file.
const maxState = 4 << 10

// Key names one reboot-required state: the marker file that appeared in
// this boot. notify-reboot-required (update-notifier-common) and postinst
// scripts rewrite /run/reboot-required in place with ">" and append to
// .pkgs with ">>", so the marker keeps its inode while more packages ask
// for a restart: those are the same state (the open notification is
// updated, no new one is posted). The marker's removal and re-creation,
// or a new boot, is a new state. /run is a tmpfs whose inode numbers come
// from a per-boot counter, hence the boot id.
type Key struct {
	BootID string
	Dev    uint64
	Ino    uint64
}

// String is the key's stored form, one line.
func (k Key) String() string {
	return fmt.Sprintf("v1 %s %d %d", k.BootID, k.Dev, k.Ino)
}

// ParseKey reads the stored form back. Anything else is an error: the
// caller then treats the state as not yet notified.
func ParseKey(b []byte) (Key, error) {
	f := strings.Fields(string(bytes.TrimSpace(b)))
	if len(f) != 4 || f[0] != "v1" || !bootid.Valid(f[1]) {
		return Key{}, errors.New("cannot parse the notified state: unknown format")
	}
	dev, err1 := strconv.ParseUint(f[2], 10, 64)
	ino, err2 := strconv.ParseUint(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return Key{}, errors.New("cannot parse the notified state: bad number")
	}
	return Key{BootID: f[1], Dev: dev, Ino: ino}, nil
}

// markerKey identifies the marker file under root in boot bootID.
func markerKey(root, bootID string) (Key, error) {
	st, err := os.Stat(filepath.Join(root, rebootreq.MarkerPath))
	if err != nil {
		return Key{}, fmt.Errorf("cannot read the restart marker: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return Key{}, errors.New("cannot read the restart marker: no inode")
	}
	return Key{BootID: bootID, Dev: uint64(sys.Dev), Ino: sys.Ino}, nil
}

// store remembers the last notified key in dir. A missing or unreadable
// file reads as "nothing notified yet".
type store struct{ dir string }

func (s store) load() (Key, bool) {
	if s.dir == "" {
		return Key{}, false
	}
	f, err := os.Open(filepath.Join(s.dir, StateFile))
	if err != nil {
		return Key{}, false
	}
	defer f.Close()
	b := make([]byte, maxState)
	n, _ := f.Read(b)
	k, err := ParseKey(b[:n])
	return k, err == nil
}

// save writes k atomically (a temporary file renamed over the old one), so
// a watcher killed mid-write leaves the old key or the new one.
func (s store) save(k Key) error {
	if s.dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("cannot save the notified state: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, "."+StateFile+".*")
	if err != nil {
		return fmt.Errorf("cannot save the notified state: %w", err)
	}
	_, werr := tmp.WriteString(k.String() + "\n")
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(s.dir, StateFile))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot save the notified state: %w", werr)
	}
	return nil
}

// StateDir is where the watcher keeps its state: $XDG_STATE_HOME/rapidreboot,
// or ~/.local/state/rapidreboot (XDG Base Directory Specification 0.8).
func StateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "rapidreboot"), nil
	}
	home := getenv("HOME")
	if home == "" || !filepath.IsAbs(home) {
		return "", errors.New("cannot find the state directory: neither XDG_STATE_HOME nor HOME is an absolute path")
	}
	return filepath.Join(home, ".local/state/rapidreboot"), nil
}
