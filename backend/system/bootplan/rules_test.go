package bootplan_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

// tree is a fake root: path → content; a value starting with "->" makes
// a symlink to the rest.
type tree map[string]string

func build(t *testing.T, files tree) string {
	t.Helper()
	root := hosttest.NewRoot(t)
	hosttest.Mkdir(t, root, "/boot")
	hosttest.Mkdir(t, root, "/usr")
	for p, c := range files {
		if target, ok := strings.CutPrefix(c, "->"); ok {
			hosttest.Symlink(t, root, target, p)
			continue
		}
		if strings.HasSuffix(p, "/") {
			hosttest.Mkdir(t, root, p)
			continue
		}
		hosttest.File(t, root, p, c)
	}
	return root
}

// kernels adds empty kernel and initrd files and module directories.
func kernels(files tree, versions ...string) tree {
	for _, v := range versions {
		files["/boot/vmlinuz-"+v] = ""
		files["/boot/initrd.img-"+v] = ""
		files["/usr/lib/modules/"+v+"/"] = ""
	}
	return files
}

type want struct {
	kernel  string
	version string
	initrd  []string // nil: not checked
	cmdline string   // "": not checked
	warn    string   // substring of some warning
	nowarn  string   // substring no warning may have
	why     string   // substring of some why line
	code    reason.Code
	detail  string
}

type ruleCase struct {
	name  string
	files tree
	live  *string
	want  want
}

func str(s string) *string { return &s }

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := build(t, tc.files)
			plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{LiveCmdline: tc.live, Platform: "pc"})
			checkPlan(t, plan, err, tc.want)
		})
	}
}

func checkPlan(t *testing.T, plan *bootplan.Plan, err error, w want) {
	t.Helper()
	if w.code != "" {
		if reason.CodeOf(err) != w.code {
			t.Fatalf("got %v (plan %+v), want code %s", err, plan, w.code)
		}
		if w.detail != "" && reason.DetailOf(err) != w.detail {
			t.Fatalf("detail %q, want %q (%v)", reason.DetailOf(err), w.detail, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	bad := false
	if plan.Kernel != w.kernel {
		t.Errorf("kernel %q, want %q", plan.Kernel, w.kernel)
		bad = true
	}
	if w.version != "" && plan.Version != w.version {
		t.Errorf("version %q, want %q", plan.Version, w.version)
	}
	if w.initrd != nil && !reflect.DeepEqual(plan.Initrd, w.initrd) {
		t.Errorf("initrd %q, want %q", plan.Initrd, w.initrd)
	}
	if w.cmdline != "" && plan.Cmdline != w.cmdline {
		t.Errorf("cmdline\n got %q\nwant %q", plan.Cmdline, w.cmdline)
	}
	if w.warn != "" && !containsLine(plan.Warnings, w.warn) {
		t.Errorf("no warning with %q in %q", w.warn, plan.Warnings)
	}
	if w.nowarn != "" && containsLine(plan.Warnings, w.nowarn) {
		t.Errorf("a warning has %q: %q", w.nowarn, plan.Warnings)
	}
	if w.why != "" && !containsLine(plan.Why, w.why) {
		t.Errorf("no why line with %q in %q", w.why, plan.Why)
	}
	if bad || t.Failed() {
		t.Logf("why:\n  %s\nwarnings:\n  %s", strings.Join(plan.Why, "\n  "), strings.Join(plan.Warnings, "\n  "))
	}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// The header grub-mkconfig (Debian's 00_header) writes, trimmed: grubenv,
// next_entry/saved_entry, the menuentry id option.
const header = `if [ -s $prefix/grubenv ]; then
  set have_grubenv=true
  load_env
fi
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="%DEFAULT%"
fi
if [ x"${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
export menuentry_id_option
function gfxmode {
	set gfxpayload="${1}"
	if [ "${1}" = "keep" ]; then
		set vt_handoff=vt.handoff=7
	else
		set vt_handoff=
	fi
}
set linux_gfx_mode=keep
export linux_gfx_mode
`

func grubHeader(def string) string { return strings.Replace(header, "%DEFAULT%", def, 1) }

func entry(title, id, v, extra string) string {
	return `menuentry '` + title + `' --class debian --class gnu-linux $menuentry_id_option '` + id + `' {
	load_video
	gfxmode $linux_gfx_mode
	insmod gzio
	echo	'Loading Linux ` + v + ` ...'
	linux	/boot/vmlinuz-` + v + ` root=UUID=1111 ro ` + extra + `
	initrd	/boot/initrd.img-` + v + `
}
`
}

// ubuntuMenu is 10_linux's shape: a top entry for the newest kernel and
// "Advanced options" with one entry (and a recovery entry) per kernel.
func ubuntuMenu(def string, versions ...string) string {
	s := grubHeader(def)
	s += entry("Ubuntu", "gnulinux-simple-1111", versions[0], "quiet splash $vt_handoff")
	s += "submenu 'Advanced options for Ubuntu' $menuentry_id_option 'gnulinux-advanced-1111' {\n"
	for _, v := range versions {
		s += entry("Ubuntu, with Linux "+v, "gnulinux-"+v+"-advanced-1111", v, "quiet splash $vt_handoff")
		s += entry("Ubuntu, with Linux "+v+" (recovery mode)", "gnulinux-"+v+"-recovery-1111", v, "single nomodeset")
	}
	return s + "}\n"
}

func grubenv(vars ...string) string {
	s := "# GRUB Environment Block\n"
	for _, v := range vars {
		s += v + "\n"
	}
	return s + strings.Repeat("#", 1024-len(s)-1) + "\n"
}

func TestGrubDefaultSemantics(t *testing.T) {
	vs := []string{"6.8.0-45-generic", "6.8.0-40-generic", "6.5.0-9-generic"}
	base := func(cfg string, extra tree) tree {
		f := kernels(tree{"/boot/grub/grub.cfg": cfg}, vs...)
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	k := func(v string) string { return "/boot/vmlinuz-" + v }
	runCases(t, []ruleCase{
		{"default 0 is the first entry, with $vt_handoff set by the gfxmode function",
			base(ubuntuMenu("0", vs...), nil),
			nil, want{kernel: k(vs[0]), version: vs[0], initrd: []string{"/boot/initrd.img-" + vs[0]},
				cmdline: "root=UUID=1111 ro quiet splash vt.handoff=7", why: `entry: 0 "Ubuntu"`}},
		{"a numeric submenu path 1>2 picks the third entry of the submenu",
			base(ubuntuMenu("1>2", vs...), nil),
			nil, want{kernel: k(vs[1]), why: `1 "Advanced options for Ubuntu" > 2 "Ubuntu, with Linux 6.8.0-40-generic"`}},
		{"a title path picks the entry by titles",
			base(ubuntuMenu("Advanced options for Ubuntu>Ubuntu, with Linux 6.5.0-9-generic", vs...), nil),
			nil, want{kernel: k(vs[2]), warn: "the newest installed kernel is 6.8.0-45-generic, but GRUB starts 6.5.0-9-generic"}},
		{"an id path given with $menuentry_id_option ids picks the entry by ids",
			base(ubuntuMenu("gnulinux-advanced-1111>gnulinux-6.8.0-40-generic-advanced-1111", vs...), nil),
			nil, want{kernel: k(vs[1])}},
		{"a submenu without a path below it boots its first entry",
			base(ubuntuMenu("gnulinux-advanced-1111", vs...), nil),
			nil, want{kernel: k(vs[0])}},
		{"the recovery entry's cmdline is its own",
			base(ubuntuMenu("1>1", vs...), nil),
			nil, want{kernel: k(vs[0]), cmdline: "root=UUID=1111 ro single nomodeset"}},
		{"a default out of range falls back to the first entry, and says so",
			base(ubuntuMenu("7", vs...), nil),
			nil, want{kernel: k(vs[0]), warn: `GRUB's default "7" names no menu entry; GRUB boots the first entry, "Ubuntu", instead`}},
		{"a default naming no entry falls back to the first entry, and says so",
			base(ubuntuMenu("Windows 11", vs...), nil),
			nil, want{kernel: k(vs[0]), warn: `GRUB's default "Windows 11" names no menu entry`}},
		{"an old-style title without its submenu path names nothing: entry 0, and a warning",
			base(ubuntuMenu("Ubuntu, with Linux 6.8.0-40-generic", vs...), nil),
			nil, want{kernel: k(vs[0]), warn: `GRUB's default "Ubuntu, with Linux 6.8.0-40-generic" names no menu entry; GRUB boots the first entry, "Ubuntu"`}},
		{"a saved_entry of a removed kernel names nothing in the submenu: its first entry, and a warning",
			base(ubuntuMenu("${saved_entry}", vs...), tree{"/boot/grub/grubenv": grubenv("saved_entry=Advanced options for Ubuntu>Ubuntu, with Linux 6.2.0-1-generic")}),
			nil, want{kernel: k(vs[0]), warn: `GRUB's default "Advanced options for Ubuntu>Ubuntu, with Linux 6.2.0-1-generic" (from grubenv's saved_entry) names no entry in the submenu "Advanced options for Ubuntu" ("Ubuntu, with Linux 6.2.0-1-generic" is left for it); GRUB boots the submenu's first entry, "Ubuntu, with Linux 6.8.0-45-generic", instead`}},
		{"GRUB_DEFAULT=saved with nothing saved yet is entry 0 without a warning",
			base(ubuntuMenu("${saved_entry}", vs...), tree{"/boot/grub/grubenv": grubenv()}),
			nil, want{kernel: k(vs[0]), nowarn: "names no"}},
		{"a submenu path that names its entries gives no such warning",
			base(ubuntuMenu("1>2", vs...), nil),
			nil, want{kernel: k(vs[1]), nowarn: "names no"}},
		{"GRUB_DEFAULT=saved takes saved_entry from grubenv",
			base(ubuntuMenu("${saved_entry}", vs...), tree{"/boot/grub/grubenv": grubenv("saved_entry=Advanced options for Ubuntu>Ubuntu, with Linux 6.8.0-40-generic")}),
			nil, want{kernel: k(vs[1]), why: "from grubenv's saved_entry"}},
		{"next_entry in grubenv wins over the default and is reported as one-shot",
			base(ubuntuMenu("0", vs...), tree{"/boot/grub/grubenv": grubenv("next_entry=1>4", "saved_entry=0")}),
			nil, want{kernel: k(vs[2]), warn: "next_entry chooses this entry for the next boot only"}},
		{"a grubenv without its signature is ignored as GRUB's load_env does",
			base(ubuntuMenu("${saved_entry}", vs...), tree{"/boot/grub/grubenv": "saved_entry=1>2\n"}),
			nil, want{kernel: k(vs[0]), warn: "not a GRUB environment block"}},
		{"GRUB_DEFAULT pinned to an older kernel is followed, with a warning naming both",
			base(ubuntuMenu("1>4", vs...), nil),
			nil, want{kernel: k(vs[2]), warn: "the newest installed kernel is 6.8.0-45-generic, but GRUB starts 6.5.0-9-generic"}},
		{"update-grub not yet run: the menu's kernel is booted and the newer one named",
			kernels(base(ubuntuMenu("0", vs...), nil), "6.9.0-1-generic"),
			nil, want{kernel: k(vs[0]), warn: "the newest installed kernel is 6.9.0-1-generic"}},
		{"GRUB_TOP_LEVEL pinning an older kernel is named in the newest-kernel warning",
			base(ubuntuMenu("0", vs[1], vs[0], vs[2]), tree{"/etc/default/grub": "GRUB_DEFAULT=0\nGRUB_TOP_LEVEL=/boot/vmlinuz-" + vs[1] + "\n"}),
			nil, want{kernel: k(vs[1]), warn: "GRUB_TOP_LEVEL=/boot/vmlinuz-6.8.0-40-generic in /etc/default/grub puts that kernel first"}},
		{"grub2/grub.cfg is read when grub/grub.cfg is absent",
			kernels(tree{"/boot/grub2/grub.cfg": ubuntuMenu("0", vs...)}, vs...),
			nil, want{kernel: k(vs[0]), why: "GRUB 2 (/boot/grub2/grub.cfg)"}},
	})
}

func TestGrubCommandsAndVariables(t *testing.T) {
	v := "6.1.0-27-amd64"
	cfg := func(body string) tree {
		return kernels(tree{"/boot/grub/grub.cfg": "set default=0\nmenuentry 'Debian' {\n" + body + "\n}\n",
			"/boot/intel-ucode.img": "", "/boot/amd-ucode.img": ""}, v)
	}
	runCases(t, []ruleCase{
		{"linuxefi and initrdefi with several initrds keep their order, microcode first",
			cfg("linuxefi /boot/vmlinuz-" + v + " root=/dev/sda2 ro\ninitrdefi /boot/intel-ucode.img /boot/amd-ucode.img /boot/initrd.img-" + v),
			nil, want{kernel: "/boot/vmlinuz-" + v, initrd: []string{"/boot/intel-ucode.img", "/boot/amd-ucode.img", "/boot/initrd.img-" + v}}},
		{"unknown variables such as ${extra_cmdline} are empty and vanish",
			cfg("linux /boot/vmlinuz-" + v + " root=/dev/sda2 ${extra_cmdline} ro $nothing"),
			nil, want{kernel: "/boot/vmlinuz-" + v, cmdline: "root=/dev/sda2 ro"}},
		{"$kernelopts from grubenv splits into words unquoted",
			kernels(tree{"/boot/grub/grub.cfg": "load_env\nmenuentry 'x' {\nlinux /boot/vmlinuz-" + v + " $kernelopts\n}\n",
				"/boot/grub/grubenv": grubenv("kernelopts=root=/dev/vda1 ro  quiet")}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v, cmdline: "root=/dev/vda1 ro quiet"}},
		{"a quoted \"$kernelopts\" stays one argument and GRUB re-quotes it",
			kernels(tree{"/boot/grub/grub.cfg": "set kernelopts='a b'\nmenuentry 'x' {\nlinux /boot/vmlinuz-" + v + " \"$kernelopts\" c\n}\n"}, v),
			nil, want{cmdline: `"a b" c`, kernel: "/boot/vmlinuz-" + v}},
		{"quoting follows GRUB's lexer and cmdline.c: quotes and backslashes are escaped",
			cfg(`linux /boot/vmlinuz-` + v + ` 'single quoted' "dq \" \$x" un\ quoted a\\b it\'s=1`),
			nil, want{kernel: "/boot/vmlinuz-" + v, cmdline: `"single quoted" "dq \" $x" "un quoted" a\\b it\'s=1`}},
		{"UTF-8 passes byte for byte",
			cfg("linux /boot/vmlinuz-" + v + " root=/dev/sda1 label=Größe→✓"),
			nil, want{kernel: "/boot/vmlinuz-" + v, cmdline: "root=/dev/sda1 label=Größe→✓"}},
		{"a later linux line replaces an earlier one and drops its initrd",
			cfg("linux /boot/vmlinuz-old a\ninitrd /boot/initrd.img-old\nlinux /boot/vmlinuz-" + v + " b\ninitrd /boot/initrd.img-" + v),
			nil, want{kernel: "/boot/vmlinuz-" + v, cmdline: "b", initrd: []string{"/boot/initrd.img-" + v}}},
		{"if/else in the entry is evaluated (Ubuntu's initrdless fallback)",
			kernels(tree{"/boot/grub/grub.cfg": "menuentry 'x' {\nif [ \"${initrdfail}\" = 1 ]; then\nlinux /boot/vmlinuz-" + v + " panic=-1\nelse\nlinux /boot/vmlinuz-" + v + " ro\ninitrd /boot/initrd.img-" + v + "\nfi\n}\n"}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v, cmdline: "ro", initrd: []string{"/boot/initrd.img-" + v}}},
		{"variables that are not exported are invisible inside a submenu",
			kernels(tree{"/boot/grub/grub.cfg": "set secret=yes\nset shared=yes\nexport shared\nsubmenu 's' {\nmenuentry 'x' {\nlinux /boot/vmlinuz-" + v + " s=$secret sh=$shared\n}\n}\n"}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v, cmdline: "s= sh=yes"}},
		{"'>>' in default stands for a '>' in a title",
			kernels(tree{"/boot/grub/grub.cfg": "set default='a>>b'\nmenuentry 'a' {\nlinux /boot/vmlinuz-none\n}\nmenuentry 'a>b' {\nlinux /boot/vmlinuz-" + v + "\n}\n"}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v}},
		{"a default naming a chainloader entry is refused as not Linux",
			kernels(tree{"/boot/grub/grub.cfg": "set default=1\nmenuentry 'Debian' {\nlinux /boot/vmlinuz-" + v + "\n}\nmenuentry 'Windows Boot Manager' {\nchainloader /EFI/Microsoft/Boot/bootmgfw.efi\n}\n"}, v),
			nil, want{code: reason.DefaultNotLinux, detail: `"Windows Boot Manager" runs chainloader`}},
		{"a menu with no Linux entry at all names no bootable kernel",
			tree{"/boot/grub/grub.cfg": "menuentry 'Windows' {\nchainloader +1\n}\nmenuentry 'UEFI Firmware Settings' {\nfwsetup\n}\n"},
			nil, want{code: reason.NoBootEntries}},
		{"a grub.cfg without entries names no bootable kernel",
			kernels(tree{"/boot/grub/grub.cfg": "set timeout=5\n"}, v),
			nil, want{code: reason.NoBootEntries}},
		{"a missing default kernel is refused, not replaced by another",
			tree{"/boot/grub/grub.cfg": "menuentry 'x' {\nlinux /boot/vmlinuz-9.9.9\n}\n", "/boot/vmlinuz-1.0.0": ""},
			nil, want{code: reason.KernelMissing, detail: "/boot/vmlinuz-9.9.9"}},
		{"a missing initrd is refused with the kernel's version",
			tree{"/boot/grub/grub.cfg": "menuentry 'x' {\nlinux /boot/vmlinuz-" + v + "\ninitrd /boot/initrd.img-gone\n}\n", "/boot/vmlinuz-" + v: ""},
			nil, want{code: reason.InitrdMissing, detail: v}},
		{"a syntax error names the file and line",
			tree{"/boot/grub/grub.cfg": "set a=1\nmenuentry 'x' {\nlinux /boot/vmlinuz 'unterminated\n}\n"},
			nil, want{code: reason.BadConfig, detail: "/boot/grub/grub.cfg line 3: unterminated single quote"}},
	})
}

func TestSeparateBootPartitionPaths(t *testing.T) {
	v := "6.1.0-27-amd64"
	cfg := "menuentry 'Debian' {\nset root='hd0,msdos1'\nlinux /vmlinuz-" + v + " root=/dev/sda2 ro\ninitrd /initrd.img-" + v + "\n}\n"
	runCases(t, []ruleCase{
		{"etc/fstab mounting /boot makes /vmlinuz-V mean /boot/vmlinuz-V",
			kernels(tree{"/boot/grub/grub.cfg": cfg, "/etc/fstab": "UUID=2 / ext4 defaults 0 1\nUUID=1 /boot ext2 defaults 0 2\n"}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v, initrd: []string{"/boot/initrd.img-" + v}, why: "etc/fstab line 2 mounts /boot"}},
		{"without fstab a path found only under /boot is taken from there",
			kernels(tree{"/boot/grub/grub.cfg": cfg}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v, why: "exists only under /boot"}},
		{"a GRUB device prefix is dropped",
			kernels(tree{"/boot/grub/grub.cfg": "menuentry 'x' {\nlinux ($root)/boot/vmlinuz-" + v + "\ninitrd (hd0,gpt2)/boot/initrd.img-" + v + "\n}\n"}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v, initrd: []string{"/boot/initrd.img-" + v}}},
		{"a btrfs subvolume prefix /@ is dropped",
			kernels(tree{"/boot/grub/grub.cfg": "menuentry 'x' {\nlinux /@/boot/vmlinuz-" + v + " rootflags=subvol=@\ninitrd /@/boot/initrd.img-" + v + "\n}\n"}, v),
			nil, want{kernel: "/boot/vmlinuz-" + v, initrd: []string{"/boot/initrd.img-" + v}}},
	})
}

func blsEntry(title, version, linux, options string, initrds ...string) string {
	s := "title " + title + "\nversion " + version + "\nlinux " + linux + "\n"
	for _, i := range initrds {
		s += "initrd " + i + "\n"
	}
	return s + "options " + options + "\n"
}

func TestBootLoaderSpecification(t *testing.T) {
	sdboot := tree{"/boot/efi/EFI/systemd/systemd-bootx64.efi": ""}
	with := func(a, b tree) tree {
		for k, v := range b {
			a[k] = v
		}
		return a
	}
	ents := func() tree {
		return kernels(tree{
			"/boot/loader/entries/abc-6.1.0-9.conf":  blsEntry("Old", "6.1.0-9", "/vmlinuz-6.1.0-9", "root=/dev/sda1 old", "/initrd.img-6.1.0-9"),
			"/boot/loader/entries/abc-6.1.0-27.conf": blsEntry("New", "6.1.0-27", "/vmlinuz-6.1.0-27", "root=/dev/sda1 new", "/initrd.img-6.1.0-27"),
			"/boot/loader/entries/abc-6.1.0-10.conf": blsEntry("Mid", "6.1.0-10", "/vmlinuz-6.1.0-10", "root=/dev/sda1 mid", "/initrd.img-6.1.0-10"),
			"/etc/fstab":                             "UUID=1 /boot vfat umask=077 0 2\n",
		}, "6.1.0-9", "6.1.0-10", "6.1.0-27")
	}
	runCases(t, []ruleCase{
		{"without a default the entry with the highest version in its file name boots",
			with(ents(), sdboot),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-27", cmdline: "root=/dev/sda1 new", initrd: []string{"/boot/initrd.img-6.1.0-27"}}},
		{"loader.conf's default glob picks the first match in menu order",
			with(with(ents(), sdboot), tree{"/boot/loader/loader.conf": "timeout 3\ndefault abc-*\n"}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-27", why: `default "abc-*"`}},
		{"a glob matching fewer entries picks the newest of those",
			with(with(ents(), sdboot), tree{"/boot/loader/loader.conf": "default abc-6.1.0-?.conf\n"}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-9"}},
		{"loader.conf's default names one entry",
			with(with(ents(), sdboot), tree{"/boot/loader/loader.conf": "default abc-6.1.0-9.conf\n"}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-9", warn: "the newest installed kernel is 6.1.0-27"}},
		{"entries with a sort-key come before those without",
			with(with(ents(), sdboot), tree{"/boot/loader/entries/zzz.conf": "title Z\nsort-key aaa\nversion 6.1.0-10\nlinux /vmlinuz-6.1.0-10\noptions z\n"}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-10", cmdline: "z"}},
		{"an entry with no boot tries left sorts last",
			with(with(ents(), sdboot), tree{"/boot/loader/entries/abc-6.1.0-99+0-3.conf": blsEntry("Bad", "6.1.0-99", "/vmlinuz-6.1.0-27", "bad")}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-27", cmdline: "root=/dev/sda1 new"}},
		{"options with $kernelopts expand from grubenv",
			kernels(tree{"/boot/loader/entries/x.conf": blsEntry("X", "6.1.0-9", "/boot/vmlinuz-6.1.0-9", "$kernelopts $tuned_params"),
				"/boot/grub2/grubenv": grubenv("kernelopts=root=/dev/mapper/rl-root ro rhgb quiet")}, "6.1.0-9"),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-9", cmdline: "root=/dev/mapper/rl-root ro rhgb quiet"}},
		{"entries on an ESP mounted at /efi name paths on the ESP",
			tree{"/efi/loader/entries/m-6.6.1.conf": blsEntry("Arch", "6.6.1", "/m/6.6.1/linux", "root=/dev/nvme0n1p2 rw", "/m/6.6.1/initrd"),
				"/efi/m/6.6.1/linux": "", "/efi/m/6.6.1/initrd": "", "/efi/EFI/systemd/systemd-bootx64.efi": "", "/usr/lib/modules/6.6.1/": ""},
			nil, want{kernel: "/efi/m/6.6.1/linux", version: "6.6.1", initrd: []string{"/efi/m/6.6.1/initrd"}}},
		{"an efi= entry as default is not Linux",
			with(with(ents(), sdboot), tree{"/boot/loader/loader.conf": "default win.conf\n", "/boot/loader/entries/win.conf": "title Windows\nefi /EFI/Microsoft/Boot/bootmgfw.efi\n"}),
			nil, want{code: reason.DefaultNotLinux}},
	})
}

func TestAttack27_BLSAndGrubDisagreeAndTheRealBootLoaderWins(t *testing.T) {
	files := func(sd bool) tree {
		f := kernels(tree{
			"/boot/grub/grub.cfg":                  "set default=0\nmenuentry 'GRUB says 9' {\nlinux /boot/vmlinuz-6.1.0-9 grub\ninitrd /boot/initrd.img-6.1.0-9\n}\n",
			"/boot/loader/entries/a-6.1.0-27.conf": blsEntry("BLS says 27", "6.1.0-27", "/boot/vmlinuz-6.1.0-27", "bls", "/boot/initrd.img-6.1.0-27"),
			"/boot/loader/loader.conf":             "default a-6.1.0-27.conf\n",
		}, "6.1.0-9", "6.1.0-27")
		if !sd {
			delete(f, "/boot/loader/loader.conf")
		} else {
			f["/boot/efi/EFI/systemd/systemd-bootx64.efi"] = ""
		}
		return f
	}
	runCases(t, []ruleCase{
		{"systemd-boot installed: its entries decide and grub.cfg is named as not booting",
			files(true), nil, want{kernel: "/boot/vmlinuz-6.1.0-27", cmdline: "bls", why: "GRUB's menu is not what boots"}},
		{"no systemd-boot: GRUB decides and the BLS entries are named as unread",
			files(false), nil, want{kernel: "/boot/vmlinuz-6.1.0-9", cmdline: "grub", why: "read only if grub.cfg runs blscfg"}},
	})
}

func TestGrubLegacyMenuLst(t *testing.T) {
	menu := `# kopt=root=/dev/sda1 ro
# defoptions=quiet splash
default 1
timeout 5
title Debian, kernel 2.6.32-5-amd64
root (hd0,0)
kernel /boot/vmlinuz-2.6.32-5-amd64 root=/dev/sda1 ro quiet
initrd /boot/initrd.img-2.6.32-5-amd64
title Debian, kernel 2.6.32-4-amd64
root (hd0,0)
kernel=/boot/vmlinuz-2.6.32-4-amd64 root=/dev/sda1 ro  single
initrd /boot/initrd.img-2.6.32-4-amd64
title Windows
rootnoverify (hd0,1)
chainloader +1
`
	runCases(t, []ruleCase{
		{"default 1 is the second title; the kernel's text after its file name is the cmdline",
			kernels(tree{"/boot/grub/menu.lst": menu}, "2.6.32-4-amd64", "2.6.32-5-amd64"),
			nil, want{kernel: "/boot/vmlinuz-2.6.32-4-amd64", initrd: []string{"/boot/initrd.img-2.6.32-4-amd64"}, cmdline: "root=/dev/sda1 ro  single",
				warn: "the newest installed kernel is 2.6.32-5-amd64"}},
		{"default saved reads boot/grub/default",
			kernels(tree{"/boot/grub/menu.lst": strings.Replace(menu, "default 1", "default saved", 1), "/boot/grub/default": "0\n"}, "2.6.32-4-amd64", "2.6.32-5-amd64"),
			nil, want{kernel: "/boot/vmlinuz-2.6.32-5-amd64"}},
		{"a newest kernel not yet in the menu is named with the kopt and defoptions update-grub would use",
			kernels(tree{"/boot/grub/menu.lst": strings.Replace(menu, "default 1", "default 0", 1)}, "2.6.32-4-amd64", "2.6.32-5-amd64", "2.6.32-6-amd64"),
			nil, want{kernel: "/boot/vmlinuz-2.6.32-5-amd64", warn: `update-grub would add it with "root=/dev/sda1 ro quiet splash"`}},
		{"a chainloader default is not Linux",
			kernels(tree{"/boot/grub/menu.lst": strings.Replace(menu, "default 1", "default 2", 1)}, "2.6.32-4-amd64", "2.6.32-5-amd64"),
			nil, want{code: reason.DefaultNotLinux}},
	})
}

func TestNothingConfiguredBootsTheNewestKernel(t *testing.T) {
	fstab := tree{"/etc/fstab": "# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=aaaa-1111 /               ext4    errors=remount-ro 0       1\n"}
	with := func(a tree, b ...tree) tree {
		for _, bb := range b {
			for k, v := range bb {
				a[k] = v
			}
		}
		return a
	}
	runCases(t, []ruleCase{
		{"Attack23_NewestByDebianOrderWithTempFilesIgnored",
			with(kernels(tree{}, "6.1.0-9-amd64", "6.1.0-27-amd64", "6.10.0-1-amd64", "6.11.0-rc7-amd64"), fstab, tree{
				"/boot/vmlinuz-6.12.0-1-amd64.dpkg-new": "", "/boot/vmlinuz-6.13.0-1-amd64.old": "", "/boot/vmlinuz-7.0.0-1.dpkg-tmp": "",
				"/boot/vmlinuz.old": "->vmlinuz-6.1.0-9-amd64"}),
			nil, want{kernel: "/boot/vmlinuz-6.11.0-rc7-amd64", version: "6.11.0-rc7-amd64"}},
		{"an -rc kernel sorts before its release",
			with(kernels(tree{}, "6.11.0-rc7-amd64", "6.11.0-1-amd64"), fstab),
			nil, want{kernel: "/boot/vmlinuz-6.11.0-1-amd64"}},
		{"the cmdline is root= from etc/fstab, ro, then etc/default/grub with grub.d overrides",
			with(kernels(tree{}, "6.1.0-27-amd64"), fstab, tree{
				"/etc/default/grub":          "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\nGRUB_CMDLINE_LINUX=\"\"\n",
				"/etc/default/grub.d/50.cfg": "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT console=ttyS0,115200\"\nexport GRUB_CMDLINE_LINUX='lang=\"de DE\"'\n"}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-27-amd64", cmdline: `root=UUID=aaaa-1111 ro "lang=de DE" quiet splash console=ttyS0,115200`,
				initrd: []string{"/boot/initrd.img-6.1.0-27-amd64"}, why: "GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT"}},
		{"a btrfs root subvolume becomes rootflags",
			with(kernels(tree{}, "6.8.0-1"), tree{"/etc/fstab": "UUID=b / btrfs defaults,subvol=@ 0 0\n"}),
			nil, want{kernel: "/boot/vmlinuz-6.8.0-1", cmdline: "root=UUID=b rootflags=subvol=@ ro"}},
		{"Fedora's initramfs-V.img name is found",
			with(tree{"/boot/vmlinuz-6.5.6-300.fc39.x86_64": "", "/boot/initramfs-6.5.6-300.fc39.x86_64.img": "", "/usr/lib/modules/6.5.6-300.fc39.x86_64/": ""}, fstab),
			nil, want{kernel: "/boot/vmlinuz-6.5.6-300.fc39.x86_64", initrd: []string{"/boot/initramfs-6.5.6-300.fc39.x86_64.img"}}},
		{"SUSE's initrd-V name is found",
			with(tree{"/boot/vmlinuz-6.4.0-150600.23.7-default": "", "/boot/initrd-6.4.0-150600.23.7-default": "", "/usr/lib/modules/6.4.0-150600.23.7-default/": ""}, fstab),
			nil, want{kernel: "/boot/vmlinuz-6.4.0-150600.23.7-default", initrd: []string{"/boot/initrd-6.4.0-150600.23.7-default"}}},
		{"Arch's vmlinuz-linux takes initramfs-linux.img with microcode first",
			with(tree{"/boot/vmlinuz-linux": "", "/boot/vmlinuz-linux-lts": "", "/boot/initramfs-linux.img": "", "/boot/initramfs-linux-lts.img": "", "/boot/amd-ucode.img": "", "/boot/intel-ucode.img": ""}, fstab),
			nil, want{kernel: "/boot/vmlinuz-linux", version: "", initrd: []string{"/boot/intel-ucode.img", "/boot/amd-ucode.img", "/boot/initramfs-linux.img"}}},
		{"the kernel-install layout usr/lib/modules/V/vmlinuz is found",
			with(tree{"/usr/lib/modules/6.9.1-1/vmlinuz": "", "/usr/lib/modules/6.9.1-1/initrd": ""}, fstab),
			nil, want{kernel: "/usr/lib/modules/6.9.1-1/vmlinuz", version: "6.9.1-1", initrd: []string{"/usr/lib/modules/6.9.1-1/initrd"}}},
		{"Attack21_OneShotTokensOfTheLiveCmdlineAreNotCarriedOver",
			kernels(tree{}, "6.1.0-27-amd64"),
			str(`BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=UUID=x ro init=/bin/sh single systemd.unit=rescue.target quiet initrd=\initrd.img systemd.run="echo hi" rd.break emergency s -b 1 console=ttyS0 sysrq_always_enabled`),
			want{kernel: "/boot/vmlinuz-6.1.0-27-amd64", cmdline: "root=UUID=x ro quiet console=ttyS0 sysrq_always_enabled",
				why: `without BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 init=/bin/sh single systemd.unit=rescue.target initrd=\initrd.img systemd.run="echo hi" rd.break emergency s -b 1 (they apply to one boot only)`}},
		{"Attack20_TheLiveCmdlineIsKeptByteForByte",
			kernels(tree{}, "6.1.0-27-amd64"),
			str(`root=/dev/sda1 param="with space" back\slash utf8=größe "quoted key=v"`),
			want{kernel: "/boot/vmlinuz-6.1.0-27-amd64", cmdline: `root=/dev/sda1 param="with space" back\slash utf8=größe "quoted key=v"`}},
		{"Attack24_NewestKernelWithoutInitrdFallsBackToThePreviousCompleteOne",
			with(kernels(tree{}, "6.1.0-9-amd64"), fstab, tree{"/boot/vmlinuz-6.1.0-27-amd64": "", "/usr/lib/modules/6.1.0-27-amd64/": ""}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-9-amd64", warn: "kernel /boot/vmlinuz-6.1.0-27-amd64 has no initrd"}},
		{"Attack24_NoKernelHasAnInitrdOnAnInitramfsToolsSystemIsRefused",
			with(tree{"/boot/vmlinuz-6.1.0-27-amd64": "", "/etc/initramfs-tools/initramfs.conf": "", "/usr/lib/modules/6.1.0-27-amd64/": ""}, fstab),
			nil, want{code: reason.InitrdMissing, detail: "6.1.0-27-amd64"}},
		{"a system that builds no initrds boots without one",
			with(tree{"/boot/vmlinuz-6.1.0-27-custom": "", "/usr/lib/modules/6.1.0-27-custom/": ""}, fstab),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-27-custom", initrd: []string{}}},
		{"without fstab or /proc/cmdline the root is unknown and the plan refuses",
			kernels(tree{}, "6.1.0-27-amd64"),
			nil, want{code: reason.BadConfig}},
	})
}

func TestAttack26_EmptySeparateBootIsRefusedAsNotMounted(t *testing.T) {
	runCases(t, []ruleCase{
		{"fstab mounts /boot and it is empty",
			tree{"/etc/fstab": "UUID=1 / ext4 defaults 0 1\nUUID=2 /boot ext4 defaults 0 2\n", "/usr/lib/modules/6.1.0-27-amd64/": ""},
			str("root=UUID=1 ro"), want{code: reason.KernelMissing}},
		{"grub.cfg lives on the unmounted /boot too: nothing at all is there",
			tree{"/usr/lib/modules/6.1.0-27-amd64/": ""},
			nil, want{code: reason.KernelMissing}},
	})
	root := build(t, tree{})
	_, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
	if s := reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err)); !strings.Contains(s, "No kernel was found in /boot (is /boot mounted?)") {
		t.Fatalf("sentence %q", s)
	}
}

func TestAttack25_StaleInitrdOrMissingModulesAreRefusedWithTheVersion(t *testing.T) {
	v := "6.1.0-27-amd64"
	cfg := "menuentry 'x' {\nlinux /boot/vmlinuz-" + v + " ro\ninitrd /boot/initrd.img-" + v + "\n}\n"
	t.Run("modules of the kernel missing while others are installed", func(t *testing.T) {
		root := build(t, kernels(tree{"/boot/grub/grub.cfg": cfg, "/boot/vmlinuz-" + v: "", "/boot/initrd.img-" + v: ""}, "6.1.0-9-amd64"))
		_, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
		checkPlan(t, nil, err, want{code: reason.ModulesMissing, detail: v})
	})
	t.Run("no modules for any kernel is only a warning", func(t *testing.T) {
		root := build(t, tree{"/boot/grub/grub.cfg": cfg, "/boot/vmlinuz-" + v: "", "/boot/initrd.img-" + v: ""})
		plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
		checkPlan(t, plan, err, want{kernel: "/boot/vmlinuz-" + v, warn: "no modules directory /lib/modules/" + v})
	})
	t.Run("modules under /lib/modules of a system without merged /usr count", func(t *testing.T) {
		root := build(t, tree{"/boot/grub/grub.cfg": cfg, "/boot/vmlinuz-" + v: "", "/boot/initrd.img-" + v: "", "/lib/modules/" + v + "/": "", "/lib/modules/6.1.0-9-amd64/": ""})
		plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
		checkPlan(t, plan, err, want{kernel: "/boot/vmlinuz-" + v})
	})
	t.Run("an initrd older than its kernel", func(t *testing.T) {
		root := build(t, kernels(tree{"/boot/grub/grub.cfg": cfg}, v))
		touch(t, root, "/boot/initrd.img-"+v, -3600)
		_, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
		checkPlan(t, nil, err, want{code: reason.InitrdStale, detail: v})
		s := reason.Sentence(nil, reason.CodeOf(err), reason.DetailOf(err))
		if !strings.Contains(s, v) {
			t.Fatalf("sentence %q does not name the version", s)
		}
	})
	t.Run("an older microcode image is fine", func(t *testing.T) {
		root := build(t, kernels(tree{"/boot/grub/grub.cfg": strings.Replace(cfg, "initrd /boot", "initrd /boot/intel-ucode.img /boot", 1), "/boot/intel-ucode.img": ""}, v))
		touch(t, root, "/boot/intel-ucode.img", -86400)
		plan, err := bootplan.Compute(hosttest.Target(root), bootplan.Options{})
		checkPlan(t, plan, err, want{kernel: "/boot/vmlinuz-" + v})
	})
}
