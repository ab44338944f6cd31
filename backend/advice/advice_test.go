package advice

import (
	"strings"
	"testing"
)

func TestWhyHasALineForEveryRecommendation(t *testing.T) {
	for _, a := range []Advice{
		{Kind: Full, Code: ColdReboot}, {Kind: Full, Code: Firmware, Detail: "BootNext=Boot0003"},
		{Kind: Full, Code: BootLoader, Detail: "shim-signed"}, {Kind: Quick, Code: Kernel, Detail: "6.12.48+deb13-amd64"},
		{Kind: Quick, Code: Kernel}, {Kind: Quick, Code: Cmdline, Detail: "6.1.0-28-amd64"}, {Kind: Quick, Code: Microcode},
		{Kind: Soft, Code: Userspace, Detail: "libc6"}, {Kind: Quick, Code: Userspace}, {Kind: Soft, Code: Userspace},
	} {
		w := a.Why(nil)
		if w == "" || strings.Contains(w, "%") {
			t.Errorf("%+v: %q", a, w)
		}
	}
	if w := (Advice{Kind: Quick, Code: Kernel, Detail: "6.12.48"}).Why(nil); w != "A new kernel was installed: Quick Restart starts Linux 6.12.48." {
		t.Errorf("kernel line: %q", w)
	}
	for _, c := range []Code{Nothing, QuickUnavailable} {
		if w := (Advice{Kind: Full, Code: c}).Why(nil); w != "" {
			t.Errorf("%s: %q, want none", c, w)
		}
	}
}
