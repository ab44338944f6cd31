package control

import (
	"io"
	"time"
)

// The doors for the tests' fakes (package control_test); none of them is
// in the shipped program.

// System is what the controller asks outside the process.
type System = system

// ErrNoSystemBus is what System.Plan returns without a system bus.
var ErrNoSystemBus = errNoSystemBus

// WithSystem replaces the D-Bus questions.
func WithSystem(s System) option { return withSystem(s) }

// WithPollEvery changes how often the inhibitors are read again.
func WithPollEvery(d time.Duration) option { return withPollEvery(d) }

// WithLog collects the error lines meant for stderr.
func WithLog(w io.Writer) option { return withLog(w) }

// PollerDone is closed when the inhibitor poller has ended.
func (c *Controller) PollerDone() <-chan struct{} { return c.pollerDone }
