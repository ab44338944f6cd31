package bootplan

import (
	"strings"

	"github.com/rapidreboot/rapidreboot/backend/planwarn"
	"github.com/rapidreboot/rapidreboot/backend/system/host"
)

// A Quick Restart skips the firmware and the boot loader, not the
// initramfs: an encrypted disk that a cold boot unlocks with a typed
// passphrase asks for it again, on the console, with nobody necessarily
// in front of it (attack-list row 43). The plan says so. Nothing here
// reads, copies or keeps key material: only which volumes exist and
// whether a key file or token is configured for them.

// PassphraseVolumes returns the names of the crypttab entries that a boot
// unlocks by asking for a passphrase: no key file ("none", "-" or absent)
// and no TPM2, FIDO2 or PKCS#11 token, and not "noauto" (not opened at
// boot). crypttab is etc/crypttab's content; fields are separated by
// spaces or tabs, "#" starts a comment (crypttab(5)).
func PassphraseVolumes(crypttab []byte) []string {
	var out []string
	for _, line := range strings.Split(string(crypttab), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		key := ""
		if len(f) > 2 {
			key = f[2]
		}
		opts := ""
		if len(f) > 3 {
			opts = f[3]
		}
		if key != "" && key != "none" && key != "-" {
			continue
		}
		asks := true
		for _, o := range strings.Split(opts, ",") {
			switch name, _, _ := strings.Cut(o, "="); name {
			case "noauto", "tpm2-device", "fido2-device", "pkcs11-uri", "swap", "tmp":
				// Not at boot, unlocked by a token, or a throw-away
				// volume with a random key.
				asks = false
			}
		}
		if asks {
			out = append(out, f[0])
		}
	}
	return out
}

// cmdlineCryptVolumes returns the encrypted volumes the kernel command line
// asks the initramfs to unlock (systemd's and dracut's rd.luks.*, Arch's
// cryptdevice=): with them the initramfs asks for a passphrase unless a
// key is built in, which the command line cannot tell; they are reported
// the same way.
func cmdlineCryptVolumes(cmdline string) []string {
	var out []string
	for _, w := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			continue
		}
		switch k {
		case "rd.luks.uuid", "luks.uuid":
			out = append(out, v)
		case "rd.luks.name", "luks.name": // UUID=name
			if _, name, ok := strings.Cut(v, "="); ok && name != "" {
				v = name
			}
			out = append(out, v)
		case "cryptdevice": // device:name[:options]
			if f := strings.Split(v, ":"); len(f) > 1 && f[1] != "" {
				v = f[1]
			}
			out = append(out, v)
		}
	}
	return out
}

// cryptWarning adds the warning when the target boots an encrypted volume
// that asks for its passphrase.
func (p *planner) cryptWarning(cmdline string) {
	var vols []string
	if b, err := p.t.ReadFile("/etc/crypttab", host.MaxConfigSize); err == nil {
		vols = PassphraseVolumes(b)
		if len(vols) > 0 {
			p.whyf("encrypted volumes unlocked with a passphrase at boot (/etc/crypttab): %s", strings.Join(vols, ", "))
		}
	}
	if len(vols) == 0 {
		vols = cmdlineCryptVolumes(cmdline)
		if len(vols) > 0 {
			p.whyf("encrypted volumes unlocked at boot (kernel command line): %s", strings.Join(vols, ", "))
		}
	}
	if len(vols) > 0 {
		p.warnf("%s", planwarn.Passphrase(vols))
	}
}
