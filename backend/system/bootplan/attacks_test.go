package bootplan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

func touch(t *testing.T, root, p string, deltaSeconds int) {
	t.Helper()
	tm := hosttest.FixtureTime.Add(time.Duration(deltaSeconds) * time.Second)
	if err := os.Chtimes(filepath.Join(root, p), tm, tm); err != nil {
		t.Fatal(err)
	}
}

const v27 = "6.1.0-27-amd64"

func simpleCfg(kernel, initrd, args string) string {
	s := "menuentry 'Debian' {\nlinux " + kernel + " " + args + "\n"
	if initrd != "" {
		s += "initrd " + initrd + "\n"
	}
	return s + "}\n"
}

// computeWithin fails the test if Compute takes unreasonably long: a hang
// must show as a failure here rather than as a stuck test binary.
func computeWithin(t *testing.T, root string, opt bootplan.Options) (*bootplan.Plan, error) {
	t.Helper()
	type res struct {
		p   *bootplan.Plan
		err error
	}
	ch := make(chan res, 1)
	go func() {
		p, err := bootplan.Compute(hosttest.Target(root), opt)
		ch <- res{p, err}
	}()
	select {
	case r := <-ch:
		return r.p, r.err
	case <-time.After(60 * time.Second):
		t.Fatal("Compute did not return within 60 s")
	}
	return nil, nil
}

func TestAttack13_SymlinkLeavingBootIsRejected(t *testing.T) {
	root := build(t, kernels(tree{
		"/boot/grub/grub.cfg":           simpleCfg("/boot/vmlinuz-"+v27, "/boot/initrd.img-"+v27, "ro"),
		"/home/u/evil":                  "evil",
		"/boot/vmlinuz-" + v27:          "->/home/u/evil",
		"/boot/initrd.img-" + v27:       "",
		"/usr/lib/modules/" + v27 + "/": "",
	}))
	_, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
	checkPlan(t, nil, err, want{code: reason.LeavesBoot, detail: "/boot/vmlinuz-" + v27})

	// The same for an initrd, and in the newest-kernel scan.
	root = build(t, kernels(tree{"/home/u/evil": "", "/etc/fstab": "UUID=1 / ext4 defaults 0 1\n"}, v27))
	os.Remove(filepath.Join(root, "boot/initrd.img-"+v27))
	hosttest.Symlink(t, root, "../home/u/evil", "/boot/initrd.img-"+v27)
	_, err = bootplan.Compute(hosttest.Target(root), bootplan.Options{})
	checkPlan(t, nil, err, want{code: reason.LeavesBoot, detail: "/boot/initrd.img-" + v27})
}

func TestAttack14_SymlinkInsideBootIsAccepted(t *testing.T) {
	root := build(t, kernels(tree{
		"/boot/grub/grub.cfg": simpleCfg("/boot/vmlinuz", "/boot/initrd.img", "ro"),
		"/boot/vmlinuz":       "->vmlinuz-" + v27,
		"/boot/initrd.img":    "->/boot/initrd.img-" + v27,
	}, v27))
	plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
	checkPlan(t, plan, err, want{kernel: "/boot/vmlinuz", version: v27, initrd: []string{"/boot/initrd.img"}, why: "/boot/vmlinuz is a symlink to /boot/vmlinuz-" + v27})
}

func TestAttack15_WritableOrForeignBootFilesAreRejectedWithThePath(t *testing.T) {
	for _, f := range []string{"/boot/vmlinuz-" + v27, "/boot/initrd.img-" + v27, "/boot/grub/grub.cfg"} {
		t.Run(f+" world-writable", func(t *testing.T) {
			root := build(t, kernels(tree{"/boot/grub/grub.cfg": simpleCfg("/boot/vmlinuz-"+v27, "/boot/initrd.img-"+v27, "ro")}, v27))
			hosttest.Chmod(t, root, f, 0o666)
			_, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
			checkPlan(t, nil, err, want{code: reason.UnsafeFile, detail: f})
		})
		t.Run(f+" owned by another user", func(t *testing.T) {
			root := build(t, kernels(tree{"/boot/grub/grub.cfg": simpleCfg("/boot/vmlinuz-"+v27, "/boot/initrd.img-"+v27, "ro")}, v27))
			hosttest.Chown(t, root, f, 1000)
			_, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
			checkPlan(t, nil, err, want{code: reason.UnsafeFile, detail: f})
		})
	}
}

func TestAttack17_KernelThatIsAFifoDirectoryOrDevZeroLinkIsRejectedWithoutBlocking(t *testing.T) {
	cases := map[string]func(t *testing.T, root string){
		"a FIFO":           func(t *testing.T, root string) { hosttest.Fifo(t, root, "/boot/vmlinuz-"+v27) },
		"a directory":      func(t *testing.T, root string) { hosttest.Mkdir(t, root, "/boot/vmlinuz-"+v27) },
		"a /dev/zero link": func(t *testing.T, root string) { hosttest.Symlink(t, root, "/dev/zero", "/boot/vmlinuz-"+v27) },
		"a link to a FIFO": func(t *testing.T, root string) {
			hosttest.Fifo(t, root, "/boot/f")
			hosttest.Symlink(t, root, "f", "/boot/vmlinuz-"+v27)
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			root := build(t, tree{"/boot/grub/grub.cfg": simpleCfg("/boot/vmlinuz-"+v27, "", "ro")})
			mk(t, root)
			_, err := computeWithin(t, root, bootplan.Options{})
			if c := reason.CodeOf(err); c != reason.UnsafeFile && c != reason.LeavesBoot {
				t.Fatalf("got %v", err)
			}
			if reason.DetailOf(err) != "/boot/vmlinuz-"+v27 {
				t.Fatalf("detail %q", reason.DetailOf(err))
			}
		})
	}
	t.Run("a FIFO grub.cfg", func(t *testing.T) {
		root := build(t, kernels(tree{}, v27))
		hosttest.Mkdir(t, root, "/boot/grub")
		hosttest.Fifo(t, root, "/boot/grub/grub.cfg")
		// Not a regular file, so not taken for a configuration at all.
		_, err := computeWithin(t, root, bootplan.Options{LiveCmdline: str("root=/dev/sda1")})
		if err != nil {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAttack18_OversizedConfigurationIsTooLargeNotAHang(t *testing.T) {
	big := strings.Repeat("# padding padding padding padding padding padding padding\n", 10<<20/57+1)
	t.Run("10 MB grub.cfg", func(t *testing.T) {
		root := build(t, kernels(tree{"/boot/grub/grub.cfg": big}, v27))
		_, err := computeWithin(t, root, bootplan.Options{})
		checkPlan(t, nil, err, want{code: reason.TooLarge, detail: "/boot/grub/grub.cfg"})
		if s := reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err)); !strings.Contains(s, "grub.cfg is too large") {
			t.Fatalf("sentence %q", s)
		}
	})
	t.Run("10 MB etc/default/grub", func(t *testing.T) {
		root := build(t, kernels(tree{"/etc/default/grub": big, "/etc/fstab": "UUID=1 / ext4 defaults 0 1\n"}, v27))
		_, err := computeWithin(t, root, bootplan.Options{})
		checkPlan(t, nil, err, want{code: reason.TooLarge, detail: "/etc/default/grub"})
	})
	t.Run("binary garbage as grub.cfg", func(t *testing.T) {
		garbage := make([]byte, 1<<20)
		for i := range garbage {
			garbage[i] = byte(i*7919 + i/251)
		}
		root := build(t, kernels(tree{"/boot/grub/grub.cfg": string(garbage)}, v27))
		_, err := computeWithin(t, root, bootplan.Options{})
		if c := reason.CodeOf(err); c != reason.BadConfig && c != reason.NoBootEntries {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAttack19_HostileGrubScriptsFailInBoundedTime(t *testing.T) {
	deep := strings.Repeat("submenu 'x' {\n", 5000) + strings.Repeat("}\n", 5000)
	cases := map[string]string{
		"deep submenu nesting":    deep,
		"an unterminated quote":   "menuentry 'x {\nlinux /boot/vmlinuz\n}\n",
		"an unterminated brace":   "menuentry 'x' {\nlinux /boot/vmlinuz\n",
		"a recursive function":    "function f { f; f; }\nf\nmenuentry x {\nlinux /boot/vmlinuz-" + v27 + "\n}\n",
		"an endless while loop":   "while true; do set a=b; done\nmenuentry x {\nlinux /boot/vmlinuz-" + v27 + "\n}\n",
		"a doubling variable":     "set a=xxxxxxxxxxxxxxxx\n" + strings.Repeat("set a=$a$a\n", 40) + "menuentry x {\nlinux /boot/vmlinuz-" + v27 + "\n}\n",
		"a self-sourcing config":  "source $prefix/grub.cfg\nmenuentry x {\nlinux /boot/vmlinuz-" + v27 + "\n}\n",
		"an entry calling itself": "function f { f; }\nmenuentry x {\nf\nlinux /boot/vmlinuz-" + v27 + "\n}\n",
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			root := build(t, kernels(tree{"/boot/grub/grub.cfg": cfg}, v27))
			_, err := computeWithin(t, root, bootplan.Options{})
			if c := reason.CodeOf(err); c != reason.BadConfig {
				t.Fatalf("got %v, want bad-config", err)
			}
			t.Logf("%s", reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err)))
		})
	}
}

func TestAttack20_CmdlineOverTheArchitectureLimitIsRefused(t *testing.T) {
	long := strings.Repeat("x", bootplan.CmdlineLimit)
	root := build(t, kernels(tree{"/boot/grub/grub.cfg": simpleCfg("/boot/vmlinuz-"+v27, "/boot/initrd.img-"+v27, "a="+long)}, v27))
	_, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
	checkPlan(t, nil, err, want{code: reason.CmdlineTooLong})

	// Just under the limit passes, byte for byte.
	ok := "a=" + strings.Repeat("\u00e9", (bootplan.CmdlineLimit-4)/2)
	root = build(t, kernels(tree{"/boot/grub/grub.cfg": simpleCfg("/boot/vmlinuz-"+v27, "/boot/initrd.img-"+v27, ok)}, v27))
	plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
	checkPlan(t, plan, err, want{kernel: "/boot/vmlinuz-" + v27, cmdline: ok})
}

func TestAttack44_InstallerRootResolvesInsideTargetAndNeverUsesTheLiveSystem(t *testing.T) {
	// /target/vmlinuz -> /boot/vmlinuz-V (absolute, Debian's link) and no
	// boot loader configured yet, as after debootstrap: the plan must name
	// the target's files and take root= from the target's fstab.
	target := build(t, kernels(tree{
		"/vmlinuz":          "->/boot/vmlinuz-" + v27,
		"/initrd.img":       "->/boot/initrd.img-" + v27,
		"/etc/fstab":        "UUID=target-root / ext4 errors=remount-ro 0 1\n",
		"/etc/default/grub": "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n",
	}, v27))
	plan, err := bootplan.Compute(hosttest.Target(target), bootplan.Options{})
	checkPlan(t, plan, err, want{kernel: "/boot/vmlinuz-" + v27, cmdline: "root=UUID=target-root ro quiet"})
	live, _ := os.ReadFile("/proc/cmdline")
	if s := strings.TrimSpace(string(live)); s != "" && strings.Contains(plan.Cmdline, s) {
		t.Fatalf("the live /proc/cmdline leaked into an installer plan: %q", plan.Cmdline)
	}
	for _, f := range append([]string{plan.Kernel}, plan.Initrd...) {
		if strings.HasPrefix(f, target) {
			t.Fatalf("path %q is a host path, not the target's", f)
		}
	}
	// A grub.cfg naming the absolute link resolves it inside the target.
	hosttest.File(t, target, "/boot/grub/grub.cfg", simpleCfg("/vmlinuz", "/initrd.img", "root=UUID=target-root ro"))
	plan, err = bootplan.Compute(hosttest.Target(target), bootplan.Options{})
	checkPlan(t, plan, err, want{kernel: "/vmlinuz", version: v27, initrd: []string{"/initrd.img"}})
}
