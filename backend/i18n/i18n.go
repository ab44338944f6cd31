// Package i18n translates user-visible strings through the gettext catalog
// of the "rapidreboot" domain.
//
// Go code calls G (and NG for plurals); xgettext finds the msgids by those
// names (mk/i18n.mk). Outside the dialog the catalog is read by
// github.com/leonelquinteros/gotext from
// <localedir>/<lang>/LC_MESSAGES/rapidreboot.mo. The dialog instead calls Use
// with glib's gettext, so GTK's own strings and ours come from one catalog
// chosen by one setlocale(3).
package i18n

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/leonelquinteros/gotext"
)

// Domain is the gettext text domain of every rapidreboot string.
const Domain = "rapidreboot"

// DefaultLocaleDir is where packages install the .mo files.
const DefaultLocaleDir = "/usr/share/locale"

// LocaleDirEnv overrides the locale directory, for running from a build
// tree (build/locale) and for tests.
const LocaleDirEnv = "RAPIDREBOOT_LOCALEDIR"

// maxCatalog caps the size of a catalog read from disk; ours is a few KB.
const maxCatalog = 4 << 20

// Translator is one way of translating: a catalog, glib's gettext, or none.
type Translator struct {
	G  func(msgid string) string
	NG func(msgid, plural string, n int) string
}

var current atomic.Pointer[Translator]

// N_ marks a string for xgettext without translating it here; translate it
// later with G.
func N_(s string) string { return s }

// G returns the translation of msgid, or msgid itself.
func G(msgid string) string {
	if t := current.Load(); t != nil {
		return t.G(msgid)
	}
	return msgid
}

// NG returns the translation of msgid or plural for n.
func NG(msgid, plural string, n int) string {
	if t := current.Load(); t != nil {
		return t.NG(msgid, plural, n)
	}
	if n == 1 {
		return msgid
	}
	return plural
}

// Use makes G and NG translate with t; a nil t turns translation off.
func Use(t *Translator) { current.Store(t) }

// Init loads the catalog for the user's locale (LANGUAGE, LC_ALL,
// LC_MESSAGES, LANG, as gettext reads them) from localedir, or from
// $RAPIDREBOOT_LOCALEDIR, or DefaultLocaleDir when both are empty. It
// returns the language it found, "" when the user's locale is English or
// has no catalog: that is not an error, strings then stay English.
func Init(localedir string) (string, error) {
	if d := os.Getenv(LocaleDirEnv); d != "" {
		localedir = d
	}
	if localedir == "" {
		localedir = DefaultLocaleDir
	}
	for _, lang := range Languages(os.Getenv) {
		t, err := Load(localedir, lang)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		Use(t)
		return lang, nil
	}
	Use(nil)
	return "", nil
}

// Load reads <dir>/<lang>/LC_MESSAGES/rapidreboot.mo.
func Load(dir, lang string) (*Translator, error) {
	path := filepath.Join(dir, lang, "LC_MESSAGES", Domain+".mo")
	b, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	return parseMo(b, path)
}

func parseMo(b []byte, name string) (t *Translator, err error) {
	// gotext's parser indexes without bounds checks on some corrupt
	// inputs; a broken catalog must mean English, not a crash.
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("cannot parse catalog %s: corrupt file", name)
		}
	}()
	if err := checkMo(b); err != nil {
		return nil, fmt.Errorf("cannot parse catalog %s: %w", name, err)
	}
	mo := gotext.NewMo()
	mo.Parse(b)
	// Called through values: gotext formats only when given arguments,
	// and vet would take the msgid for a format string.
	get, getN := mo.Get, mo.GetN
	return &Translator{
		G:  func(s string) string { return get(s) },
		NG: func(s, p string, n int) string { return getN(s, p, n) },
	}, nil
}

// checkMo checks that every table and string of a GNU .mo file lies
// inside b. gotext trusts the counts and lengths it reads and would
// allocate gigabytes for a corrupt file.
func checkMo(b []byte) error {
	if len(b) < 28 {
		return errors.New("too short")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0x950412de:
		bo = binary.LittleEndian
	case 0xde120495:
		bo = binary.BigEndian
	default:
		return errors.New("not a .mo file")
	}
	if major := bo.Uint32(b[4:]) >> 16; major > 1 {
		return fmt.Errorf("unknown revision %d", major)
	}
	n := uint64(bo.Uint32(b[8:]))
	size := uint64(len(b))
	for _, table := range []uint64{uint64(bo.Uint32(b[12:])), uint64(bo.Uint32(b[16:]))} {
		if table+n*8 > size {
			return errors.New("string table outside the file")
		}
		for i := uint64(0); i < n; i++ {
			e := table + i*8
			l, off := uint64(bo.Uint32(b[e:])), uint64(bo.Uint32(b[e+4:]))
			if off+l > size || l > math.MaxInt32 {
				return errors.New("string outside the file")
			}
		}
	}
	return nil
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read catalog: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxCatalog {
		return nil, fmt.Errorf("cannot read catalog %s: not a regular file of at most %d bytes", path, maxCatalog)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("cannot read catalog: %w", err)
	}
	return b, nil
}

// Languages lists the catalog names to try, most wanted first, as GNU
// gettext chooses: LANGUAGE (a colon list) counts only when the locale is
// not "C"; then LC_ALL, LC_MESSAGES, LANG, the first one set. Each entry
// "de_AT.UTF-8@euro" yields "de_AT@euro", "de_AT", "de@euro", "de".
func Languages(getenv func(string) string) []string {
	locale := ""
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" {
			locale = s
			break
		}
	}
	if locale == "" || locale == "C" || locale == "POSIX" || strings.HasPrefix(locale, "C.") {
		return nil
	}
	var wanted []string
	if l := getenv("LANGUAGE"); l != "" {
		wanted = strings.Split(l, ":")
	}
	wanted = append(wanted, locale)
	var out []string
	seen := map[string]bool{}
	for _, w := range wanted {
		for _, c := range variants(w) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

func variants(locale string) []string {
	if locale == "" || locale == "C" || locale == "POSIX" || strings.ContainsAny(locale, "/\\") || strings.Contains(locale, "..") {
		return nil
	}
	mod := ""
	if i := strings.IndexByte(locale, '@'); i >= 0 {
		locale, mod = locale[:i], locale[i:]
	}
	if i := strings.IndexByte(locale, '.'); i >= 0 {
		locale = locale[:i]
	}
	lang := locale
	if i := strings.IndexByte(locale, '_'); i >= 0 {
		lang = locale[:i]
	}
	if lang == "" {
		return nil
	}
	var out []string
	if mod != "" {
		out = append(out, locale+mod)
	}
	out = append(out, locale)
	if lang != locale {
		if mod != "" {
			out = append(out, lang+mod)
		}
		out = append(out, lang)
	}
	return out
}
