package bootplan_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

// Issue 16: a unified kernel image (a PE with a .linux section) named as
// the kernel is refused with its own reason before any load; a bzImage
// with its EFI stub (a PE without .linux) is a kernel like any other.
func TestAUnifiedKernelImageIsRefusedWithItsReason(t *testing.T) {
	v := "6.1.0-27-amd64"
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "uki", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cfg := "menuentry 'x' {\nlinux /boot/vmlinuz-" + v + " ro\ninitrd /boot/initrd.img-" + v + "\n}\n"
	for _, tc := range []struct {
		name, head string
		want       want
	}{
		{"a UKI", read("uki-ukify.head"), want{code: reason.UnifiedKernelImage, detail: "/boot/vmlinuz-" + v}},
		{"a bzImage with its EFI stub", read("bzimage-efistub.head"), want{kernel: "/boot/vmlinuz-" + v}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := build(t, kernels(tree{"/boot/grub/grub.cfg": cfg}, v))
			if err := os.WriteFile(filepath.Join(root, "boot/vmlinuz-"+v), []byte(tc.head), 0o644); err != nil {
				t.Fatal(err)
			}
			touch(t, root, "/boot/vmlinuz-"+v, -7200) // older than its initrd, as installed
			plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
			checkPlan(t, plan, err, tc.want)
		})
	}
}
