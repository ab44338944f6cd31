package helper

import "time"

// SetPrepareTTL shortens the prepared image's bound for a test and
// returns the restore.
func SetPrepareTTL(d time.Duration) func() {
	old := prepareTTL
	prepareTTL = d
	return func() { prepareTTL = old }
}
