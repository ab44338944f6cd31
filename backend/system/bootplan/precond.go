package bootplan

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// CheckRootPreconditions checks what a plan for root needs before
// anything is parsed: root, root/boot and root/usr are readable
// directories, and /proc is mounted (the helper reads the live kernel's
// state from it). The error names the first one that fails, with code
// reason.Precondition.
func CheckRootPreconditions(root string) error {
	return checkRootPreconditions(root, "/proc")
}

// checkRootPreconditions is CheckRootPreconditions with /proc at procDir
// (a test's directory).
func checkRootPreconditions(root, procDir string) error {
	for _, d := range []string{root, filepath.Join(root, "boot"), filepath.Join(root, "usr")} {
		if err := readableDir(d); err != nil {
			return reason.Wrap(reason.Precondition, fmt.Sprintf("%s is not a readable directory", d), err)
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(procDir, &st); err != nil || st.Type != unix.PROC_SUPER_MAGIC {
		if err == nil {
			err = fmt.Errorf("file system type %#x is not proc", st.Type)
		}
		return reason.Wrap(reason.Precondition, fmt.Sprintf("%s is not mounted", procDir), err)
	}
	return nil
}

func readableDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("not a directory")
	}
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot list: %w", err)
	}
	return nil
}
