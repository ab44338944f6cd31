package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/bustest"
	"github.com/rapidreboot/rapidreboot/backend/session"
)

func TestWatchTellsWhatBecameOfARestartRequest(t *testing.T) {
	tests := []struct {
		desc  string
		act   func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn)
		grace time.Duration
		want  session.Outcome
	}{
		{"logind preparing for shutdown means the restart proceeds", func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn) {
			l.EmitPrepareForShutdown(true)
		}, 5 * time.Second, session.Proceeding},
		{"the end of the session means the restart proceeds", func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn) {
			g.EmitSessionOver()
		}, 5 * time.Second, session.Proceeding},
		{"the shell dialog's Canceled means cancelled", func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn) {
			g.EmitCanceled()
		}, 5 * time.Second, session.Cancelled},
		{"SessionRunning (MATE's prompt cancelled, its IsSessionRunning still true) means cancelled", func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn) {
			g.EmitSessionRunning()
		}, 5 * time.Second, session.Cancelled},
		{"a session that starts ending and then runs again was cancelled", func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn) {
			g.SetRunning(false)
			time.Sleep(1200 * time.Millisecond)
			g.SetRunning(true)
		}, 8 * time.Second, session.Cancelled},
		{"PrepareForShutdown(false) (a shutdown called off) is not a go", func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn) {
			l.EmitPrepareForShutdown(false)
		}, 1500 * time.Millisecond, session.TimedOut},
		{"silence until the grace period ends is a time-out", func(l *bustest.LogindStandIn, g *bustest.GnomeSMStandIn) {}, 700 * time.Millisecond, session.TimedOut},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			sessBus := bustest.NewBus(t, "session")
			sysBus := bustest.NewBus(t, "system")
			sess, sys := bustest.NewConn(t, sessBus), bustest.NewConn(t, sysBus)
			l, err := bustest.StartLogindStandIn(bustest.NewConn(t, sysBus), nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := bustest.NewGnomeSMStandIn(bustest.NewConn(t, sessBus), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			m, err := session.Detect(ctx, sess, sys, env("XDG_CURRENT_DESKTOP", "GNOME"))
			if err != nil {
				t.Fatal(err)
			}
			w, err := session.NewWatch(sys, sess, m)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			go func() {
				time.Sleep(100 * time.Millisecond)
				tc.act(l, g)
			}()
			if got := w.Wait(ctx, tc.grace); got != tc.want {
				t.Errorf("outcome %v, want %v", got, tc.want)
			}
		})
	}
}
