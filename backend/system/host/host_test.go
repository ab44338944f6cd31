package host_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

func wantCode(t *testing.T, err error, c reason.Code, detail string) {
	t.Helper()
	if reason.CodeOf(err) != c {
		t.Fatalf("got %v, want code %q", err, c)
	}
	if detail != "" && reason.DetailOf(err) != detail {
		t.Fatalf("detail = %q, want %q (err %v)", reason.DetailOf(err), detail, err)
	}
}

func TestAKernelInsideBootOpensWithItsFacts(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.File(t, root, "/boot/vmlinuz-6.1.0-27-amd64", "kernel")
	bf, err := hosttest.Target(root).OpenBootFile("/boot/vmlinuz-6.1.0-27-amd64", host.MaxKernelSize)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	b, _ := io.ReadAll(bf)
	if string(b) != "kernel" || bf.Size != 6 || bf.Resolved != "/boot/vmlinuz-6.1.0-27-amd64" || bf.Ino == 0 || bf.MtimeNs == 0 {
		t.Fatalf("got %q %+v", b, bf)
	}
}

func TestAttack14_SymlinkInsideBootIsAccepted(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.File(t, root, "/boot/vmlinuz-6.1.0-9", "k")
	hosttest.Symlink(t, root, "vmlinuz-6.1.0-9", "/boot/vmlinuz")
	// Debian's /vmlinuz link at the top of the root, absolute form.
	hosttest.Symlink(t, root, "/boot/vmlinuz-6.1.0-9", "/vmlinuz")
	for _, p := range []string{"/boot/vmlinuz", "/vmlinuz"} {
		bf, err := hosttest.Target(root).CheckBootFile(p, host.MaxKernelSize)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if bf.Path != p || bf.Resolved != "/boot/vmlinuz-6.1.0-9" {
			t.Fatalf("%s: %+v", p, bf)
		}
	}
}

func TestAttack13_SymlinkLeavingBootIsRejected(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.File(t, root, "/home/u/evil", "evil")
	hosttest.Symlink(t, root, "/home/u/evil", "/boot/vmlinuz-6.1.0-27-amd64")
	hosttest.Symlink(t, root, "../home/u/evil", "/boot/vmlinuz-rel")
	for _, p := range []string{"/boot/vmlinuz-6.1.0-27-amd64", "/boot/vmlinuz-rel", "/boot/../home/u/evil"} {
		_, err := hosttest.Target(root).OpenBootFile(p, host.MaxKernelSize)
		wantCode(t, err, reason.LeavesBoot, filepath.Clean(p))
		if !strings.Contains(reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err)), "outside /boot") {
			t.Fatalf("sentence for %v", err)
		}
	}
}

func TestAttack13_SymlinkLeavingTheRootStaysInsideIt(t *testing.T) {
	// A link to /etc/passwd or ../../../../ resolves inside the root, never
	// on the host: with the root at a temp dir, nothing outside is reached.
	root := hosttest.NewRoot(t)
	hosttest.Symlink(t, root, "../../../../../../etc/passwd", "/boot/vmlinuz-a")
	_, err := hosttest.Target(root).OpenBootFile("/boot/vmlinuz-a", host.MaxKernelSize)
	wantCode(t, err, reason.LeavesBoot, "/boot/vmlinuz-a")
	// /boot/x -> ../../../boot/x stays in /boot of the root.
	hosttest.File(t, root, "/boot/k", "")
	hosttest.Symlink(t, root, "../../../../boot/k", "/boot/vmlinuz-b")
	if _, err := hosttest.Target(root).CheckBootFile("/boot/vmlinuz-b", host.MaxKernelSize); err != nil {
		t.Fatal(err)
	}
	// Config reads are confined too: /etc/shadow of the host is not read.
	hosttest.Symlink(t, root, "/../../../../etc/hostname", "/boot/grub/grub.cfg")
	if _, err := hosttest.Target(root).ReadFile("/boot/grub/grub.cfg", 1<<20); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("config symlink left the root: %v", err)
	}
}

func TestAttack44_AbsoluteSymlinksResolveInsideTarget(t *testing.T) {
	// An installer's /target/boot/vmlinuz -> /boot/vmlinuz-6.1.0-27-amd64
	// must name /target's kernel, not the live system's.
	target := hosttest.NewRoot(t)
	hosttest.File(t, target, "/boot/vmlinuz-6.1.0-27-amd64", "target kernel")
	hosttest.Symlink(t, target, "/boot/vmlinuz-6.1.0-27-amd64", "/boot/vmlinuz")
	hosttest.Symlink(t, target, "/boot/grub/real.cfg", "/boot/grub/grub.cfg")
	hosttest.File(t, target, "/boot/grub/real.cfg", "target cfg")
	tg := hosttest.Target(target)
	bf, err := tg.OpenBootFile("/boot/vmlinuz", host.MaxKernelSize)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(bf)
	bf.Close()
	if string(b) != "target kernel" {
		t.Fatalf("read %q", b)
	}
	cfg, err := tg.ReadFile("/boot/grub/grub.cfg", 100)
	if err != nil || string(cfg) != "target cfg" {
		t.Fatalf("cfg %q %v", cfg, err)
	}
}

func TestAttack15_WritableOrForeignBootFilesAreRejectedWithThePath(t *testing.T) {
	tests := []struct {
		name  string
		mode  fs.FileMode
		owner int // -1: unchanged
	}{
		{"a world-writable initrd", 0o646, -1},
		{"a group-writable initrd", 0o664, -1},
		{"an initrd owned by another user", 0o644, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := hosttest.NewRoot(t)
			hosttest.WriteFile(t, root, "/boot/initrd.img-6.1.0-9", "", tc.mode)
			if tc.owner >= 0 {
				hosttest.Chown(t, root, "/boot/initrd.img-6.1.0-9", tc.owner)
			}
			_, err := hosttest.Target(root).OpenBootFile("/boot/initrd.img-6.1.0-9", host.MaxInitrdSize)
			wantCode(t, err, reason.UnsafeFile, "/boot/initrd.img-6.1.0-9")
			if s := reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err)); !strings.Contains(s, "/boot/initrd.img-6.1.0-9") {
				t.Fatalf("sentence does not name the path: %q", s)
			}
		})
	}
}

func TestProductionTargetWantsRootOwnedFiles(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("as root, files are root-owned anyway")
	}
	root := hosttest.NewRoot(t)
	hosttest.File(t, root, "/boot/vmlinuz-1", "")
	_, err := host.New(root).OpenBootFile("/boot/vmlinuz-1", host.MaxKernelSize)
	wantCode(t, err, reason.UnsafeFile, "/boot/vmlinuz-1")
}

func TestAttack17_NonRegularKernelsAreRejectedWithoutBlocking(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.Fifo(t, root, "/boot/vmlinuz-fifo")
	hosttest.Mkdir(t, root, "/boot/vmlinuz-dir")
	hosttest.Symlink(t, root, "/dev/zero", "/boot/vmlinuz-zero")
	hosttest.Symlink(t, root, "vmlinuz-fifo", "/boot/vmlinuz-tofifo")
	if os.Getuid() == 0 {
		// A character device inside /boot itself (root only can mknod).
		if err := mknodZero(filepath.Join(root, "boot/vmlinuz-chr")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path string
		code reason.Code
	}{
		{"/boot/vmlinuz-fifo", reason.UnsafeFile},
		{"/boot/vmlinuz-tofifo", reason.UnsafeFile},
		{"/boot/vmlinuz-dir", reason.UnsafeFile},
		{"/boot/vmlinuz-zero", reason.LeavesBoot},
		{"/boot/vmlinuz-chr", reason.UnsafeFile},
	}
	for _, tc := range tests {
		if tc.path == "/boot/vmlinuz-chr" && os.Getuid() != 0 {
			continue
		}
		done := make(chan error, 1)
		go func() {
			_, err := hosttest.Target(root).OpenBootFile(tc.path, host.MaxKernelSize)
			done <- err
		}()
		select {
		case err := <-done:
			wantCode(t, err, tc.code, tc.path)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: OpenBootFile blocked", tc.path)
		}
	}
	// Open of a FIFO config does not block either, and ReadFile refuses it.
	done := make(chan error, 1)
	go func() {
		_, err := hosttest.Target(root).ReadFile("/boot/vmlinuz-fifo", 100)
		done <- err
	}()
	select {
	case err := <-done:
		wantCode(t, err, reason.UnsafeFile, "/boot/vmlinuz-fifo")
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFile of a FIFO blocked")
	}
}

func TestAttack18_OversizedFilesAreRefusedAsTooLarge(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.File(t, root, "/boot/grub/grub.cfg", strings.Repeat("#", 10<<20))
	_, err := hosttest.Target(root).ReadFile("/boot/grub/grub.cfg", host.MaxConfigSize)
	wantCode(t, err, reason.TooLarge, "/boot/grub/grub.cfg")
	if s := reason.Sentence(nil, reason.TooLarge, reason.DetailOf(err)); !strings.Contains(s, "grub.cfg is too large") {
		t.Fatalf("sentence %q", s)
	}
	hosttest.File(t, root, "/boot/vmlinuz-big", "0123456789")
	_, err = hosttest.Target(root).OpenBootFile("/boot/vmlinuz-big", 9)
	wantCode(t, err, reason.TooLarge, "/boot/vmlinuz-big")
}

func TestAMissingFileIsNotExist(t *testing.T) {
	root := hosttest.NewRoot(t)
	tg := hosttest.Target(root)
	_, err := tg.OpenBootFile("/boot/vmlinuz-none", host.MaxKernelSize)
	if !errors.Is(err, fs.ErrNotExist) || reason.CodeOf(err) != reason.KernelMissing {
		t.Fatalf("got %v", err)
	}
	_, err = tg.ReadFile("/etc/default/grub", 100)
	if !errors.Is(err, fs.ErrNotExist) || reason.CodeOf(err) != reason.BadConfig {
		t.Fatalf("got %v", err)
	}
	if _, err := tg.ReadDir("/boot"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
	if tg.Exists("/boot") || tg.IsDir("/boot") {
		t.Fatal("exists")
	}
}

func TestASymlinkLoopIsAnErrorNotAHang(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.Symlink(t, root, "b", "/boot/a")
	hosttest.Symlink(t, root, "a", "/boot/b")
	_, err := hosttest.Target(root).OpenBootFile("/boot/a", host.MaxKernelSize)
	if err == nil {
		t.Fatal("loop accepted")
	}
	if _, err := hosttest.Target(root).ReadFile("/boot/a", 10); err == nil {
		t.Fatal("loop accepted")
	}
}

func TestReadDirListsSortedNamesAndTypes(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.File(t, root, "/boot/b", "")
	hosttest.File(t, root, "/boot/a", "")
	hosttest.Symlink(t, root, "a", "/boot/c")
	hosttest.Mkdir(t, root, "/boot/grub")
	es, err := hosttest.Target(root).ReadDir("/boot")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name+":"+e.Mode.Type().String())
	}
	want := "a:----------,b:----------,c:L---------,grub:d---------"
	if strings.Join(got, ",") != want {
		t.Fatalf("got %v", got)
	}
}

func TestResolveStopsDotDotAtTheRoot(t *testing.T) {
	root := hosttest.NewRoot(t)
	hosttest.Mkdir(t, root, "/boot")
	hosttest.Symlink(t, root, "../../..", "/boot/up")
	got, err := hosttest.Target(root).Resolve("/boot/up/boot")
	if err != nil || got != "/boot" {
		t.Fatalf("got %q %v", got, err)
	}
}

func TestInBootDirNeedsAFileStrictlyInside(t *testing.T) {
	for p, want := range map[string]bool{
		"/boot/vmlinuz":                  true,
		"/boot/":                         false,
		"/boot":                          false,
		"/bootx/vmlinuz":                 false,
		"/usr/lib/modules/6.8.1/vmlinuz": true,
		"/efi/abc/6.8/linux":             true,
		"/home/u/evil":                   false,
		"/dev/zero":                      false,
	} {
		if got := host.InBootDir(p); got != want {
			t.Errorf("InBootDir(%q) = %v", p, got)
		}
	}
}
