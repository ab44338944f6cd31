package bootplan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/reason"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
)

// LiveOptions is the one place the running system's plan options are
// built (the helper and `rapidrebootctl plan` both call it): the live
// command line, capped, and the platform.
func TestLiveOptionsReadsTheCommandLineCappedAndThePlatform(t *testing.T) {
	for _, c := range []struct {
		desc     string
		cmdline  *string
		efi      bool
		want     string
		platform string
		code     reason.Code
	}{
		{desc: "pc", cmdline: ptr("BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro\n"), want: "BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro", platform: "pc"},
		{desc: "efi", cmdline: ptr("ro quiet\n"), efi: true, want: "ro quiet", platform: "efi"},
		{desc: "at the cap", cmdline: ptr(strings.Repeat("a", bootplan.MaxLiveCmdline)), want: strings.Repeat("a", bootplan.MaxLiveCmdline), platform: "pc"},
		{desc: "over the cap", cmdline: ptr(strings.Repeat("a", bootplan.MaxLiveCmdline+1)), code: reason.TooLarge},
		{desc: "unreadable", code: reason.Internal},
	} {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			proc, sys := filepath.Join(dir, "proc"), filepath.Join(dir, "sys")
			os.MkdirAll(proc, 0o755)
			if c.cmdline != nil {
				if err := os.WriteFile(filepath.Join(proc, "cmdline"), []byte(*c.cmdline), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if c.efi {
				os.MkdirAll(filepath.Join(sys, "firmware/efi"), 0o755)
			}
			opt, err := bootplan.LiveOptions(proc, sys)
			if c.code != "" {
				if reason.CodeOf(err) != c.code {
					t.Errorf("err = %v, want %s", err, c.code)
				}
				return
			}
			if err != nil || opt.LiveCmdline == nil || *opt.LiveCmdline != c.want || opt.Platform != c.platform {
				t.Errorf("LiveOptions = %+v, %v", opt, err)
			}
		})
	}
}

func ptr(s string) *string { return &s }
