// Package armstate keeps the two kinds of state a Quick Restart leaves
// behind: the arm in /run/rapidreboot (what the shutdown hook may kexec
// into, gone after any boot) and the boot markers in /var/lib/rapidreboot
// (whether the last kexec'd kernel came up; docs/reboot-design.md).
//
// Only root writes either. Readers refuse files that are not regular, are
// symlinks, are writable by group or others, are too large, or are owned by
// anyone but root (or by the reader itself, which lets tests run
// unprivileged and gives a non-root reader nothing it could not write).
package armstate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
)

// Where the state lives on a running system.
const (
	RunDir   = "/run/rapidreboot"     // tmpfs: the arm and the stop-time verdict
	StateDir = "/var/lib/rapidreboot" // disk: boot markers

	ArmFile      = "arm"
	VerifiedFile = "verified"
	// LoadedFile says that the product loaded the kexec image of this
	// boot (or was about to): written before kexec_file_load, removed
	// only after an unload that worked. It is how the product tells its
	// own image from one root loaded by hand (kexec -s -l), which it
	// must leave alone.
	LoadedFile = "loaded"
)

// DefaultTTL is how long an arm stays valid: long enough for a session
// manager to ask about unsaved documents, short enough that a forgotten arm
// cannot turn a much later restart into a kexec.
const DefaultTTL = 10 * time.Minute

// Format is the arm file's format version. 2: the image's files carry
// their ctime (kexec.FileID.CtimeNs). An arm of format 1, written by an
// older helper before a package upgrade, is refused as ErrFormat: without
// the ctime it cannot show a kernel rewritten in place, so that restart is
// a normal one.
const Format = 2

// MaxArmSize caps the arm file: a plan with many initrds and a full command
// line is a few KiB.
const MaxArmSize = 64 << 10

// State is the arm: what was loaded, for which plan, until when, in which
// boot.
type State struct {
	Format    int           `json:"format"`
	BootID    string        `json:"boot_id"`
	ArmedAt   time.Time     `json:"armed_at"`
	ExpiresAt time.Time     `json:"expires_at"`
	UID       uint32        `json:"uid"` // who asked, for the log
	Image     kexec.Image   `json:"image"`
	Plan      bootplan.Plan `json:"plan"`
}

// Errors of Read and Valid; a caller branches on them with errors.Is.
var (
	ErrNotArmed  = errors.New("not armed")
	ErrExpired   = errors.New("the arm has expired")
	ErrOtherBoot = errors.New("the arm was made in another boot")
	ErrFormat    = errors.New("the arm has an unknown format")
	ErrUnsafe    = errors.New("not safe to trust")
)

// Valid returns nil when s may still be acted on at now, in the boot bootID.
func (s State) Valid(now time.Time, bootID string) error {
	switch {
	case s.Format != Format:
		return fmt.Errorf("%w: %d", ErrFormat, s.Format)
	case s.BootID == "" || s.BootID != bootID:
		return fmt.Errorf("%w (%s, this boot is %s)", ErrOtherBoot, s.BootID, bootID)
	case !now.Before(s.ExpiresAt):
		return fmt.Errorf("%w (at %s)", ErrExpired, s.ExpiresAt.UTC().Format(time.RFC3339))
	case s.Image.Kernel.Path == "":
		return fmt.Errorf("%w: no kernel", ErrFormat)
	}
	return nil
}

// Digest identifies this arm's content; the stop-time verdict names it.
func (s State) Digest() string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Write stores s as dir/arm atomically (temporary file, fsync, rename),
// creating dir 0700 if needed.
func Write(dir string, s State) error {
	if s.Format == 0 {
		s.Format = Format
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the arm: %w", err)
	}
	if len(b) > MaxArmSize {
		return fmt.Errorf("cannot write the arm: %d bytes, over %d", len(b), MaxArmSize)
	}
	return writeFile(dir, ArmFile, b)
}

// Read returns the arm in dir. A missing arm is ErrNotArmed; an arm file
// that is not safe to trust is ErrUnsafe. Read does not check Valid.
func Read(dir string) (State, error) {
	b, err := readFile(dir, ArmFile, MaxArmSize)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, fmt.Errorf("%w: %w", ErrNotArmed, err)
	}
	if err != nil {
		return State{}, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("%w: cannot parse %s: %w", ErrFormat, filepath.Join(dir, ArmFile), err)
	}
	return s, nil
}

// Clear removes the arm and its verdict. Clearing when nothing is armed
// succeeds.
func Clear(dir string) error {
	var errs []error
	for _, name := range []string{ArmFile, VerifiedFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cannot clear the arm: %w", err))
		}
	}
	return errors.Join(errs...)
}

// MarkLoaded records that the product is about to load an image. It goes
// before the load: should the loader stop between the load and the arm,
// the image is still known to be the product's.
func MarkLoaded(dir string, m Marker) error { return writeMarker(dir, LoadedFile, m) }

// ClearLoaded is for after an unload that worked, and only then: a failed
// unload leaves an image that is still the product's.
func ClearLoaded(dir string) error { return removeMarker(dir, LoadedFile) }

// Ours reports whether a kexec image now loaded would be the product's: an
// arm or a loaded mark exists in dir. Existence is enough: only root
// writes dir (0700), and a mark that cannot be read must still count, or
// a damaged one would let an unchecked image of the product's be kexec'd.
func Ours(dir string) bool {
	for _, name := range []string{ArmFile, LoadedFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil || !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// MaxVerdictSize caps the verdict file: a digest and one mount point per
// boot file.
const MaxVerdictSize = 16 << 10

// Verdict is what the stop-time check (rapidreboot-shutdown --verify)
// leaves for the hook at the very end of the shutdown, when a separate
// /boot may be unmounted already.
type Verdict struct {
	// Digest names the arm that passed the check (State.Digest).
	Digest string `json:"digest"`
	// Mounts gives, for each boot file of the arm (by its path as the plan
	// named it), the mount point that held its directory at the check,
	// from the mount table: the hook trusts a file it cannot find only
	// when that mount is a separate one and is gone (docs/reboot-design.md).
	Mounts map[string]string `json:"mounts,omitempty"`
}

// WriteVerdict records that the arm named by v.Digest passed the
// stop-time check while /boot was still mounted.
func WriteVerdict(dir string, v Verdict) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode the verdict: %w", err)
	}
	if len(b) > MaxVerdictSize {
		return fmt.Errorf("cannot write the verdict: %d bytes, over %d", len(b), MaxVerdictSize)
	}
	return writeFile(dir, VerifiedFile, append(b, '\n'))
}

// ReadVerdict returns the verdict for the arm with digest; ok is false when
// there is none for that arm (none at all, another arm's, unreadable).
func ReadVerdict(dir, digest string) (v Verdict, ok bool) {
	b, err := readFile(dir, VerifiedFile, MaxVerdictSize)
	if err != nil || json.Unmarshal(b, &v) != nil || v.Digest == "" || v.Digest != digest {
		return Verdict{}, false
	}
	return v, true
}

// WriteVerified records a verdict for the arm with digest, without mounts.
func WriteVerified(dir, digest string) error { return WriteVerdict(dir, Verdict{Digest: digest}) }

// Verified reports whether the stop-time check passed for the arm with
// digest.
func Verified(dir, digest string) bool {
	_, ok := ReadVerdict(dir, digest)
	return ok
}
