package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Product says how the product reaches the guest: the freshly built .deb
// if there is one, else a staged `make install`, else nothing.
type Product struct {
	How   string // "deb", "make install" or "" (not built)
	Debs  []string
	Stage string // DESTDIR of make install
}

// FindProduct looks for what `make deb` (or `make build` + `make install`)
// left in the repository. RAPIDREBOOT_E2E_DEB names .deb files explicitly
// (space separated).
func FindProduct(repo, work string) (Product, error) {
	var debs []string
	if env := os.Getenv("RAPIDREBOOT_E2E_DEB"); env != "" {
		debs = strings.Fields(env)
	} else {
		debs, _ = filepath.Glob(filepath.Join(repo, "build", "*.deb"))
		if more, _ := filepath.Glob(filepath.Join(repo, "build", "deb", "*.deb")); len(more) > 0 {
			debs = append(debs, more...)
		}
		debs = newestPerPackage(debs)
	}
	if len(debs) > 0 {
		for _, d := range debs {
			if _, err := os.Stat(d); err != nil {
				return Product{}, fmt.Errorf("cannot use %s: %w", d, err)
			}
		}
		return Product{How: "deb", Debs: debs}, nil
	}
	// No package yet: stage `make install` if the tree has that target and
	// the programs are built.
	if _, err := os.Stat(filepath.Join(repo, "build", "rapidrebootctl")); err != nil {
		return Product{}, nil
	}
	if exec.Command("make", "-C", repo, "-n", "install").Run() != nil {
		return Product{}, nil
	}
	stage := filepath.Join(work, "stage")
	os.RemoveAll(stage)
	cmd := exec.Command("make", "-C", repo, "install", "DESTDIR="+stage, "PREFIX=/usr")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Product{}, fmt.Errorf("cannot stage make install: %v\n%s", err, out)
	}
	return Product{How: "make install", Stage: stage}, nil
}

// newestPerPackage keeps the most recently built file of each package name
// (build/ may hold older versions).
func newestPerPackage(debs []string) []string {
	best := map[string]string{}
	for _, d := range debs {
		name := strings.SplitN(filepath.Base(d), "_", 2)[0]
		if strings.HasSuffix(name, "-dbgsym") {
			continue
		}
		if cur, ok := best[name]; ok {
			a, _ := os.Stat(cur)
			b, _ := os.Stat(d)
			if a != nil && b != nil && !b.ModTime().After(a.ModTime()) {
				continue
			}
		}
		best[name] = d
	}
	var out []string
	for _, d := range best {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// installScript runs in the guest as root with the payload mounted at /mnt/payload.
const installScript = `#!/bin/sh
# Installs the product from the payload disk the way a user would, and the
# harness's guest tools. Runs once per guest, as root.
set -eu
p=/mnt/payload
mkdir -p /usr/local/lib/e2e/tools
cp -a "$p/tools/." /usr/local/lib/e2e/tools/
# Debian 13 ships no /usr/lib/systemd/system-shutdown/ until a package puts
# a hook there (the product's .deb does, after this).
install -D -m 0755 "$p/tools/e2e-stamp" /usr/lib/systemd/system-shutdown/e2e-stamp
if ls "$p"/debs/*.deb >/dev/null 2>&1; then
	# Offline: every dependency must already be in the image (packages.txt).
	dpkg -i "$p"/debs/*.deb
elif [ -d "$p/stage" ]; then
	cp -a "$p/stage/." /
	systemctl daemon-reload
	systemctl reload dbus || true
else
	echo "e2e: no product in the payload"
fi
`

// MakePayload writes an ext4 image (label "payload") holding the product
// and the guest tools (the tools tree plus extra: name → host file);
// mkfs.ext4 -d fills it without mounting anything.
func MakePayload(p Product, tools fs.FS, extra map[string]string, work string) (string, error) {
	root := filepath.Join(work, "payload")
	os.RemoveAll(root)
	for _, d := range []string{"debs", "tools"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	for _, d := range p.Debs {
		if err := copyFile(d, filepath.Join(root, "debs", filepath.Base(d))); err != nil {
			return "", err
		}
	}
	if p.Stage != "" {
		if out, err := exec.Command("cp", "-a", p.Stage, filepath.Join(root, "stage")).CombinedOutput(); err != nil {
			return "", fmt.Errorf("cannot copy the staged install: %v: %s", err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "install.sh"), []byte(installScript), 0o755); err != nil {
		return "", err
	}
	err := fs.WalkDir(tools, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(tools, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, "tools", path)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		return os.WriteFile(dst, b, 0o755)
	})
	if err != nil {
		return "", fmt.Errorf("cannot copy the guest tools: %w", err)
	}
	for name, src := range extra {
		dst := filepath.Join(root, "tools", name)
		if err := copyFile(src, dst); err != nil {
			return "", err
		}
		os.Chmod(dst, 0o755)
	}
	var size int64
	filepath.Walk(root, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			size += info.Size()
		}
		return nil
	})
	img := filepath.Join(work, "payload.img")
	os.Remove(img)
	mb := size*2/(1<<20) + 32
	cmd := exec.Command("mkfs.ext4", "-q", "-F", "-L", "payload", "-d", root, img, fmt.Sprintf("%dM", mb))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot make the payload disk: %v: %s", err, out)
	}
	return img, nil
}
