package helper_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/system/armstate"
	"github.com/rapidreboot/rapidreboot/backend/system/helper"
	"github.com/rapidreboot/rapidreboot/backend/system/kexec/kexectest"
)

// The shutdown delay around a load (delay.go), with fakes: what is true
// when the inhibitor is taken and when it is released.
func TestTheShutdownDelayCoversTheLoadAndTheArm(t *testing.T) {
	type seen struct {
		loadsAtTake, loadsAtRelease int
		armedAtRelease              bool
	}
	var s seen
	takes, releases := 0, 0
	var e *env
	e = newEnv(t, func(c *helper.Config) {
		c.DelayShutdown = func(ctx context.Context) (func(), error) {
			takes++
			s.loadsAtTake = loads(e.fake.Calls())
			return func() {
				releases++
				s.loadsAtRelease = loads(e.fake.Calls())
				_, err := armstate.Read(filepath.Join(e.root, armstate.RunDir))
				s.armedAtRelease = err == nil
			}, nil
		}
	})
	if _, err := e.h.Arm(context.Background(), ":1.0", false); err != nil {
		t.Fatal(err)
	}
	if takes != 1 || releases != 1 {
		t.Fatalf("taken %d, released %d times", takes, releases)
	}
	if s.loadsAtTake != 0 || s.loadsAtRelease != 1 || !s.armedAtRelease {
		t.Errorf("%+v: want taken before the load, released after the arm was written", s)
	}
}

func TestAShutdownDelayThatCannotBeTakenIsAWarningNotARefusal(t *testing.T) {
	e := newEnv(t, func(c *helper.Config) {
		c.DelayShutdown = func(ctx context.Context) (func(), error) {
			return nil, errors.New("logind said no")
		}
	})
	if _, err := e.h.Arm(context.Background(), ":1.0", false); err != nil {
		t.Fatalf("Arm refused for want of the delay: %v", err)
	}
	if !e.h.Armed() {
		t.Error("not armed")
	}
	if !e.stderr.waitFor("cannot delay a shutdown while the kernel loads") {
		t.Errorf("no warning: %q", e.stderr.String())
	}
}

func loads(cc []kexectest.Call) int {
	n := 0
	for _, c := range cc {
		if c.Op == kexectest.OpLoad {
			n++
		}
	}
	return n
}
