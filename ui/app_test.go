package ui

import (
	"testing"

	"github.com/rapidreboot/rapidreboot/ui/model"
)

func TestOptionsSurviveTheTripToTheFirstInstance(t *testing.T) {
	for _, o := range []Options{
		{},
		{Action: model.Logout},
		{Action: model.QuickRestart, Quick: true, ForUpdates: true},
	} {
		got := decodeOptions(encode(o))
		if got.Action != o.Action || got.Quick != o.Quick || got.ForUpdates != o.ForUpdates {
			t.Errorf("%+v came back as %+v", o, got)
		}
	}
	if got := decodeOptions("action=rm -rf;quick=maybe;junk"); got.Action != model.None || got.Quick {
		t.Errorf("garbage decoded as %+v", got)
	}
}
