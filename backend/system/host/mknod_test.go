package host_test

import "golang.org/x/sys/unix"

// mknodZero makes a character device like /dev/zero (1,5).
func mknodZero(p string) error {
	return unix.Mknod(p, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5)))
}
