package main

import (
	"context"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/rapidreboot/rapidreboot/backend/system/host"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec"
	"github.com/rapidreboot/rapidreboot/backend/system/preflight"
)

// The tests' doors into the machine the commands act on (machine.go):
// options given to run, kept per test, so that no test changes what
// another one sees.

func withEUID(uid int) option { return func(m *machine) { m.euid = func() int { return uid } } }

func withSystemBus(f func() (*dbus.Conn, error)) option { return func(m *machine) { m.systemBus = f } }

func withKexec(s kexec.Syscalls) option {
	return func(m *machine) { m.kexec = func() kexec.Syscalls { return s } }
}

func withLive(env preflight.Env) option { return func(m *machine) { m.live = env } }

func withProc(dir string) option { return func(m *machine) { m.live.Proc = dir } }

func withInteractive(v bool) option {
	return func(m *machine) { m.interactive = func() bool { return v } }
}

// withTestOwner opens roots as owned by the user running the tests.
func withTestOwner() option {
	return func(m *machine) { m.target = func(root string) host.Target { return hosttest.Target(root) } }
}

func withWatchContext(f func() (context.Context, context.CancelFunc)) option {
	return func(m *machine) { m.watchContext = f }
}

var (
	seamsMu sync.Mutex
	seamsOf = map[*testing.T][]option{}
)

// seams makes every run of this test (ctl, runCLI, runIn) act on a
// machine changed by opts, after those given before.
func seams(t *testing.T, opts ...option) {
	seamsMu.Lock()
	defer seamsMu.Unlock()
	if _, ok := seamsOf[t]; !ok {
		t.Cleanup(func() {
			seamsMu.Lock()
			delete(seamsOf, t)
			seamsMu.Unlock()
		})
	}
	seamsOf[t] = append(seamsOf[t], opts...)
}

// optionsOf is what seams gave t.
func optionsOf(t *testing.T) []option {
	seamsMu.Lock()
	defer seamsMu.Unlock()
	return append([]option(nil), seamsOf[t]...)
}
