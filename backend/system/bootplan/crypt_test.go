package bootplan_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/backend/planwarn"
	"github.com/rapidreboot/rapidreboot/backend/system/bootplan"
	"github.com/rapidreboot/rapidreboot/backend/system/host/hosttest"
)

func TestPassphraseVolumesFollowCrypttab(t *testing.T) {
	for _, tc := range []struct {
		name, crypttab string
		want           []string
	}{
		{"Debian installer's encrypted LVM", "sda5_crypt UUID=0b1c-22 none luks,discard\n", []string{"sda5_crypt"}},
		{"a dash or no third field is no key file", "a /dev/sda2 -\nb /dev/sda3\n", []string{"a", "b"}},
		{"a key file (built into the initramfs) asks nothing", "data UUID=1 /etc/keys/data.key luks\n", nil},
		{"noauto volumes are not opened at boot", "backup UUID=2 none luks,noauto\n", nil},
		{"TPM2 and FIDO2 tokens ask nothing", "r UUID=3 none tpm2-device=auto\nh UUID=4 - fido2-device=auto,discard\n", nil},
		{"swap and tmp with a random key ask nothing", "cswap /dev/sda6 /dev/urandom swap,cipher=aes-xts-plain64\nt /dev/sda7 none tmp\n", nil},
		{"comments, blank lines and tabs", "# target source key options\n\n\troot\tUUID=5\tnone\tluks # inline\n", []string{"root"}},
		{"a line with one field is skipped", "lonely\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bootplan.PassphraseVolumes([]byte(tc.crypttab)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Row 43: an encrypted root. The plan warns that the passphrase will be
// asked (a Quick Restart skips the boot loader, not the initramfs), and no
// key material is read into it.
func TestAttack43_EncryptedRootWarnsThatThePassphraseWillBeAsked(t *testing.T) {
	fstab := tree{"/etc/fstab": "/dev/mapper/vg-root / ext4 errors=remount-ro 0 1\n"}
	with := func(a tree, b tree) tree {
		for k, v := range b {
			a[k] = v
		}
		return a
	}
	runCases(t, []ruleCase{
		{"crypttab with a passphrase volume",
			with(kernels(with(tree{"/etc/crypttab": "sda3_crypt UUID=77aa none luks,discard\n"}, fstab), "6.1.0-27-amd64"), tree{}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-27-amd64", warn: "encrypted disk (sda3_crypt): its passphrase will be asked again", why: "/etc/crypttab"}},
		{"systemd's rd.luks.name on the command line",
			with(kernels(tree{}, "6.1.0-27-amd64"), tree{"/boot/loader/loader.conf": "default deb.conf\n",
				"/boot/loader/entries/deb.conf": "title Debian\nlinux /boot/vmlinuz-6.1.0-27-amd64\ninitrd /boot/initrd.img-6.1.0-27-amd64\noptions rd.luks.name=77aa=root root=/dev/mapper/root ro\n"}),
			nil, want{kernel: "/boot/vmlinuz-6.1.0-27-amd64", warn: "encrypted disk (root)", why: "kernel command line"}},
	})

	t.Run("a key file: no warning, and the key is never read", func(t *testing.T) {
		files := kernels(with(tree{
			"/etc/crypttab":      "data UUID=1 /etc/keys/data.key luks\n",
			"/etc/keys/data.key": "SECRET-KEY-MATERIAL",
		}, fstab), "6.1.0-27-amd64")
		plan, err := bootplan.Compute(hosttest.Target(build(t, files)), bootplan.Options{Platform: "pc"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(plan)
		if len(plan.Warnings) != 0 || strings.Contains(string(b), "SECRET") {
			t.Fatalf("plan %s", b)
		}
	})
}

// Every volume list crypttab can give survives the trip through the
// warning.
func FuzzPassphraseVolumes(f *testing.F) {
	f.Add([]byte("sda5_crypt UUID=0b1c none luks,discard\n# c\nx y /k\n"))
	f.Add([]byte("a b - tpm2-device=auto,noauto=\n\t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range bootplan.PassphraseVolumes(b) {
			if v == "" || strings.ContainsAny(v, " \t\n") {
				t.Fatalf("volume name %q", v)
			}
		}
		if vols := bootplan.PassphraseVolumes(b); len(vols) > 0 {
			if got := planwarn.PassphraseVolumes([]string{planwarn.Passphrase(vols)}); !reflect.DeepEqual(got, vols) {
				t.Fatalf("%q came back as %q", vols, got)
			}
		}
	})
}
