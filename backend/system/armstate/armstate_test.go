package armstate_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
)

const (
	bootA = "6f1c2f0e-8c4b-4d59-9a55-1d0f6c1b2a01"
	bootB = "0d6a9d4b-4b1e-4a7e-8f39-7b7c0b0c9e02"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func sample() armstate.State {
	return armstate.State{
		BootID:    bootA,
		ArmedAt:   t0,
		ExpiresAt: t0.Add(armstate.DefaultTTL),
		UID:       1000,
		Image: kexec.Image{
			Kernel:  kexec.FileID{Path: "/boot/vmlinuz-6.1.0-9-amd64", Dev: 2049, Ino: 131, Size: 7, MtimeNs: 99},
			Cmdline: "root=/dev/sda1 ro", Version: "6.1.0-9-amd64", Method: kexec.MethodFileLoad,
		},
		Plan: bootplan.Plan{Kernel: "/boot/vmlinuz-6.1.0-9-amd64", Version: "6.1.0-9-amd64"},
	}
}

func runDir(t *testing.T) string { return filepath.Join(t.TempDir(), "rapidreboot") }

func TestAnArmIsWrittenPrivatelyAndReadBackUnchanged(t *testing.T) {
	dir := runDir(t)
	s := sample()
	if err := armstate.Write(dir, s); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, armstate.ArmFile): 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: %v %v, want %o", p, fi.Mode(), err, want)
		}
	}
	got, err := armstate.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Format = armstate.Format
	if got.Digest() != s.Digest() || got.Image.Kernel != s.Image.Kernel || !got.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("read %+v\nwrote %+v", got, s)
	}
	if err := got.Valid(t0.Add(time.Minute), bootA); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestNoArmIsErrNotArmedAndClearingNothingSucceeds(t *testing.T) {
	dir := runDir(t)
	if _, err := armstate.Read(dir); !errors.Is(err, armstate.ErrNotArmed) {
		t.Fatalf("no dir: %v", err)
	}
	os.Mkdir(dir, 0o700)
	if _, err := armstate.Read(dir); !errors.Is(err, armstate.ErrNotArmed) {
		t.Fatalf("empty dir: %v", err)
	}
	if err := armstate.Clear(dir); err != nil {
		t.Fatal(err)
	}
	armstate.Write(dir, sample())
	armstate.WriteVerified(dir, "x")
	if err := armstate.Clear(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := armstate.Read(dir); !errors.Is(err, armstate.ErrNotArmed) {
		t.Fatalf("after clear: %v", err)
	}
	if armstate.Verified(dir, "x") {
		t.Fatal("verdict survived Clear")
	}
}

func TestAttack39_AnArmIsValidOnlyInItsBootAndBeforeItExpires(t *testing.T) {
	s := sample()
	s.Format = armstate.Format
	for _, tc := range []struct {
		name string
		now  time.Time
		boot string
		mod  func(*armstate.State)
		want error
	}{
		{"fresh", t0.Add(time.Second), bootA, nil, nil},
		{"expired at the second", t0.Add(armstate.DefaultTTL), bootA, nil, armstate.ErrExpired},
		{"expired long ago", t0.Add(24 * time.Hour), bootA, nil, armstate.ErrExpired},
		{"from another boot", t0.Add(time.Second), bootB, nil, armstate.ErrOtherBoot},
		{"without a boot id", t0, bootA, func(s *armstate.State) { s.BootID = "" }, armstate.ErrOtherBoot},
		{"of a future format", t0, bootA, func(s *armstate.State) { s.Format = armstate.Format + 1 }, armstate.ErrFormat},
		// Format 1 recorded no ctime: its files cannot be checked for a
		// rewrite in place (issue 12 item 8).
		{"of format 1, without ctimes", t0, bootA, func(s *armstate.State) { s.Format = 1 }, armstate.ErrFormat},
		{"without a kernel", t0, bootA, func(s *armstate.State) { s.Image.Kernel.Path = "" }, armstate.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := s
			if tc.mod != nil {
				tc.mod(&st)
			}
			err := st.Valid(tc.now, tc.boot)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Valid = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAnArmFileNobodyShouldTrustIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, dir string)
	}{
		{"world-writable file", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "arm"), 0o666) }},
		{"group-writable file", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "arm"), 0o620) }},
		{"world-writable directory", func(t *testing.T, dir string) { os.Chmod(dir, 0o777) }},
		{"symlink", func(t *testing.T, dir string) {
			other := filepath.Join(t.TempDir(), "arm")
			os.Rename(filepath.Join(dir, "arm"), other)
			os.Symlink(other, filepath.Join(dir, "arm"))
		}},
		{"FIFO", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "arm"))
			unix.Mkfifo(filepath.Join(dir, "arm"), 0o600)
		}},
		{"too big", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "arm"), []byte(strings.Repeat(" ", armstate.MaxArmSize+1)), 0o600)
		}},
		{"owned by another user", func(t *testing.T, dir string) {
			if os.Getuid() != 0 {
				t.Skip("chown needs root")
			}
			os.Chown(filepath.Join(dir, "arm"), 4242, 4242)
		}},
		{"directory owned by another user", func(t *testing.T, dir string) {
			if os.Getuid() != 0 {
				t.Skip("chown needs root")
			}
			os.Chown(dir, 4242, 4242)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := runDir(t)
			if err := armstate.Write(dir, sample()); err != nil {
				t.Fatal(err)
			}
			tc.make(t, dir)
			done := make(chan error, 1)
			go func() { _, err := armstate.Read(dir); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, armstate.ErrUnsafe) {
					t.Fatalf("Read = %v, want ErrUnsafe", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Read blocked")
			}
		})
	}
}

func TestGarbageInTheArmFileIsAFormatError(t *testing.T) {
	dir := runDir(t)
	armstate.Write(dir, sample())
	os.WriteFile(filepath.Join(dir, "arm"), []byte("{\"format\": 1, \"boot_id\": "), 0o600)
	if _, err := armstate.Read(dir); !errors.Is(err, armstate.ErrFormat) {
		t.Fatalf("Read = %v", err)
	}
}

func TestTheVerdictNamesOneArm(t *testing.T) {
	dir := runDir(t)
	s := sample()
	armstate.Write(dir, s)
	if armstate.Verified(dir, s.Digest()) {
		t.Fatal("verified before any check")
	}
	if err := armstate.WriteVerified(dir, s.Digest()); err != nil {
		t.Fatal(err)
	}
	if !armstate.Verified(dir, s.Digest()) {
		t.Fatal("not verified")
	}
	s2 := s
	s2.Image.Kernel.Ino++
	if armstate.Verified(dir, s2.Digest()) {
		t.Fatal("a different arm counts as verified")
	}
}

func TestTheVerdictCarriesTheMountOfEachFile(t *testing.T) {
	dir := runDir(t)
	s := sample()
	v := armstate.Verdict{Digest: s.Digest(), Mounts: map[string]string{s.Image.Kernel.Path: "/boot"}}
	if err := armstate.WriteVerdict(dir, v); err != nil {
		t.Fatal(err)
	}
	got, ok := armstate.ReadVerdict(dir, s.Digest())
	if !ok || got.Mounts[s.Image.Kernel.Path] != "/boot" {
		t.Fatalf("%+v %v", got, ok)
	}
	if _, ok := armstate.ReadVerdict(dir, "other"); ok {
		t.Fatal("another arm's verdict read")
	}
	// The verdict of an older version ("digest\n") is no verdict: the hook
	// then finds no mount for a missing file and declines.
	os.WriteFile(filepath.Join(dir, armstate.VerifiedFile), []byte(s.Digest()+"\n"), 0o600)
	if _, ok := armstate.ReadVerdict(dir, s.Digest()); ok {
		t.Fatal("a plain digest read as a verdict")
	}
}

func FuzzReadNeverPanics(f *testing.F) {
	b, _ := json.Marshal(sample())
	f.Add(b)
	f.Add([]byte(`{"format":1,"image":{"kernel":{"path":"/boot/x","size":-1}},"expires_at":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte("null"))
	dir := filepath.Join(f.TempDir(), "rapidreboot")
	os.Mkdir(dir, 0o700)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, "arm"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := armstate.Read(dir)
		if err != nil {
			return
		}
		// Whatever parsed must still be judged, never trusted by default.
		if s.Valid(t0, bootA) == nil && (s.BootID != bootA || !t0.Before(s.ExpiresAt) || s.Format != armstate.Format) {
			t.Fatalf("invalid arm accepted: %+v", s)
		}
	})
}

func TestOnlyAnArmOrALoadedMarkMakesAnImageOurs(t *testing.T) {
	dir := runDir(t)
	if armstate.Ours(dir) {
		t.Fatal("Ours with no state directory")
	}
	if err := armstate.MarkLoaded(dir, armstate.Marker{BootID: "b", Time: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	if !armstate.Ours(dir) {
		t.Fatal("a loaded mark is not ours")
	}
	if err := armstate.ClearLoaded(dir); err != nil {
		t.Fatal(err)
	}
	if armstate.Ours(dir) {
		t.Fatal("ours after ClearLoaded")
	}
	if err := armstate.Write(dir, sample()); err != nil {
		t.Fatal(err)
	}
	if !armstate.Ours(dir) {
		t.Fatal("an arm is not ours")
	}
	if err := armstate.Clear(dir); err != nil {
		t.Fatal(err)
	}
	if armstate.Ours(dir) {
		t.Fatal("ours after Clear")
	}
	// A damaged mark still counts.
	if err := os.WriteFile(filepath.Join(dir, armstate.LoadedFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !armstate.Ours(dir) {
		t.Fatal("a damaged loaded mark is not ours")
	}
}
