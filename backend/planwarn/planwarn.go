// Package planwarn holds both ends of the plan warnings that another
// program reads back: the root helper's plan builder (backend/system/bootplan)
// writes them into the plan's English warnings, and the dialog, in the
// user's session, reads their data back to say them in the user's
// language. It reads no file and imports nothing, so the session side gets
// the wording without linking the plan builder.
package planwarn

import "strings"

// The passphrase warning is the one plan warning the dialog says again in
// the user's language (the plan's warnings are English, for logs and the
// CLI). The helper writes it with Passphrase and the dialog reads the
// volumes back with PassphraseVolumes, so the dialog reads no system file
// and both ends of the wording live here. Volume names come from
// whitespace-separated fields (crypttab, the command line), so ", " cannot
// occur inside one.
const (
	passphrasePrefix = "encrypted disk ("
	passphraseSuffix = "): its passphrase will be asked again at the console during the Quick Restart, as after a normal restart"
)

// Passphrase is the plan's warning that vols ask for their passphrase
// again during a Quick Restart.
func Passphrase(vols []string) string {
	return passphrasePrefix + strings.Join(vols, ", ") + passphraseSuffix
}

// PassphraseVolumes returns the volumes named by the first passphrase
// warning among a plan's warnings (Passphrase), nil if there is none.
func PassphraseVolumes(warnings []string) []string {
	for _, w := range warnings {
		list, ok := strings.CutPrefix(w, passphrasePrefix)
		if !ok {
			continue
		}
		if list, ok = strings.CutSuffix(list, passphraseSuffix); ok && list != "" {
			return strings.Split(list, ", ")
		}
	}
	return nil
}
