package bootplan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

// benchRoot builds a root with n kernels and an Ubuntu-shaped grub.cfg of
// about cfgBytes: the 10_linux menu for the n kernels, then os-prober
// style entries up to the size. The default is the last kernel entry of
// the submenu, so the whole menu is read and searched.
func benchRoot(b *testing.B, n, cfgBytes int) string {
	b.Helper()
	root := hosttest.NewRoot(b)
	hosttest.Mkdir(b, root, "/usr")
	var vs []string
	for i := n; i > 0; i-- {
		v := fmt.Sprintf("6.%d.0-%d-generic", i/10, i)
		vs = append(vs, v)
		hosttest.File(b, root, "/boot/vmlinuz-"+v, "")
		hosttest.File(b, root, "/boot/initrd.img-"+v, "")
		hosttest.Mkdir(b, root, "/usr/lib/modules/"+v)
	}
	cfg := ubuntuMenu(fmt.Sprintf("1>%d", 2*n-2), vs...)
	var pad strings.Builder
	for i := 0; len(cfg)+pad.Len() < cfgBytes; i++ {
		fmt.Fprintf(&pad, "menuentry 'Other OS %d (on /dev/sdb%d)' --class gnu-linux $menuentry_id_option 'osprober-%d' {\n\tinsmod part_gpt\n\tinsmod ext2\n\tsearch --no-floppy --fs-uuid --set=root 0000-%d\n\tlinux /vmlinuz root=/dev/sdb%d ro quiet\n\tinitrd /initrd.img\n}\n", i, i, i, i, i)
	}
	hosttest.File(b, root, "/boot/grub/grub.cfg", cfg+pad.String())
	return root
}

// BenchmarkPlan: the case (100 kernels, 2 MB grub.cfg) and twice
// and four times that, to show growth is linear in input size.
func BenchmarkPlan(b *testing.B) {
	for _, mul := range []int{1, 2, 4} {
		n, size := 100*mul, 2_000_000*mul
		b.Run(fmt.Sprintf("kernels=%d,grub.cfg=%dMB", n, size/1_000_000), func(b *testing.B) {
			root := benchRoot(b, n, size)
			t := hosttest.Target(root)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := bootplan.Compute(t, bootplan.Options{Platform: "pc"})
				if err != nil {
					b.Fatal(err)
				}
				if p.Version != "6.0.0-1-generic" {
					b.Fatalf("planned %s", p.Version)
				}
			}
		})
	}
}
