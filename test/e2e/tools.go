package e2e

import "embed"

// guestTools are small programs the tests run inside the guest; the
// payload disk carries them to /usr/local/lib/e2e/tools.
//
//go:embed tools
var guestTools embed.FS
