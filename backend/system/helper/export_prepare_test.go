package helper

import "time"

// SetPrepareTTL shortens h's bound on a prepared image for a test; call it
// before the first Prepare.
func (h *Helper) SetPrepareTTL(d time.Duration) { h.prepareTTL = d }
