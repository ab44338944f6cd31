package main

import (
	"context"
	"os"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// machine is what the commands take from the machine they run on. run
// starts from the real one; tests change parts of it through options
// given to run (func(*machine), written in the tests), so nothing is a
// package variable that a test reassigns and another test then sees.
type machine struct {
	// systemBus connects the system bus (systemBus: never the machine's
	// own inside a test binary).
	systemBus func() (*dbus.Conn, error)
	// euid is the effective uid.
	euid func() int
	// kexec makes the kexec syscalls for the --root path.
	kexec func() kexec.Syscalls
	// live is the running system's /proc, /sys and /run.
	live preflight.Env
	// interactive: a person can answer polkit's password prompt.
	interactive func() bool
	// target opens a root (tests expect files owned by the user running
	// them).
	target func(root string) host.Target
	// watchContext ends watch-reboot-required (a signal in real use).
	watchContext func() (context.Context, context.CancelFunc)
}

// option changes the machine run acts on; only tests make them.
type option func(*machine)

func realMachine() machine {
	return machine{
		systemBus:    systemBus,
		euid:         os.Geteuid,
		kexec:        kexec.Real,
		live:         preflight.Live(),
		interactive:  stdinIsTerminal,
		target:       host.New,
		watchContext: signalContext,
	}
}
