//go:build !rapidreboot_fakekexec

package main

import "github.com/rapidreboot/rapidreboot/backend/system/kexec"

// system is the running system and the kernel's real kexec syscalls.
func system() (paths, kexec.Syscalls, error) {
	return paths{root: "/", proc: "/proc", sys: "/sys", run: "/run"}, kexec.Real(), nil
}
