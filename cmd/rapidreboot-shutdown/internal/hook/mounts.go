package hook

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// The mount table decides whether a boot file the hook cannot find was
// removed or only became unreachable (issue 12 item 8). --verify records,
// for each file, the mount point that held its directory while everything
// was mounted; at the very end a missing file is excused only when that
// mount point was a separate file system (not "/") and is no longer in the
// table. A missing file alone says nothing: a kernel removed from a /boot
// that is part of / is missing too.

// maxMountinfo caps what is read of mountinfo; a table this large is not a
// desktop's, and a partial one could hide the mount asked about.
const maxMountinfo = 4 << 20

// Mount is one line of /proc/<pid>/mountinfo, as far as the hook needs it.
type Mount struct {
	Dev   string // "major:minor", for the log
	Point string // the mount point, unescaped
}

// ReadMounts reads <proc>/self/mountinfo.
func ReadMounts(proc string) ([]Mount, error) {
	p := filepath.Join(proc, "self/mountinfo")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read the mount table: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMountinfo+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the mount table: %w", err)
	}
	if len(b) > maxMountinfo {
		return nil, fmt.Errorf("cannot read the mount table: %s is over %d bytes", p, maxMountinfo)
	}
	return ParseMountinfo(b)
}

// ParseMountinfo parses mountinfo (proc(5)): "36 35 98:0 /mnt1 /mnt2 rw,…
// shared:1 - ext3 /dev/root rw". Only the device and the mount point are
// kept. A malformed line makes the whole table an error: a table with a
// hole could hide the mount asked about.
func ParseMountinfo(b []byte) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 10 || !strings.Contains(f[2], ":") || !strings.HasPrefix(f[4], "/") {
			return nil, fmt.Errorf("cannot parse the mount table: line %d: %q", n, line)
		}
		point, err := unescapeMount(f[4])
		if err != nil {
			return nil, fmt.Errorf("cannot parse the mount table: line %d: %w", n, err)
		}
		out = append(out, Mount{Dev: f[2], Point: path.Clean(point)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot parse the mount table: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("cannot parse the mount table: it is empty")
	}
	return out, nil
}

// unescapeMount undoes the kernel's octal escapes in mountinfo paths
// (space \040, tab \011, newline \012, backslash \134).
func unescapeMount(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		v := 0
		for _, c := range []byte(s[i+1 : i+4]) {
			if c < '0' || c > '7' {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			v = v*8 + int(c-'0')
		}
		if v > 0xff {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

// MountOf returns the mount point that holds p (an absolute path as the
// target sees it): the longest mount point that is p or one of its
// parents. "" when none is (a table without "/").
func MountOf(mounts []Mount, p string) string {
	p = path.Clean("/" + p)
	best := ""
	for _, m := range mounts {
		if under(p, m.Point) && len(m.Point) >= len(best) {
			best = m.Point
		}
	}
	return best
}

// Mounted reports whether point is a mount point in mounts.
func Mounted(mounts []Mount, point string) bool {
	for _, m := range mounts {
		if m.Point == point {
			return true
		}
	}
	return false
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
