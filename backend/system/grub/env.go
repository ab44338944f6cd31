package grub

import (
	"errors"
	"strings"
)

// EnvVar is one grubenv variable.
type EnvVar struct{ Name, Value string }

const envHeader = "# GRUB Environment Block\n"

// ErrEnvSignature means the file is not a GRUB environment block; GRUB's
// load_env refuses such a file and sets nothing.
var ErrEnvSignature = errors.New("not a GRUB environment block (bad signature)")

// ParseEnv parses a grubenv block as grub-core/lib/envblk.c does: the
// signature line, then NAME=VALUE lines where a backslash escapes the next
// character (grub-editenv writes "\\\\" and "\\\n"), '#' lines and the '#'
// padding ignored. Variables come in file order; a repeated name keeps its
// last value in the map a caller builds.
func ParseEnv(b []byte) ([]EnvVar, error) {
	s := string(b)
	if !strings.HasPrefix(s, envHeader) {
		return nil, ErrEnvSignature
	}
	s = s[len(envHeader):]
	var out []EnvVar
	for len(s) > 0 {
		if s[0] == '#' || s[0] == '\n' {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				break
			}
			s = s[i+1:]
			continue
		}
		eq := strings.IndexAny(s, "=\n")
		if eq < 0 || s[eq] != '=' {
			// A line without '=' is skipped, as envblk does.
			if eq < 0 {
				break
			}
			s = s[eq+1:]
			continue
		}
		name := s[:eq]
		s = s[eq+1:]
		var v strings.Builder
		i := 0
		for i < len(s) && s[i] != '\n' {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			v.WriteByte(s[i])
			i++
		}
		if i < len(s) {
			i++
		}
		s = s[i:]
		out = append(out, EnvVar{Name: name, Value: v.String()})
	}
	return out, nil
}

// EnvMap returns the variables of a parsed block by name (last one wins).
func EnvMap(vars []EnvVar) map[string]string {
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}
