package model

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Show says when an optional button appears.
type Show int

const (
	ShowAuto   Show = iota // when logind's Can* says yes (or challenge)
	ShowAlways             // always (insensitive when logind says no)
	ShowNever
)

// Config is the dialog's configuration, read from
// $XDG_CONFIG_DIRS/rapidreboot/dialog.conf (default /etc/xdg) and then
// $XDG_CONFIG_HOME/rapidreboot/dialog.conf (default ~/.config), later files
// overriding earlier ones key by key. docs/dialog.md documents the keys.
type Config struct {
	// QuickButton shows a separate Quick Restart button at all times,
	// instead of relabelling Restart while Shift or Ctrl is held.
	QuickButton bool
	Suspend     Show
	Hibernate   Show
	// Default is the button focused when the dialog opens.
	Default Action
	// Shift and Ctrl say which modifiers reveal Quick Restart.
	Shift, Ctrl bool
	// Grace is how long to wait, after asking the session manager for a
	// Quick Restart, for the shutdown to begin before disarming.
	Grace time.Duration
}

// DefaultConfig is the configuration with no files.
func DefaultConfig() Config {
	return Config{Default: PowerOff, Shift: true, Ctrl: true, Grace: 90 * time.Second}
}

// ConfigFile is the file name under each XDG config directory.
const ConfigFile = "rapidreboot/dialog.conf"

// ConfigPaths lists the files read, lowest precedence first.
func ConfigPaths(getenv func(string) string) []string {
	dirs := getenv("XDG_CONFIG_DIRS")
	if dirs == "" {
		dirs = "/etc/xdg"
	}
	list := strings.Split(dirs, ":")
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		if filepath.IsAbs(list[i]) {
			out = append(out, filepath.Join(list[i], ConfigFile))
		}
	}
	home := getenv("XDG_CONFIG_HOME")
	if home == "" && getenv("HOME") != "" {
		home = filepath.Join(getenv("HOME"), ".config")
	}
	if filepath.IsAbs(home) {
		out = append(out, filepath.Join(home, ConfigFile))
	}
	return out
}

// maxConfig caps a configuration file; ours are a few lines.
const maxConfig = 64 << 10

// LoadConfig reads the files of ConfigPaths into DefaultConfig. Missing
// files are skipped. A bad line is reported and skipped; the other lines
// still apply, so one typo does not lose the rest.
func LoadConfig(getenv func(string) string) (Config, []error) {
	c := DefaultConfig()
	var errs []error
	for _, p := range ConfigPaths(getenv) {
		b, err := readSmall(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, ParseConfig(b, p, &c)...)
	}
	return c, errs
}

func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	if len(b) > maxConfig {
		return nil, fmt.Errorf("cannot read %s: larger than %d bytes", p, maxConfig)
	}
	return b, nil
}

// ParseConfig applies a GKeyFile-style file (name is for messages) to c.
// Only the [dialog] group is read; keys of other groups and unknown keys
// are reported so that typos are seen.
func ParseConfig(b []byte, name string, c *Config) []error {
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
	}
	group := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxConfig)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				bad(n, "cannot parse group header %q", line)
				continue
			}
			group = line[1 : len(line)-1]
			if group != "dialog" {
				bad(n, "unknown group [%s], only [dialog] is read", group)
			}
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			bad(n, "cannot parse %q: want key = value", line)
			continue
		}
		if group != "dialog" {
			if group == "" {
				bad(n, "key outside a group, want [dialog] first")
			}
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if err := setKey(c, key, val); err != nil {
			bad(n, "%v", err)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: cannot read: %w", name, err))
	}
	return errs
}

func setKey(c *Config, key, val string) error {
	switch key {
	case "quick-button":
		b, err := parseBool(val)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		c.QuickButton = b
	case "suspend", "hibernate":
		var s Show
		switch val {
		case "auto":
			s = ShowAuto
		case "show":
			s = ShowAlways
		case "hide":
			s = ShowNever
		default:
			return fmt.Errorf("%s: want auto, show or hide, not %q", key, val)
		}
		if key == "suspend" {
			c.Suspend = s
		} else {
			c.Hibernate = s
		}
	case "default-action":
		a, err := ParseAction(val)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		c.Default = a
	case "modifiers":
		shift, ctrl := false, false
		for _, m := range strings.FieldsFunc(val, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
			switch strings.ToLower(m) {
			case "shift":
				shift = true
			case "ctrl", "control":
				ctrl = true
			default:
				return fmt.Errorf("modifiers: want shift and/or ctrl, not %q", m)
			}
		}
		c.Shift, c.Ctrl = shift, ctrl
	case "quick-restart-grace":
		s, err := strconv.Atoi(val)
		if err != nil || s < 10 || s > 600 {
			return fmt.Errorf("quick-restart-grace: want seconds from 10 to 600, not %q", val)
		}
		c.Grace = time.Duration(s) * time.Second
	default:
		return fmt.Errorf("unknown key %q", key)
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, not %q", s)
}

// ParseAction reads an action name as --action and default-action take it.
func ParseAction(s string) (Action, error) {
	switch s {
	case "logout":
		return Logout, nil
	case "restart", "reboot":
		return Restart, nil
	case "shutdown", "poweroff":
		return PowerOff, nil
	case "quick-restart":
		return QuickRestart, nil
	case "suspend":
		return Suspend, nil
	case "hibernate":
		return Hibernate, nil
	case "cancel":
		return Cancel, nil
	}
	return None, fmt.Errorf("unknown action %q (want logout, restart, shutdown, quick-restart, suspend, hibernate or cancel)", s)
}
