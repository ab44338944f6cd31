package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ChooseAccel decides between KVM and TCG. want is "tcg", "kvm" or ""/"auto".
// The /dev/kvm of some machines (nested "kvm-pvm") opens fine but cannot run
// firmware, so auto trusts KVM only after a short probe boot of OVMF shows
// the firmware's boot manager on the console; anything else means TCG.
func ChooseAccel(ctx context.Context, want, dir string) (accel, why string) {
	switch want {
	case "tcg":
		return "tcg", "asked for (RAPIDREBOOT_E2E_ACCEL=tcg)"
	case "kvm":
		return "kvm", "asked for (RAPIDREBOOT_E2E_ACCEL=kvm), not probed"
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg", "no usable /dev/kvm"
	}
	f.Close()
	if err := probeKVM(ctx, dir, 25*time.Second); err != nil {
		return "tcg", "KVM probe failed: " + err.Error()
	}
	return "kvm", "KVM probe booted OVMF"
}

func probeKVM(ctx context.Context, dir string, timeout time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	vars := filepath.Join(dir, "probe-vars.fd")
	if err := copyFile(ovmfVars, vars); err != nil {
		return err
	}
	serial := filepath.Join(dir, "probe-serial.log")
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-machine", "q35", "-accel", "kvm", "-cpu", "host", "-m", "512",
		"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
		"-drive", "if=pflash,format=raw,file="+vars,
		"-nic", "none", "-display", "none", "-no-reboot",
		"-serial", "file:"+serial)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if i := bytes.Index(stderr.Bytes(), []byte("KVM internal error")); i >= 0 {
				msg, _, _ := bytes.Cut(stderr.Bytes()[i:], []byte("\n"))
				return fmt.Errorf("%s (the firmware cannot run under this KVM)", msg)
			}
			return fmt.Errorf("qemu ended before the firmware ran (%v): %s", err, lastLine(stderr.String()))
		case <-tick.C:
			b, _ := os.ReadFile(serial)
			if bytes.Contains(b, []byte("BdsDxe")) || bytes.Contains(b, []byte("Shell>")) {
				cmd.Process.Kill()
				<-done
				return nil
			}
			if i := bytes.Index(stderr.Bytes(), []byte("KVM internal error")); i >= 0 {
				cmd.Process.Kill()
				<-done
				msg, _, _ := bytes.Cut(stderr.Bytes()[i:], []byte("\n"))
				return fmt.Errorf("%s (the firmware cannot run under this KVM)", msg)
			}
		case <-ctx.Done():
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("no firmware output in %s", timeout)
		}
	}
}

func lastLine(s string) string {
	s = string(bytes.TrimSpace([]byte(s)))
	if i := bytes.LastIndexByte([]byte(s), '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
