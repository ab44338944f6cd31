package planwarn_test

import (
	"reflect"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/planwarn"
)

// The dialog reads the volumes back from the helper's English warning to
// say it in the user's language: what Passphrase writes,
// PassphraseVolumes reads, and nothing else is taken for it.
func TestThePassphraseWarningReadsBackItsVolumes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		warnings []string
		want     []string
	}{
		{"one volume", []string{planwarn.Passphrase([]string{"sda5_crypt"})}, []string{"sda5_crypt"}},
		{"two volumes among other warnings", []string{"grubenv's next_entry chooses this entry", planwarn.Passphrase([]string{"root", "home"})}, []string{"root", "home"}},
		{"a name with parentheses and a colon", []string{planwarn.Passphrase([]string{"a):b"})}, []string{"a):b"}},
		{"no passphrase warning", []string{"no modules directory /lib/modules/6.1"}, nil},
		{"no warnings (a plan withheld from the caller)", nil, nil},
		{"the start of the sentence alone is not the warning", []string{"encrypted disk (x): something else"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := planwarn.PassphraseVolumes(tc.warnings); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
