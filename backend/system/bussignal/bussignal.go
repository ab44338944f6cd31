// Package bussignal is a godbus signal handler for a service that any
// local user can send signals to (a root helper on the system bus: the bus
// delivers a unicast signal to its unique name whatever its match rules).
//
// godbus's default handler starts a goroutine per signal once a
// subscriber's channel is full, each holding its signal until there is
// room: a flood of signals grows the receiver without bound (issue 12,
// item 5: 30,000 spoofed signals, 30,000 goroutines, ~60 MiB). Handler
// never starts a goroutine and never blocks the connection's reader: a
// signal that does not fit is dropped and counted. A subscriber may also
// give an accept function, run on the reader before the channel, so that
// signals it would throw away never take its channel's room from the ones
// it wants.
package bussignal

import (
	"sync"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// Handler implements dbus.SignalHandler and dbus.SignalRegistrar. Give it
// to the connection with dbus.WithSignalHandler; conn.Signal and
// conn.RemoveSignal then work as usual, with the bound.
type Handler struct {
	mu      sync.RWMutex
	closed  bool
	subs    []*subscriber
	dropped atomic.Uint64
}

type subscriber struct {
	ch     chan<- *dbus.Signal
	accept func(*dbus.Signal) bool
}

// New returns a handler with no subscribers.
func New() *Handler { return &Handler{} }

var (
	_ dbus.SignalHandler   = (*Handler)(nil)
	_ dbus.SignalRegistrar = (*Handler)(nil)
)

// DeliverSignal is called by the connection's reader for every signal.
func (h *Handler) DeliverSignal(_, _ string, s *dbus.Signal) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return
	}
	for _, sub := range h.subs {
		if sub.accept != nil && !sub.accept(s) {
			continue
		}
		select {
		case sub.ch <- s:
		default:
			h.dropped.Add(1)
		}
	}
}

// Terminate closes every subscriber's channel (the connection closed), as
// godbus's default handler does.
func (h *Handler) Terminate() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, sub := range h.subs {
		close(sub.ch)
	}
	h.subs = nil
}

// AddSignal subscribes ch to every signal (conn.Signal).
func (h *Handler) AddSignal(ch chan<- *dbus.Signal) { h.Subscribe(ch, nil) }

// Subscribe subscribes ch to the signals accept returns true for (nil:
// all). accept runs on the connection's reader: it must be quick and must
// not call the bus (a call would wait for a reply that this very reader has
// to read).
func (h *Handler) Subscribe(ch chan<- *dbus.Signal, accept func(*dbus.Signal) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.subs = append(h.subs, &subscriber{ch: ch, accept: accept})
}

// RemoveSignal unsubscribes ch (conn.RemoveSignal). The channel is not
// closed.
func (h *Handler) RemoveSignal(ch chan<- *dbus.Signal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.subs) - 1; i >= 0; i-- {
		if h.subs[i].ch == ch {
			h.subs = append(h.subs[:i], h.subs[i+1:]...)
		}
	}
}

// Dropped is the number of accepted signals dropped because their
// subscriber's channel was full.
func (h *Handler) Dropped() uint64 { return h.dropped.Load() }
