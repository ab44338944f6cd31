package reason_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
)

func TestEveryCodeHasASentence(t *testing.T) {
	for _, c := range reason.Codes() {
		s := reason.Sentence(nil, c, "DETAIL")
		if s == "" || strings.Contains(s, "%!") {
			t.Errorf("code %q renders as %q", c, s)
		}
		if strings.Contains(reason.Template(c), "%s") && !strings.Contains(s, "DETAIL") {
			t.Errorf("code %q drops its detail: %q", c, s)
		}
	}
}

func TestSentencesAreTranslatedThroughTheGivenFunction(t *testing.T) {
	tr := func(s string) string { return "<" + s + ">" }
	got := reason.Sentence(tr, reason.KernelMissing, "")
	if !strings.HasPrefix(got, "<") {
		t.Fatalf("translator not used: %q", got)
	}
}

func TestAnUnknownCodeFromANewerHelperStillGivesASentence(t *testing.T) {
	got := reason.Sentence(nil, reason.Code("from-the-future"), "it is Tuesday")
	if !strings.Contains(got, "it is Tuesday") {
		t.Fatalf("got %q", got)
	}
	if reason.Sentence(nil, reason.Code("x"), "") == "" {
		t.Fatal("empty sentence")
	}
}

func TestADetailWithPercentSignsIsNotInterpreted(t *testing.T) {
	got := reason.Sentence(nil, reason.UnsafeFile, "/boot/%s%d")
	if !strings.Contains(got, "/boot/%s%d") {
		t.Fatalf("got %q", got)
	}
}

func TestCodeOfFindsTheCodeThroughWrapping(t *testing.T) {
	base := reason.Wrap(reason.LeavesBoot, "/boot/vmlinuz", errors.New("resolved to /home/u/evil"))
	err := fmt.Errorf("plan: %w", base)
	if got := reason.CodeOf(err); got != reason.LeavesBoot {
		t.Fatalf("CodeOf = %q", got)
	}
	if got := reason.DetailOf(err); got != "/boot/vmlinuz" {
		t.Fatalf("DetailOf = %q", got)
	}
	if reason.CodeOf(nil) != reason.OK || reason.CodeOf(errors.New("x")) != reason.Internal {
		t.Fatal("CodeOf of nil / plain error")
	}
	if !strings.Contains(err.Error(), "leaves-boot: /boot/vmlinuz: resolved to") {
		t.Fatalf("Error() = %q", err.Error())
	}
	if !errors.Is(err, base.Err) {
		t.Fatal("Unwrap lost the cause")
	}
}
