// Package bootplan computes what a cold boot through the installed boot
// loader would run by default: kernel, initrds, command line, and why.
//
// Compute looks at a root (host.Target: "/" or an installer's "/target")
// and decides in this order, recording each decision in Plan.Why:
//
//  1. systemd-boot, when its EFI binary is installed and Boot Loader
//     Specification entries exist (package bls: sort order and
//     loader.conf's default as systemd-boot applies them);
//  2. GRUB 2, boot/grub/grub.cfg or boot/grub2/grub.cfg (package grub: the
//     script is evaluated as GRUB would, grubenv's saved_entry/next_entry,
//     submenu paths, Fedora's blscfg, variables such as $vt_handoff and
//     $kernelopts);
//  3. BLS entries without a systemd-boot binary (another BLS loader);
//  4. GRUB legacy, boot/grub/menu.lst (package menulst);
//  5. nothing configured: the newest kernel by Debian's linux-version order
//     that has a matching initrd, and a command line from the running
//     system's /proc/cmdline (only when the target is the running system)
//     or else "root=<from etc/fstab> ro" plus GRUB_CMDLINE_LINUX and
//     GRUB_CMDLINE_LINUX_DEFAULT from etc/default/grub and grub.d/*.cfg.
//
// Paths in boot loader files are relative to the file system the loader
// reads. When /boot is a separate file system (etc/fstab says so, or /boot
// is a mount point, or the file exists only there) "/vmlinuz-6.1" means
// /boot/vmlinuz-6.1; the plan always names paths as the target system sees
// them. GRUB device prefixes ("(hd0,1)/boot/kernel") and btrfs subvolume
// prefixes ("/@/boot/...") are dropped.
//
// Every file the plan names passes host.Target.OpenBootFile's checks
// (inside /boot, regular, root-owned, not writable by others, size caps).
// The kernel's modules directory must exist when other kernels' modules are
// installed (a missing one alone is a warning: fixture roots and
// all-built-in kernels have none); an initrd named for the kernel's
// version must not be older than the kernel.
//
// Command line from /proc/cmdline: tokens that make sense for one boot
// only are dropped and named in Why — BOOT_IMAGE= and initrd= (set by the
// boot loader, kexec passes its own initrd), init=, single, s, S,
// 1, emergency, -b, rescue, systemd.unit=, rd.systemd.unit=, systemd.run=,
// systemd.run_success_action=, systemd.run_failure_action=,
// systemd.debug_shell, rd.break, rd.shell, rd.emergency, rd.rescue,
// systemd.confirm_spawn, kexec_jump_back_entry=. Everything else is kept
// byte for byte, quotes included. rdinit= is kept: unlike init=/bin/sh it
// is how some systems (Firecracker guests, initramfs-only systems) always
// boot.
//
// Not supported (a plan may differ from a cold boot): GRUB's `fallback`
// (a missing default kernel is refused rather than retried), EFI variables
// (systemd-boot's LoaderEntryOneShot/LoaderEntryDefault, firmware BootNext),
// unified kernel images (type #2 BLS), and reading a version out of an
// unversioned kernel image (Arch's vmlinuz-linux gives version "").
package bootplan

// Plan is the answer. Paths are as the target system sees them (from its
// own /, starting with "/"), also when /boot is a separate partition.
// The JSON form is the stable output of `rapidrebootctl plan --json`.
type Plan struct {
	Kernel   string   `json:"kernel"`
	Version  string   `json:"version"`
	Initrd   []string `json:"initrd"`
	Cmdline  string   `json:"cmdline"`
	Source   string   `json:"source"`
	Why      []string `json:"why"`
	Warnings []string `json:"warnings"`
}
