package kexec_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/kexecstate"
	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

const ver = "6.1.0-9-amd64"

// fixture is a fake root with one kernel, its initrd and a microcode
// initrd, a fake /sys and /proc, and a Fake mirrored into the fake /sys.
type fixture struct {
	root, sys, proc string
	fake            *kexectest.Fake
	loader          kexec.Loader
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{root: hosttest.NewRoot(t), sys: t.TempDir(), proc: t.TempDir()}
	hosttest.File(t, f.root, "/boot/vmlinuz-"+ver, "MZ kernel image "+ver)
	hosttest.File(t, f.root, "/boot/initrd.img-"+ver, "070701 main initramfs, 27 b")
	hosttest.File(t, f.root, "/boot/intel-ucode.img", "070701 ucode")
	f.fake = kexectest.New(f.sys)
	f.fake.ReadImages = true
	f.loader = kexec.Loader{Sys: f.fake, Target: hosttest.Target(f.root), SysDir: f.sys, ProcDir: f.proc}
	return f
}

func (f *fixture) plan(initrds ...string) *bootplan.Plan {
	return &bootplan.Plan{Kernel: "/boot/vmlinuz-" + ver, Version: ver, Initrd: initrds,
		Cmdline: "root=UUID=0b4e-11 ro quiet"}
}

func (f *fixture) write(t *testing.T, rel, content string) {
	t.Helper()
	p := filepath.Join(f.sys, rel)
	if strings.HasPrefix(rel, "proc:") {
		p = filepath.Join(f.proc, strings.TrimPrefix(rel, "proc:"))
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nothingLoaded asserts the refusal left kexec_loaded at 0, in the fake and
// in the fake /sys a reader would look at.
func (f *fixture) nothingLoaded(t *testing.T) {
	t.Helper()
	if f.fake.Loaded() {
		t.Fatal("the fake kernel has an image loaded after a refusal")
	}
	if got, err := kexecstate.Loaded(f.sys); err != nil || got {
		t.Fatalf("kexec_loaded = %v, %v; want 0", got, err)
	}
}

func wantCode(t *testing.T, err error, c reason.Code) {
	t.Helper()
	if got := reason.CodeOf(err); got != c {
		t.Fatalf("code = %q (%v), want %q", got, err, c)
	}
}

func TestRealRefusesEveryCallInsideATestBinary(t *testing.T) {
	sys := kexec.Real()
	if err := sys.KexecFileLoad(-1, -1, "", kexec.FlagUnload); !errors.Is(err, kexec.ErrRefusedInTest) {
		t.Errorf("KexecFileLoad = %v", err)
	}
	if err := sys.KexecLoadUnload(); !errors.Is(err, kexec.ErrRefusedInTest) {
		t.Errorf("KexecLoadUnload = %v", err)
	}
	if err := sys.RunKexecTools("/bin/true", []string{"/bin/true"}, nil, nil); !errors.Is(err, kexec.ErrRefusedInTest) {
		t.Errorf("RunKexecTools = %v", err)
	}
	if !kexec.InTestBinary() {
		t.Error("InTestBinary is false in a test binary")
	}
}

func TestAPlanWithOneInitrdIsLoadedFromTheFileItself(t *testing.T) {
	f := newFixture(t)
	img, err := f.loader.Load(f.plan("/boot/initrd.img-" + ver))
	if err != nil {
		t.Fatal(err)
	}
	calls := f.fake.Calls()
	if len(calls) != 1 || calls[0].Op != kexectest.OpLoad {
		t.Fatalf("calls = %+v", calls)
	}
	c := calls[0]
	if c.Flags != 0 || string(c.Kernel) != "MZ kernel image "+ver || string(c.Initrd) != "070701 main initramfs, 27 b" {
		t.Fatalf("call = %+v", c)
	}
	if !f.fake.Loaded() {
		t.Fatal("not loaded")
	}
	if img.Method != kexec.MethodFileLoad || img.Version != ver || img.Cmdline != "root=UUID=0b4e-11 ro quiet" ||
		img.Kernel.Path != "/boot/vmlinuz-"+ver || img.Kernel.Ino == 0 || img.Kernel.Size != int64(len(c.Kernel)) ||
		len(img.Initrds) != 1 || img.InitrdSize != 27 {
		t.Fatalf("image = %+v", img)
	}
}

func TestSeveralInitrdsAreConcatenatedInOrderIntoASealedMemfdPaddedLikeGRUB(t *testing.T) {
	f := newFixture(t)
	img, err := f.loader.Load(f.plan("/boot/intel-ucode.img", "/boot/initrd.img-"+ver))
	if err != nil {
		t.Fatal(err)
	}
	c := f.fake.Calls()[0]
	// "070701 ucode" is 12 bytes (aligned); the main one 27, padded to 28.
	want := "070701 ucode" + "070701 main initramfs, 27 b" + "\x00"
	if string(c.Initrd) != want {
		t.Fatalf("initrd = %q, want %q", c.Initrd, want)
	}
	if img.InitrdSize != int64(len(want)) || c.InitrdSize != int64(len(want)) {
		t.Fatalf("sizes %d / %d, want %d", img.InitrdSize, c.InitrdSize, len(want))
	}
	wantSeals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if c.InitrdSeals&wantSeals != wantSeals {
		t.Fatalf("seals = %#x, want %#x", c.InitrdSeals, wantSeals)
	}
	if len(img.Initrds) != 2 || img.Initrds[0].Path != "/boot/intel-ucode.img" {
		t.Fatalf("initrds = %+v", img.Initrds)
	}
	if c.Flags&kexec.FlagNoInitramfs != 0 {
		t.Fatal("NO_INITRAMFS with initrds")
	}
}

func TestAttack24_APlanWithInitrdsNeverLoadsWithNoInitramfs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initrds []string
	}{
		{"one", []string{"/boot/initrd.img-" + ver}},
		{"two", []string{"/boot/intel-ucode.img", "/boot/initrd.img-" + ver}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if _, err := f.loader.Load(f.plan(tc.initrds...)); err != nil {
				t.Fatal(err)
			}
			if c := f.fake.Calls()[0]; c.Flags&kexec.FlagNoInitramfs != 0 || c.InitrdSize <= 0 {
				t.Fatalf("call = %+v", c)
			}
		})
	}
}

func TestAttack24_AMissingInitrdIsRefusedNotDropped(t *testing.T) {
	f := newFixture(t)
	_, err := f.loader.Load(f.plan("/boot/intel-ucode.img", "/boot/initrd.img-6.1.0-10-amd64"))
	wantCode(t, err, reason.InitrdMissing)
	if !strings.Contains(err.Error(), "initrd.img-6.1.0-10-amd64") {
		t.Fatalf("error does not name the initrd: %v", err)
	}
	if n := len(f.fake.Calls()); n != 0 {
		t.Fatalf("%d syscalls made", n)
	}
	f.nothingLoaded(t)
}

func TestAPlanWithoutInitrdLoadsWithNoInitramfs(t *testing.T) {
	f := newFixture(t)
	if _, err := f.loader.Load(f.plan()); err != nil {
		t.Fatal(err)
	}
	if c := f.fake.Calls()[0]; c.Flags != kexec.FlagNoInitramfs || c.InitrdSize != -1 {
		t.Fatalf("call = %+v", c)
	}
}

func TestAMissingKernelIsKernelMissing(t *testing.T) {
	f := newFixture(t)
	p := f.plan()
	p.Kernel = "/boot/vmlinuz-6.1.0-10-amd64"
	_, err := f.loader.Load(p)
	wantCode(t, err, reason.KernelMissing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("not ErrNotExist: %v", err)
	}
	_, err = f.loader.Load(nil)
	wantCode(t, err, reason.KernelMissing)
	f.nothingLoaded(t)
}

func TestAttack15_AnUnsafeKernelOrInitrdIsRefusedWithThePathNamed(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		make func(t *testing.T, root string)
	}{
		{"world-writable kernel", "/boot/vmlinuz-" + ver, func(t *testing.T, root string) {
			hosttest.Chmod(t, root, "/boot/vmlinuz-"+ver, 0o666)
		}},
		{"group-writable initrd", "/boot/initrd.img-" + ver, func(t *testing.T, root string) {
			hosttest.Chmod(t, root, "/boot/initrd.img-"+ver, 0o664)
		}},
		{"kernel not owned by the expected owner", "/boot/vmlinuz-" + ver, func(t *testing.T, root string) {
			hosttest.Chown(t, root, "/boot/vmlinuz-"+ver, 4242)
		}},
		{"initrd not owned by the expected owner", "/boot/intel-ucode.img", func(t *testing.T, root string) {
			hosttest.Chown(t, root, "/boot/intel-ucode.img", 4242)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.make(t, f.root)
			_, err := f.loader.Load(f.plan("/boot/intel-ucode.img", "/boot/initrd.img-"+ver))
			wantCode(t, err, reason.UnsafeFile)
			if reason.DetailOf(err) != tc.path {
				t.Fatalf("detail = %q, want %q", reason.DetailOf(err), tc.path)
			}
			f.nothingLoaded(t)
		})
	}
}

func TestAttack17_AKernelThatIsNoRegularFileIsRefusedWithoutBlocking(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, root, p string)
		code reason.Code
	}{
		{"FIFO", func(t *testing.T, root, p string) { hosttest.Fifo(t, root, p) }, reason.UnsafeFile},
		{"directory", func(t *testing.T, root, p string) { hosttest.Mkdir(t, root, p) }, reason.UnsafeFile},
		{"link to /dev/zero", func(t *testing.T, root, p string) { hosttest.Symlink(t, root, "/dev/zero", p) }, reason.LeavesBoot},
		{"character device", func(t *testing.T, root, p string) {
			if os.Getuid() != 0 {
				t.Skip("mknod needs root")
			}
			if err := unix.Mknod(filepath.Join(root, p), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5))); err != nil {
				t.Skipf("cannot mknod here: %v", err)
			}
		}, reason.UnsafeFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := "/boot/vmlinuz-7.0.0-1-amd64"
			hosttest.Mkdir(t, f.root, "/boot")
			tc.make(t, f.root, p)
			plan := f.plan()
			plan.Kernel = p
			done := make(chan error, 1)
			go func() { _, err := f.loader.Load(plan); done <- err }()
			select {
			case err := <-done:
				wantCode(t, err, tc.code)
			case <-time.After(10 * time.Second):
				t.Fatal("Load blocked on a non-regular kernel")
			}
			f.nothingLoaded(t)
		})
	}
}

func TestAttack20_TheCommandLineReachesTheKernelByteForByte(t *testing.T) {
	for _, cmdline := range []string{
		`root=UUID=0b4e-11 ro quiet splash`,
		`root=/dev/sda1 acpi_osi="Windows 2015" dyndbg="file drivers/usb/* +p"`,
		`root=/dev/sda1 path=C:\\Windows\\ back\slash 'single quotes'`,
		"root=/dev/sda1 Grüße=✓ 日本語",
		"root=/dev/sda1\tvt.handoff=7\nnext",
		"",
		strings.Repeat("a", kexec.MaxCmdline()),
	} {
		f := newFixture(t)
		p := f.plan("/boot/initrd.img-" + ver)
		p.Cmdline = cmdline
		img, err := f.loader.Load(p)
		if err != nil {
			t.Fatalf("%q: %v", cmdline, err)
		}
		if got := f.fake.Calls()[0].Cmdline; got != cmdline || img.Cmdline != cmdline {
			t.Fatalf("passed %q, want %q", got, cmdline)
		}
	}
}

func TestAttack20_ACommandLineOverTheArchitectureLimitIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmdline string
		code    reason.Code
	}{
		{"one byte over", strings.Repeat("a", kexec.MaxCmdline()+1), reason.CmdlineTooLong},
		{"4 KiB", "root=/dev/sda1 " + strings.Repeat("x=1 ", 1024), reason.CmdlineTooLong},
		{"a NUL inside", "root=/dev/sda1\x00init=/bin/sh", reason.BadConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := f.plan("/boot/initrd.img-" + ver)
			p.Cmdline = tc.cmdline
			_, err := f.loader.Load(p)
			wantCode(t, err, tc.code)
			if len(f.fake.Calls()) != 0 {
				t.Fatal("a syscall was made")
			}
			f.nothingLoaded(t)
		})
	}
}

func TestTheX86CommandLineLimitLeavesTheKernelsElfcorehdrRoom(t *testing.T) {
	// COMMAND_LINE_SIZE 2048 → cmdline_size 2047 without the NUL; the NUL
	// counts in cmdline_len; 30 bytes stay free for elfcorehdr=.
	if got := 2048 - 1 - 1 - 30; got != 2016 {
		t.Fatal(got)
	}
	l := kexec.Loader{MaxCmdline: 10}
	_, err := l.Load(&bootplan.Plan{Kernel: "/boot/vmlinuz", Cmdline: strings.Repeat("b", 11)})
	wantCode(t, err, reason.CmdlineTooLong)
}

func TestAttack31_EachLoadErrnoHasItsOwnCode(t *testing.T) {
	for _, tc := range []struct {
		errno unix.Errno
		code  reason.Code
	}{
		{unix.ENOEXEC, reason.ImageFormat},
		{unix.ENOMEM, reason.NoMemory},
		{unix.EFBIG, reason.ImageTooBig},
		{unix.EINVAL, reason.LoadFailed},
		{unix.EBUSY, reason.LoadFailed},
		{unix.EIO, reason.LoadFailed},
		{unix.EPERM, reason.LoadFailed}, // neither lockdown nor the sysctl: say "not permitted"
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			f := newFixture(t)
			f.fake.LoadErr = tc.errno
			_, err := f.loader.Load(f.plan("/boot/intel-ucode.img", "/boot/initrd.img-"+ver))
			wantCode(t, err, tc.code)
			if !errors.Is(err, tc.errno) {
				t.Fatalf("errno lost: %v", err)
			}
			f.nothingLoaded(t)
		})
	}
}

func TestAttack29_ARejectedSignatureIsLockdownAndNeverFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		errno    unix.Errno
		lockdown string
	}{
		{"EKEYREJECTED", unix.EKEYREJECTED, ""},
		{"ENOKEY", unix.ENOKEY, ""},
		{"EPERM under lockdown=integrity", unix.EPERM, "none [integrity] confidentiality\n"},
		{"EPERM under lockdown=confidentiality", unix.EPERM, "none integrity [confidentiality]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.lockdown != "" {
				f.write(t, "kernel/security/lockdown", tc.lockdown)
			}
			f.loader.KexecTools = kexecTools(t)
			f.fake.LoadErr = tc.errno
			_, err := f.loader.Load(f.plan("/boot/initrd.img-" + ver))
			wantCode(t, err, reason.Lockdown)
			if f.fake.Count(kexectest.OpKexecTools) != 0 {
				t.Fatal("fell back to kexec-tools under lockdown")
			}
			f.nothingLoaded(t)
		})
	}
}

func TestEPERMWithKexecLoadDisabledIsKexecDisabled(t *testing.T) {
	f := newFixture(t)
	f.write(t, "kernel/security/lockdown", "[none] integrity confidentiality\n")
	f.write(t, "proc:sys/kernel/kexec_load_disabled", "1\n")
	f.fake.LoadErr = unix.EPERM
	_, err := f.loader.Load(f.plan("/boot/initrd.img-" + ver))
	wantCode(t, err, reason.KexecDisabled)
	f.nothingLoaded(t)
}

// kexecTools makes a file that passes the loader's checks on the kexec
// binary. The fake never runs it.
func kexecTools(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kexec")
	if err := os.WriteFile(p, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAttack30_WithoutKexecFileLoadAndWithoutKexecToolsQuickRestartIsUnavailable(t *testing.T) {
	f := newFixture(t)
	f.fake.LoadErr = unix.ENOSYS
	_, err := f.loader.Load(f.plan("/boot/initrd.img-" + ver))
	wantCode(t, err, reason.NoKexec)
	f.nothingLoaded(t)

	f.loader.KexecTools = filepath.Join(t.TempDir(), "no-such-kexec")
	_, err = f.loader.Load(f.plan("/boot/initrd.img-" + ver))
	wantCode(t, err, reason.NoKexec)
	if f.fake.Count(kexectest.OpKexecTools) != 0 {
		t.Fatal("ran a missing kexec-tools")
	}
	f.nothingLoaded(t)
}

func TestAttack30_WithoutKexecFileLoadKexecToolsGetsTheCheckedFilesAFixedArgvAndAFixedEnv(t *testing.T) {
	t.Setenv("LD_PRELOAD", "/tmp/evil.so")
	t.Setenv("KEXEC_EXTRA", "--reuse-cmdline")
	f := newFixture(t)
	tool := kexecTools(t)
	f.loader.KexecTools = tool
	f.fake.LoadErr = unix.ENOSYS
	p := f.plan("/boot/intel-ucode.img", "/boot/initrd.img-"+ver)
	p.Cmdline = `root=/dev/sda1 --reuse-cmdline "x y"`
	img, err := f.loader.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var run kexectest.Call
	for _, c := range f.fake.Calls() {
		if c.Op == kexectest.OpKexecTools {
			run = c
		}
	}
	wantArgv := []string{tool, "--kexec-syscall", "--load", "/proc/self/fd/3", "--initrd=/proc/self/fd/4",
		`--append=root=/dev/sda1 --reuse-cmdline "x y"`}
	if strings.Join(run.Argv, "\x00") != strings.Join(wantArgv, "\x00") || run.Path != tool {
		t.Fatalf("argv = %q", run.Argv)
	}
	if strings.Join(run.Env, " ") != "PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C" {
		t.Fatalf("env = %q", run.Env)
	}
	if run.Files != 2 || string(run.Kernel) != "MZ kernel image "+ver ||
		string(run.Initrd) != "070701 ucode070701 main initramfs, 27 b\x00" {
		t.Fatalf("files = %d, kernel %q, initrd %q", run.Files, run.Kernel, run.Initrd)
	}
	if img.Method != kexec.MethodKexecTools || !f.fake.Loaded() {
		t.Fatalf("image %+v, loaded %v", img, f.fake.Loaded())
	}
}

func TestAttack30_WithoutKexecFileLoadTheFallbackIsRefusedUnderLockdown(t *testing.T) {
	f := newFixture(t)
	f.write(t, "kernel/security/lockdown", "none [integrity] confidentiality\n")
	f.loader.KexecTools = kexecTools(t)
	f.fake.LoadErr = unix.ENOSYS
	_, err := f.loader.Load(f.plan())
	wantCode(t, err, reason.NoKexec)
	if f.fake.Count(kexectest.OpKexecTools) != 0 {
		t.Fatal("ran kexec-tools under lockdown")
	}
	f.nothingLoaded(t)
}

func TestAttack30_AKexecToolsBinaryOthersCanWriteIsNotRun(t *testing.T) {
	f := newFixture(t)
	tool := kexecTools(t)
	if err := os.Chmod(tool, 0o777); err != nil {
		t.Fatal(err)
	}
	f.loader.KexecTools = tool
	f.fake.LoadErr = unix.ENOSYS
	_, err := f.loader.Load(f.plan())
	wantCode(t, err, reason.NoKexec)
	if f.fake.Count(kexectest.OpKexecTools) != 0 {
		t.Fatal("ran a world-writable kexec")
	}
	f.nothingLoaded(t)
}

func TestAFailingKexecToolsRunLeavesNothingLoaded(t *testing.T) {
	f := newFixture(t)
	f.loader.KexecTools = kexecTools(t)
	f.fake.LoadErr = unix.ENOSYS
	f.fake.ToolsErr = errors.New("kexec failed: exit status 1: Cannot determine the file type of /proc/self/fd/3")
	_, err := f.loader.Load(f.plan())
	wantCode(t, err, reason.LoadFailed)
	if !strings.Contains(reason.DetailOf(err), "Cannot determine the file type") {
		t.Fatalf("detail = %q", reason.DetailOf(err))
	}
	f.nothingLoaded(t)
}

func TestUnloadUsesTheFlagAndFallsBackToKexecLoadWithoutKexecFileLoad(t *testing.T) {
	fake := kexectest.New("")
	fake.SetLoaded(true)
	if err := kexec.Unload(fake); err != nil || fake.Loaded() {
		t.Fatalf("unload: %v, loaded %v", err, fake.Loaded())
	}
	if c := fake.Calls(); len(c) != 1 || c[0].Op != kexectest.OpUnload {
		t.Fatalf("calls = %+v", c)
	}

	fake = kexectest.New("")
	fake.SetLoaded(true)
	fake.UnloadErr = unix.ENOSYS
	err := kexec.Unload(fake)
	if !errors.Is(err, unix.ENOSYS) {
		t.Fatalf("unload = %v", err)
	}
	if fake.Count(kexectest.OpLoadUnload) != 1 {
		t.Fatalf("no kexec_load unload: %+v", fake.Calls())
	}
}

func TestUnloadWhenKexecFileLoadIsMissingUnloadsWhatKexecToolsLoaded(t *testing.T) {
	fake := &onlyLegacy{Fake: kexectest.New("")}
	fake.SetLoaded(true)
	if err := kexec.Unload(fake); err != nil || fake.Loaded() {
		t.Fatalf("unload: %v, loaded %v", err, fake.Loaded())
	}
}

// onlyLegacy is a kernel without kexec_file_load.
type onlyLegacy struct{ *kexectest.Fake }

func (onlyLegacy) KexecFileLoad(int, int, string, int) error { return unix.ENOSYS }

func TestLoadedReadsTheSysfsFile(t *testing.T) {
	sys := t.TempDir()
	if _, err := kexecstate.Loaded(sys); err == nil {
		t.Fatal("no error without the file")
	}
	fake := kexectest.New(sys)
	if got, err := kexecstate.Loaded(sys); err != nil || got {
		t.Fatalf("%v %v", got, err)
	}
	fake.SetLoaded(true)
	if got, err := kexecstate.Loaded(sys); err != nil || !got {
		t.Fatalf("%v %v", got, err)
	}
	os.WriteFile(filepath.Join(sys, "kernel/kexec_loaded"), []byte("banana"), 0o644)
	if _, err := kexecstate.Loaded(sys); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestVerifyTellsTheLoadedFilesFromReplacedOnes(t *testing.T) {
	f := newFixture(t)
	img, err := f.loader.Load(f.plan("/boot/intel-ucode.img", "/boot/initrd.img-"+ver))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.loader.Verify(img); err != nil {
		t.Fatalf("unchanged files: %v", err)
	}
	kernel := filepath.Join(f.root, "boot/vmlinuz-"+ver)

	// Same content, new inode: what dpkg's unpack-and-rename does.
	b, _ := os.ReadFile(kernel)
	hosttest.File(t, f.root, "/boot/vmlinuz-new", string(b))
	os.Rename(filepath.Join(f.root, "boot/vmlinuz-new"), kernel)
	if err := f.loader.Verify(img); err == nil || !strings.Contains(err.Error(), "changed since it was loaded") {
		t.Fatalf("replaced kernel: %v", err)
	}

	img, _ = f.loader.Load(f.plan("/boot/intel-ucode.img", "/boot/initrd.img-"+ver))
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(f.root, "boot/initrd.img-"+ver), later, later)
	if err := f.loader.Verify(img); err == nil {
		t.Fatal("touched initrd accepted")
	}

	os.Remove(kernel)
	if err := f.loader.Verify(img); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removed kernel: %v", err)
	}
}

// Issue 12 item 8: a kernel rewritten in place, same length, its mtime
// set back (cp -p over it, or touch -r), keeps inode, size and mtime;
// only ctime shows it.
func TestVerifyCatchesAnInPlaceRewriteThatKeepsInodeSizeAndMtime(t *testing.T) {
	f := newFixture(t)
	img, err := f.loader.Load(f.plan("/boot/initrd.img-" + ver))
	if err != nil {
		t.Fatal(err)
	}
	hosttest.RewriteInPlace(t, f.root, "/boot/vmlinuz-"+ver, "MZ evil!! image "+ver)
	if err := f.loader.Verify(img); err == nil || !strings.Contains(err.Error(), "changed since it was loaded") {
		t.Fatalf("a kernel rewritten in place was accepted: %v", err)
	}
}

func TestFileIDsCompareContentIdentityNotPaths(t *testing.T) {
	a := kexec.FileID{Path: "/boot/vmlinuz", Dev: 1, Ino: 2, Size: 3, MtimeNs: 4, CtimeNs: 5}
	b := a
	b.Path = "/boot/vmlinuz-6.1"
	if !a.Same(b) {
		t.Fatal("path compared")
	}
	for _, m := range []func(*kexec.FileID){
		func(x *kexec.FileID) { x.Dev++ }, func(x *kexec.FileID) { x.Ino++ },
		func(x *kexec.FileID) { x.Size++ }, func(x *kexec.FileID) { x.MtimeNs++ },
		func(x *kexec.FileID) { x.CtimeNs++ },
	} {
		c := a
		m(&c)
		if a.Same(c) {
			t.Fatalf("%v same as %v", c, a)
		}
	}
}

func TestParseLockdownPicksTheBracketedMode(t *testing.T) {
	for in, want := range map[string]string{
		"[none] integrity confidentiality\n": "none",
		"none [integrity] confidentiality\n": "integrity",
		"none integrity [confidentiality]":   "confidentiality",
		"":                                   "",
		"none integrity":                     "",
		"[unterminated":                      "",
		"] [x]":                              "x",
	} {
		if got := kexec.ParseLockdown([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func FuzzParseLockdown(f *testing.F) {
	f.Add([]byte("none [integrity] confidentiality\n"))
	f.Add([]byte("]["))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := kexec.ParseLockdown(b)
		if got != "" && !bytes.Contains(b, []byte("["+got+"]")) {
			t.Fatalf("%q from %q", got, b)
		}
	})
}
