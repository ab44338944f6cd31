package kexec_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// BenchmarkLoadConcatenates1MBAnd50MBInitrds times Load with the syscall
// faked: opening and checking three files, a memfd of 51 MiB filled from
// a 1 MiB microcode initrd and a 50 MiB main one, sealing. What the real
// kernel then spends copying and parsing the image is not included.
func BenchmarkLoadConcatenates1MBAnd50MBInitrds(b *testing.B) {
	root := hosttest.NewRoot(b)
	write := func(p string, size int) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		if err := os.WriteFile(full, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("boot/vmlinuz-"+ver, 8<<20)
	write("boot/intel-ucode.img", 1<<20)
	write("boot/initrd.img-"+ver, 50<<20)
	fake := kexectest.New("")
	l := kexec.Loader{Sys: fake, Target: hosttest.Target(root), SysDir: b.TempDir(), ProcDir: b.TempDir()}
	f := &fixture{}
	p := f.plan("/boot/intel-ucode.img", "/boot/initrd.img-"+ver)
	b.SetBytes(51 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Load(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadOneInitrd is the same plan with the main initrd only: no
// copy, the file's own fd goes to the kernel.
func BenchmarkLoadOneInitrd(b *testing.B) {
	root := hosttest.NewRoot(b)
	hosttest.File(b, root, "/boot/vmlinuz-"+ver, "k")
	hosttest.File(b, root, "/boot/initrd.img-"+ver, "i")
	fake := kexectest.New("")
	l := kexec.Loader{Sys: fake, Target: hosttest.Target(root)}
	p := (&fixture{}).plan("/boot/initrd.img-" + ver)
	for i := 0; i < b.N; i++ {
		if _, err := l.Load(p); err != nil {
			b.Fatal(err)
		}
	}
}
