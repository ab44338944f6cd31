package model

import "testing"

func TestRecommendedButtonsClickAsDrawn(t *testing.T) {
	quick := state(func(s *State) { recommend(s, "quick") })
	if quick.Suggested() != BQuick || !quick.Buttons()[BQuick].Visible {
		t.Fatalf("Quick Restart recommended: suggested %v", quick.Suggested())
	}
	// Beside its own button, Restart stays a normal restart under Shift.
	if a := quick.Click(BRestart, ShiftMask); a != Restart {
		t.Errorf("Shift+Restart beside the Quick Restart button is %v", a)
	}
	if a := quick.Click(BQuick, 0); a != QuickRestart {
		t.Errorf("the Quick Restart button is %v", a)
	}
	soft := state(func(s *State) { recommend(s, "soft") })
	if soft.Suggested() != BSoft || soft.Click(BSoft, 0) != SoftRestart {
		t.Errorf("soft: suggested %v, click %v", soft.Suggested(), soft.Click(BSoft, 0))
	}
	// Shift still turns Restart into Quick Restart where Quick Restart
	// has no button of its own.
	if a := soft.Click(BRestart, ShiftMask); a != QuickRestart {
		t.Errorf("Shift+Restart with a soft restart recommended is %v", a)
	}
	noPath := state(func(s *State) { recommend(s, "soft"); s.SoftPath = false })
	if noPath.Buttons()[BSoft].Visible || noPath.Click(BSoft, 0) != None {
		t.Error("Restart Apps Only offered where the session manager cannot end the session first")
	}
	checking := state(func(s *State) { recommend(s, "quick"); s.Quick = Checking })
	if checking.Suggested() != NButtons || checking.Why() != "" {
		t.Errorf("before the plan: suggested %v why %q", checking.Suggested(), checking.Why())
	}
	none := state(nil)
	if none.Suggested() != NButtons || none.Why() != "" || none.SavesLine() != "" || none.ColdShown() {
		t.Error("without the helper's advice something is recommended")
	}
	measured := state(func(s *State) { recommend(s, "quick"); s.Advice.Saves = 0.4 })
	if measured.SavesLine() != "" {
		t.Errorf("less than half a second said as %q", measured.SavesLine())
	}
}
