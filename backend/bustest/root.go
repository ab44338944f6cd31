package bustest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Kernel version and files of the fake root.
const (
	RootVersion = "6.1.0-10-amd64"
	RootKernel  = "/boot/vmlinuz-" + RootVersion
	RootInitrd  = "/boot/initrd.img-" + RootVersion
	RootCmdline = "root=UUID=0f1e2d3c-4b5a-6978-8a9b-acbdcedff001 ro quiet"
	RootBootID  = "5e3c1f6a-7b2d-4c8e-9f0a-1b2c3d4e5f60"
)

// rootGrubCfg is the shape of a Debian 12 grub.cfg (update-grub), cut to
// the default entry.
const rootGrubCfg = `set default="0"
if [ -s $prefix/grubenv ]; then
  load_env
fi
set timeout=5
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-0f1e2d3c-4b5a-6978-8a9b-acbdcedff001' {
	load_video
	insmod gzio
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root 0f1e2d3c-4b5a-6978-8a9b-acbdcedff001
	echo	'Loading Linux ` + RootVersion + ` ...'
	linux	/boot/vmlinuz-` + RootVersion + ` ` + RootCmdline + `
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd.img-` + RootVersion + `
}
`

// NewHelperRoot builds the fake root the helper binary runs against with
// --test-root: a Debian-like /boot with one kernel and its initrd, the
// running kernel's /proc and /sys files that preflight reads (kexec
// present and enabled, CAP_SYS_BOOT in the bounding set, no container),
// empty /run, and a dpkg lock nobody holds. Every file is owned by the
// test's user (root when the helper tests run).
func NewHelperRoot(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		RootKernel:                        "MZ fake kernel image " + RootVersion + "\n",
		RootInitrd:                        "070701 fake initramfs " + RootVersion + "\n",
		"/boot/config-" + RootVersion:     "CONFIG_KEXEC_FILE=y\n",
		"/boot/System.map-" + RootVersion: "",
		"/boot/grub/grub.cfg":             rootGrubCfg,
		"/etc/default/grub":               "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n",
		"/usr/lib/modules/" + RootVersion + "/modules.dep": "",
		"/etc/os-release":                      "ID=debian\nVERSION_ID=\"12\"\n",
		"/proc/cmdline":                        "BOOT_IMAGE=/boot/vmlinuz-" + RootVersion + " " + RootCmdline + "\n",
		"/proc/self/status":                    "Name:\trapidreboot-helper\nCapBnd:\t000001ffffffffff\n",
		"/proc/1/environ":                      "TERM=linux\x00",
		"/proc/locks":                          "",
		"/proc/sys/kernel/kexec_load_disabled": "0\n",
		"/proc/sys/kernel/random/boot_id":      RootBootID + "\n",
		"/proc/sys/kernel/bootloader_type":     "114\n",
		"/sys/kernel/kexec_loaded":             "0\n",
		"/var/lib/dpkg/lock-frontend":          "",
		"/var/lib/dpkg/lock":                   "",
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// update-initramfs runs after the kernel is unpacked: the initrd is
	// newer, which bootplan checks (row 25).
	kt := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(root, RootKernel), kt, kt); err != nil {
		t.Fatal(err)
	}
	it := kt.Add(time.Minute)
	if err := os.Chtimes(filepath.Join(root, RootInitrd), it, it); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/run", "/lib", "/var/lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Debian's merged /usr: /lib -> usr/lib.
	_ = os.Remove(filepath.Join(root, "lib"))
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	return root
}
