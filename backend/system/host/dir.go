package host

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

// OpenDir opens the directory p inside the root, as Open resolves it,
// with O_DIRECTORY: anything but a directory fails with ENOTDIR before it
// is opened (a device node is never opened). The result serves as the
// directory descriptor of *at calls that must not look the path up again
// (armstate.OpenDirIn writes an installer's state through it).
func (t Target) OpenDir(p string) (*os.File, error) {
	fd, err := t.openat(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK, false)
	if err != nil {
		return nil, openErr(reason.BadConfig, p, err)
	}
	return os.NewFile(uintptr(fd), clean(p)), nil
}
