package kexec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// MaxInitrdTotal caps the concatenation of several initrds, which lives in
// RAM (a memfd) until the kernel has copied it.
const MaxInitrdTotal = 1 << 30

// KexecToolsEnv is the whole environment kexec-tools runs with: nothing of
// the helper's (or its caller's) environment reaches it.
var KexecToolsEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}

// Loader loads a boot plan's kernel.
type Loader struct {
	Sys    Syscalls
	Target host.Target
	// KexecTools is the path of kexec-tools' kexec binary on the running
	// system, "" for none; it is used only when kexec_file_load is missing.
	KexecTools string
	// SysDir and ProcDir are the running kernel's /sys and /proc ("" means
	// the real ones). Lockdown is read from SysDir before any fallback and
	// kexec_load_disabled from ProcDir to name an EPERM's cause.
	SysDir, ProcDir string
	// MaxCmdline overrides the architecture's command line limit (0: MaxCmdline()).
	MaxCmdline int
}

// Load opens the plan's files, checks them and loads them with
// kexec_file_load. On any error nothing is left loaded by this call.
func (l Loader) Load(p *bootplan.Plan) (Image, error) {
	if p == nil || p.Kernel == "" {
		return Image{}, reason.New(reason.KernelMissing, "")
	}
	limit := l.MaxCmdline
	if limit == 0 {
		limit = MaxCmdline()
	}
	// Row 20: the command line goes to the kernel byte for byte or not at
	// all. A NUL would cut it short in the kernel, silently.
	if strings.IndexByte(p.Cmdline, 0) >= 0 {
		return Image{}, reason.New(reason.BadConfig, "the kernel command line contains a NUL byte")
	}
	if len(p.Cmdline) > limit {
		return Image{}, reason.New(reason.CmdlineTooLong, fmt.Sprintf("%d bytes, at most %d", len(p.Cmdline), limit))
	}

	kernel, err := l.open(p.Kernel, host.MaxKernelSize, reason.KernelMissing)
	if err != nil {
		return Image{}, err
	}
	defer kernel.Close()
	var initrds []*host.BootFile
	defer func() {
		for _, f := range initrds {
			f.Close()
		}
	}()
	for _, path := range p.Initrd {
		f, err := l.open(path, host.MaxInitrdSize, reason.InitrdMissing)
		if err != nil {
			return Image{}, err
		}
		initrds = append(initrds, f)
	}

	img := Image{Kernel: IDOf(kernel), Cmdline: p.Cmdline, Version: p.Version, Method: MethodFileLoad}
	for _, f := range initrds {
		img.Initrds = append(img.Initrds, IDOf(f))
	}

	// Row 24: NO_INITRAMFS only when the plan has no initrd at all; a plan
	// whose initrd is missing never gets here (open refused above).
	flags := 0
	var initrd *os.File
	switch len(initrds) {
	case 0:
		flags |= FlagNoInitramfs
	case 1:
		initrd = initrds[0].File
		img.InitrdSize = initrds[0].Size
	default:
		m, size, err := concatInitrds(initrds)
		if err != nil {
			return Image{}, err
		}
		defer m.Close()
		initrd = m
		img.InitrdSize = size
	}
	initrdFd := -1
	if initrd != nil {
		initrdFd = int(initrd.Fd())
	}

	err = l.Sys.KexecFileLoad(int(kernel.Fd()), initrdFd, p.Cmdline, flags)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return Image{}, l.loadError(err)
	}
	if err := l.fallback(kernel.File, initrd, p.Cmdline); err != nil {
		return Image{}, err
	}
	img.Method = MethodKexecTools
	return img, nil
}

// Unload unloads whatever is loaded.
func (l Loader) Unload() error { return Unload(l.Sys) }

// Verify re-opens the image's files through the target and reports an
// error unless each is still the file that was loaded.
func (l Loader) Verify(img Image) error {
	for _, c := range l.VerifyEach(img) {
		if c.Err != nil {
			return c.Err
		}
	}
	return nil
}

// Check is the re-check of one file of an image.
type Check struct {
	File FileID
	// Err is nil when the file is still the one loaded; a missing file
	// gives an error for which errors.Is(err, fs.ErrNotExist) holds.
	Err error
}

// VerifyEach re-checks every file of img, the kernel first, and says for
// each whether it is still the file loaded: a caller that can explain a
// missing file (an unmounted /boot) must know which one is missing and
// that the others are right.
func (l Loader) VerifyEach(img Image) []Check {
	out := []Check{{img.Kernel, l.verifyOne(img.Kernel, host.MaxKernelSize, reason.KernelMissing)}}
	for _, id := range img.Initrds {
		out = append(out, Check{id, l.verifyOne(id, host.MaxInitrdSize, reason.InitrdMissing)})
	}
	return out
}

func (l Loader) verifyOne(want FileID, max int64, missing reason.Code) error {
	f, err := l.open(want.Path, max, missing)
	if err != nil {
		return err
	}
	got := IDOf(f)
	f.Close()
	if !want.Same(got) {
		return fmt.Errorf("cannot use %s: it changed since it was loaded: was %s, now %s", want.Path, want, got)
	}
	return nil
}

// open opens a boot file through the target, keeping the target's own
// reason code when it has one.
func (l Loader) open(p string, max int64, missing reason.Code) (*host.BootFile, error) {
	f, err := l.Target.OpenBootFile(p, max)
	if err == nil {
		return f, nil
	}
	var re *reason.Error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// host says KernelMissing for any missing file; an initrd's is ours to name.
		return nil, reason.Wrap(missing, p, err)
	case errors.As(err, &re):
		return nil, err
	default:
		return nil, reason.Wrap(reason.UnsafeFile, p, err)
	}
}

// loadError gives each errno its own code (rows 29, 31): each needs a
// different sentence and a different remedy.
func (l Loader) loadError(err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return reason.Wrap(reason.LoadFailed, err.Error(), err)
	}
	switch errno {
	case unix.EKEYREJECTED, unix.ENOKEY, unix.EKEYEXPIRED, unix.EKEYREVOKED, unix.EBADMSG, unix.ENODATA, unix.ENOPKG:
		// The signature check of KEXEC_SIG: the image is not signed by a key
		// this machine trusts.
		return reason.Wrap(reason.Lockdown, "", err)
	case unix.EPERM:
		// EPERM means lockdown refused an unsigned image, or the sysctl
		// kexec_load_disabled, or no CAP_SYS_BOOT. Say which.
		if m := LockdownMode(l.sysDir()); m != "" && m != "none" {
			return reason.Wrap(reason.Lockdown, m, err)
		}
		if off, _ := LoadDisabled(l.procDir()); off {
			return reason.Wrap(reason.KexecDisabled, "", err)
		}
		return reason.Wrap(reason.LoadFailed, "operation not permitted", err)
	case unix.ENOEXEC:
		return reason.Wrap(reason.ImageFormat, "", err)
	case unix.ENOMEM:
		return reason.Wrap(reason.NoMemory, "", err)
	case unix.EFBIG:
		return reason.Wrap(reason.ImageTooBig, "", err)
	case unix.EINVAL:
		// kexec-bzimage64.c: a command line the new kernel's header does not
		// allow; otherwise a malformed image.
		return reason.Wrap(reason.LoadFailed, "the kernel rejected the image or its command line (invalid argument)", err)
	case unix.EBUSY:
		return reason.Wrap(reason.LoadFailed, "another kexec load is in progress", err)
	}
	return reason.Wrap(reason.LoadFailed, errno.Error(), err)
}

// fallback loads through kexec-tools' kexec_load(2) when kexec_file_load is
// missing (row 30). Never under lockdown (security-background.md §3.1: a
// locked-down kernel refuses kexec_load, and trying it would only hide the
// real reason), never with another kernel: kexec-tools reads the very files
// already opened and checked, as /proc/self/fd/3 and 4.
func (l Loader) fallback(kernel, initrd *os.File, cmdline string) error {
	if m := LockdownMode(l.sysDir()); m != "" && m != "none" {
		return reason.New(reason.NoKexec, "kexec_file_load is missing and lockdown ("+m+") forbids kexec_load")
	}
	if l.KexecTools == "" {
		return reason.New(reason.NoKexec, "kexec_file_load is missing and kexec-tools is not installed")
	}
	if err := usableTool(l.KexecTools); err != nil {
		return reason.Wrap(reason.NoKexec, "kexec_file_load is missing and kexec-tools cannot be used", err)
	}
	files := []*os.File{kernel}
	argv := []string{l.KexecTools, "--kexec-syscall", "--load", "/proc/self/fd/3"}
	if initrd != nil {
		files = append(files, initrd)
		argv = append(argv, "--initrd=/proc/self/fd/4")
	}
	argv = append(argv, "--append="+cmdline)
	if err := l.Sys.RunKexecTools(l.KexecTools, argv, KexecToolsEnv, files); err != nil {
		return reason.Wrap(reason.LoadFailed, err.Error(), err)
	}
	return nil
}

// usableTool refuses a kexec binary that is not a regular executable owned
// by root (or by this process's user, which is root in production) and
// writable only by its owner: the helper runs it as root.
func usableTool(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("cannot run %s: not an absolute path", p)
	}
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("cannot run %s: not an executable file", p)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("cannot run %s: writable by group or others", p)
	}
	if sys, ok := st.Sys().(*unix.Stat_t); ok {
		if sys.Uid != 0 && int(sys.Uid) != os.Geteuid() {
			return fmt.Errorf("cannot run %s: owned by uid %d", p, sys.Uid)
		}
	}
	return nil
}

func (l Loader) sysDir() string {
	if l.SysDir == "" {
		return "/sys"
	}
	return l.SysDir
}

func (l Loader) procDir() string {
	if l.ProcDir == "" {
		return "/proc"
	}
	return l.ProcDir
}

// LockdownMode returns the active lockdown mode of the kernel whose sysfs
// is at sys ("none", "integrity", "confidentiality"), or "" when it has no
// lockdown LSM.
func LockdownMode(sys string) string {
	b, err := os.ReadFile(filepath.Join(sys, "kernel/security/lockdown"))
	if err != nil {
		return ""
	}
	return ParseLockdown(b)
}

// ParseLockdown picks the bracketed word of "none [integrity] confidentiality".
func ParseLockdown(b []byte) string {
	s := string(b)
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], ']')
	if j < 0 {
		return ""
	}
	return s[i+1 : i+j]
}

// initrdAlign is GRUB's alignment between initrds loaded together
// (grub-core/loader/linux.c, ALIGN_UP(size, 4)); the kernel's initramfs
// unpacker skips the zero padding between archives.
const initrdAlign = 4

// concatInitrds copies the initrds, in order, into one sealed memfd, each
// padded to initrdAlign as GRUB does. The result is what the kernel would
// get from "initrd a b" in grub.cfg.
func concatInitrds(files []*host.BootFile) (*os.File, int64, error) {
	var total int64
	for _, f := range files {
		total += pad(f.Size)
		if total > MaxInitrdTotal {
			return nil, 0, reason.New(reason.ImageTooBig, fmt.Sprintf("initrds together over %d bytes", int64(MaxInitrdTotal)))
		}
	}
	fd, err := unix.MemfdCreate("rapidreboot-initrd", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, 0, reason.Wrap(reason.LoadFailed, "cannot create a memory file for the initrds", err)
	}
	m := os.NewFile(uintptr(fd), "memfd:rapidreboot-initrd")
	ok := false
	defer func() {
		if !ok {
			m.Close()
		}
	}()
	// Reserve the memory first, so a machine short of it says so before any
	// copying rather than halfway.
	if total > 0 {
		if err := unix.Fallocate(fd, 0, 0, total); err != nil {
			if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.ENOMEM) {
				return nil, 0, reason.Wrap(reason.NoMemory, "", err)
			}
			return nil, 0, reason.Wrap(reason.LoadFailed, "cannot reserve memory for the initrds", err)
		}
	}
	var off int64
	for _, f := range files {
		n, err := copyAt(m, off, f)
		if err != nil {
			return nil, 0, err
		}
		off += pad(n)
	}
	if off != total {
		return nil, 0, reason.New(reason.LoadFailed, "the initrds changed size while they were read")
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS,
		unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return nil, 0, reason.Wrap(reason.LoadFailed, "cannot seal the initrd memory file", err)
	}
	if _, err := m.Seek(0, io.SeekStart); err != nil {
		return nil, 0, reason.Wrap(reason.LoadFailed, "cannot rewind the initrd memory file", err)
	}
	ok = true
	return m, total, nil
}

func pad(n int64) int64 { return (n + initrdAlign - 1) &^ (initrdAlign - 1) }

// copyAt copies exactly f.Size bytes of f, from its start, to m at off.
// The padding after it is already zero (fallocate).
func copyAt(m *os.File, off int64, f *host.BootFile) (int64, error) {
	if _, err := m.Seek(off, io.SeekStart); err != nil {
		return 0, reason.Wrap(reason.LoadFailed, "cannot seek the initrd memory file", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, reason.Wrap(reason.LoadFailed, "cannot read "+f.Path, err)
	}
	n, err := io.Copy(m, io.LimitReader(f.File, f.Size))
	if err != nil {
		return n, reason.Wrap(reason.LoadFailed, "cannot read "+f.Path, err)
	}
	if n != f.Size {
		return n, reason.New(reason.LoadFailed, fmt.Sprintf("%s changed size while it was read", f.Path))
	}
	// A file that grew after it was checked is not the file that was
	// checked: refuse rather than load a prefix of something else.
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err == nil && (st.Size != f.Size || st.Mtim.Nano() != f.MtimeNs) {
		return n, reason.New(reason.LoadFailed, fmt.Sprintf("%s changed while it was read", f.Path))
	}
	return n, nil
}
