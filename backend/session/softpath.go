package session

// SoftPath says whether a restart of the programs alone can follow this
// session manager's end of session, and how (ui/actions/soft.go). No
// session manager has a soft-reboot request of its own, so the dialog
// asks for a log out (applications asked to save, inhibitors honoured,
// the user can cancel) and the helper restarts the programs once logind
// says the session ended: the dialog schedules it with the helper
// (SoftRestartAfterLogout) before it asks for the log out, because it
// does not outlive the session it ends (the Debian 13 guest under MATE,
// docs/e2e.md). With logind alone there is no end of session to go
// through, and the helper is asked directly (direct), as logind is for
// Restart.
//
// GNOME-compatible managers (GNOME, MATE, Cinnamon) say when the user
// cancels their prompt (SessionRunning, the shell's Canceled; Watch
// reports Cancelled), and the dialog then calls the schedule off. Plasma,
// Xfce and LXQt end the session or go back to it without a word: a
// cancelled log out would leave the schedule pending, and it would fire
// at a later, ordinary log out within its deadline — a restart the user
// did not ask for then. So they have no path. A Manager may answer for
// itself with a method of the same name (a stand-in in tests).
func SoftPath(m Manager) (ok, direct bool) {
	if s, yes := m.(interface{ SoftPath() (bool, bool) }); yes {
		return s.SoftPath()
	}
	switch m.(type) {
	case *Logind:
		return true, true
	case *gnome:
		return true, false
	}
	return false, false
}
