package grub

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// words runs GRUB's lexer and expansion on one command line.
func words(t *testing.T, line string, vars map[string]string) []string {
	t.Helper()
	a, err := ExpandArgs(line, vars)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return a
}

func TestWordsSplitAndQuoteAsGrubsLexerDoes(t *testing.T) {
	vars := map[string]string{"a": "one two", "e": "", "n": "x"}
	tests := []struct {
		line string
		want []string
	}{
		{`plain words`, []string{"plain", "words"}},
		{`'single $a \n'`, []string{`single $a \n`}},
		{`"double $a"`, []string{"double one two"}},
		{`$a`, []string{"one", "two"}},
		{`x$a`, []string{"xone", "two"}},
		{`${a}y`, []string{"one", "twoy"}},
		{`$e`, nil},
		{`"$e"`, []string{""}},
		{`''`, []string{""}},
		{`a\ b`, []string{"a b"}},
		{`"q\"q" "b\\s" "d\$n" "k\eep"`, []string{`q"q`, `b\s`, `d$n`, `k\eep`}},
		{`$n$n`, []string{"xx"}},
		{`$ alone`, []string{"$", "alone"}},
		{`$1 $# $?`, []string{"0", "0"}},
		{`a # comment`, []string{"a"}},
		{`a#b`, []string{"a#b"}},
		{"line\\\ncontinued", []string{"linecontinued"}},
	}
	for _, tc := range tests {
		if got := words(t, tc.line, vars); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestCmdlineQuotesAsGrubsLoaderDoes(t *testing.T) {
	// grub-core/lib/cmdline.c: \ ' " get a backslash; a word with a space is
	// quoted; one space between words.
	got := Cmdline([]string{"root=/dev/sda1", "a b", `q"`, `back\`, "it's", ""})
	want := `root=/dev/sda1 "a b" q\" back\\ it\'s `
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDefaultMatchingFollowsGrubsMenuC(t *testing.T) {
	menu := []*entry{{title: "A", id: "a"}, {title: "B>C", id: "bc"}, {title: "07", id: "seven"}}
	tests := []struct {
		def   string
		set   bool
		want  int
		named bool // false: GRUB falls back to entry 0
	}{
		{"", false, 0, false},
		{"", true, 0, false},
		{"1", true, 1, true},
		{"  2", true, 2, true},
		{"0x1", true, 1, true},
		{"02", true, 2, true},
		{"010", true, 0, false}, // octal 8: out of range
		{"1>3", true, 1, true},
		{"9", true, 0, false},
		{"-1", true, 0, false},
		{"bc", true, 1, true},
		{"B>>C", true, 1, true},
		{"B>C", true, 0, false}, // "B", then the path goes on: no entry is titled B
		{"seven", true, 2, true},
		{"A>x", true, 0, true},
		{"99999999999999999999", true, 0, false},
	}
	for _, tc := range tests {
		if got, named := pick(menu, tc.def, tc.set); got != tc.want || named != tc.named {
			t.Errorf("default %q: entry %d (names one: %v), want %d (%v)", tc.def, got, named, tc.want, tc.named)
		}
	}
	for def, want := range map[string]string{"1>2": "2", "a>b>c": "b>c", "a>>b>c": "c", "a>": "", "a": ""} {
		if got, _ := remainder(def, true); got != want {
			t.Errorf("remainder(%q) = %q, want %q", def, got, want)
		}
	}
}

// GRUB 2.12's 30_uefi-firmware block, as grub-mkconfig writes it.
const uefiFirmware = `if [ "$grub_platform" = "efi" ]; then
	fwsetup --is-supported
	if [ "$?" = 0 ]; then
		menuentry 'UEFI Firmware Settings' $menuentry_id_option 'uefi-firmware' {
			fwsetup
		}
	fi
fi
`

func TestUefiFirmwareEntryCountsOnlyOnEFI(t *testing.T) {
	src := "menuentry_id_option=--id\nset default=\"$want\"\nmenuentry 'Debian' {\n\tfwsetup --is-supported\n\tlinux /vmlinuz-1 ro\n}\n" + uefiFirmware
	tests := []struct {
		platform, want string
		loader         string
		path           []string
		unmatched      string
	}{
		{"efi", "uefi-firmware", "fwsetup", []string{"UEFI Firmware Settings"}, ""},
		{"efi", "1", "fwsetup", []string{"UEFI Firmware Settings"}, ""},
		{"efi", "0", "linux", []string{"Debian"}, ""},
		// BIOS GRUB skips the block: the id and the index name nothing.
		{"pc", "uefi-firmware", "linux", []string{"Debian"}, "uefi-firmware"},
		{"pc", "1", "linux", []string{"Debian"}, "1"},
	}
	for _, tc := range tests {
		b, err := Evaluate([]byte(src), Options{File: "grub.cfg", Vars: map[string]string{"grub_platform": tc.platform, "want": tc.want}})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.platform, tc.want, err)
		}
		if b.Loader != tc.loader || !reflect.DeepEqual(b.Path, tc.path) || b.Unmatched != tc.unmatched {
			t.Errorf("%s default=%s: loader %q path %q unmatched %q, want %q %q %q", tc.platform, tc.want, b.Loader, b.Path, b.Unmatched, tc.loader, tc.path, tc.unmatched)
		}
	}
}

func TestFwsetupIsSupportedOnlyOnEFI(t *testing.T) {
	src := "fwsetup --is-supported\nif [ \"$?\" = 0 ]; then menuentry F { fwsetup; }; fi\nmenuentry L { linux /l; }\n"
	for platform, want := range map[string]string{"efi": "F", "pc": "L", "": "L"} {
		b, err := Evaluate([]byte(src), Options{File: "grub.cfg", Vars: map[string]string{"grub_platform": platform}})
		if err != nil || b.Path[0] != want {
			t.Errorf("grub_platform=%q: %v %v, want entry %s", platform, b, err, want)
		}
	}
}

func TestUnmatchedDefaultIsReportedAtItsMenu(t *testing.T) {
	menu := "menuentry 'A' { linux /a; }\nsubmenu 'S' --id s { menuentry 'T' { linux /t; }; menuentry 'U' { linux /u; }; }\n"
	tests := []struct {
		def, kernel, unmatched string
		level                  int
	}{
		{"S>U", "/u", "", 0},
		{"", "/a", "", 0}, // GRUB_DEFAULT=saved, nothing saved: not a mistake
		{"T", "/a", "T", 0},
		{"s>gone", "/t", "gone", 1},
		{"5>1", "/a", "5>1", 0},
	}
	for _, tc := range tests {
		b, err := Evaluate([]byte("set default='"+tc.def+"'\n"+menu), Options{File: "grub.cfg"})
		if err != nil {
			t.Fatalf("%q: %v", tc.def, err)
		}
		if b.Kernel != tc.kernel || b.Unmatched != tc.unmatched || b.UnmatchedLevel != tc.level {
			t.Errorf("default %q: kernel %s, unmatched %q at %d; want %s, %q at %d", tc.def, b.Kernel, b.Unmatched, b.UnmatchedLevel, tc.kernel, tc.unmatched, tc.level)
		}
	}
}

func TestGrubenvParsesAsEnvblkDoes(t *testing.T) {
	b := []byte("# GRUB Environment Block\nsaved_entry=Ubuntu>x\nback=a\\\\b\\\nc\n# comment\nempty=\nnoequals\nsaved_entry=second\n" + strings.Repeat("#", 900))
	vars, err := ParseEnv(b)
	if err != nil {
		t.Fatal(err)
	}
	m := EnvMap(vars)
	if m["saved_entry"] != "second" || m["back"] != "a\\b\nc" || m["empty"] != "" || len(m) != 3 {
		t.Fatalf("got %q", m)
	}
	if _, err := ParseEnv([]byte("saved_entry=1\n")); !errors.Is(err, ErrEnvSignature) {
		t.Fatalf("missing signature: %v", err)
	}
}

func TestEtcDefaultGrubIsReadAsTheShellWould(t *testing.T) {
	vars := map[string]string{}
	warns := ParseDefaults([]byte(`# comment
GRUB_DEFAULT=0
export GRUB_TIMEOUT=5 # trailing comment
GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"
GRUB_CMDLINE_LINUX='console=ttyS0 "x y"'
GRUB_DISTRIBUTOR=`+"`lsb_release -i -s 2> /dev/null || echo Debian`"+`
GRUB_A="multi
line"; GRUB_B=after\ semicolon
GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT ${GRUB_TIMEOUT}s \$lit"
if [ -x /usr/bin/thing ]; then
  GRUB_C=in_if
fi
`), "/etc/default/grub", vars)
	want := map[string]string{
		"GRUB_DEFAULT": "0", "GRUB_TIMEOUT": "5", "GRUB_CMDLINE_LINUX": `console=ttyS0 "x y"`,
		"GRUB_CMDLINE_LINUX_DEFAULT": "quiet splash 5s $lit", "GRUB_DISTRIBUTOR": "",
		"GRUB_A": "multi\nline", "GRUB_B": "after semicolon", "GRUB_C": "in_if",
	}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("got  %q\nwant %q", vars, want)
	}
	joined := strings.Join(warns, "\n")
	if !strings.Contains(joined, "GRUB_DISTRIBUTOR uses a command substitution") || !strings.Contains(joined, "not an assignment, ignored: if [ -x") {
		t.Errorf("warnings: %s", joined)
	}
	// The values pass through GRUB's lexer when pasted into grub.cfg.
	args, err := KernelArgs(vars)
	if err != nil || args != `console=ttyS0 "x y" quiet splash 5s` {
		t.Fatalf("KernelArgs = %q, %v", args, err)
	}
}

func fixtureConfigs(t testing.TB) [][]byte {
	var out [][]byte
	m, _ := filepath.Glob("../bootplan/testdata/*/root/boot/grub*/grub.cfg")
	for _, f := range m {
		b, err := os.ReadFile(f)
		if err == nil {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatal("no fixture grub.cfg")
	}
	return out
}

// fixtureFiles are the fixture roots' files matching pattern (relative to
// a root), as fuzz seeds: grub-mkconfig's real output, grub-editenv's real
// grubenv, Debian's real etc/default/grub.
func fixtureFiles(pattern string) [][]byte {
	var out [][]byte
	m, _ := filepath.Glob("../bootplan/testdata/*/root/" + pattern)
	for _, f := range m {
		if b, err := os.ReadFile(f); err == nil {
			out = append(out, b)
		}
	}
	return out
}

func TestEveryFixtureGrubCfgParses(t *testing.T) {
	for _, b := range fixtureConfigs(t) {
		if _, err := parse(string(b), "grub.cfg"); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// The shapes a hostile or broken grub.cfg takes, at 10 MB: each must end
// with a result or an error (a hang would be a test timeout; the time per
// byte is measured by BenchmarkEvaluateScales, not asserted here).
func TestTenMegabyteInputsFinish(t *testing.T) {
	mb := 10 << 20
	shapes := map[string]string{
		"comments":       "# " + strings.Repeat("c", 60) + "\n",
		"assignments":    "set a=$a\n",
		"nested ifs":     "if true; then\n",
		"open quote":     "'",
		"dollar braces":  "${",
		"backslashes":    "\\",
		"menu entries":   "menuentry 'x' { linux /vmlinuz a b c }\n",
		"while loops":    "while false; do set a=b; done\n",
		"function calls": "function f { f; }\nf\n",
		"unbalanced }":   "}",
		"binary":         "\x00\xff{\"'$\\\n",
	}
	for name, unit := range shapes {
		src := strings.Repeat(unit, mb/len(unit)+1)
		_, err := Evaluate([]byte(src), Options{File: "grub.cfg"})
		t.Logf("%s: %v", name, err)
	}
	vars := map[string]string{}
	ParseDefaults([]byte(strings.Repeat("A=\"$A$A\"\n", mb/9)), "d", vars)
	ParseEnv([]byte(envHeader + strings.Repeat("a=b\\\n", mb/5)))
}

func FuzzEvaluate(f *testing.F) {
	for _, b := range fixtureConfigs(f) {
		f.Add(b)
	}
	f.Add([]byte("set default='1>0'\nsubmenu s { menuentry a { linux /v x; initrd /i } }"))
	f.Add([]byte("function f { f $1$1; }\nf x"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<20 {
			return
		}
		host := Host{
			ReadFile: func(p string) ([]byte, error) {
				if strings.HasSuffix(p, "grubenv") {
					return []byte(envHeader + "saved_entry=1\nkernelopts=root=x\n"), nil
				}
				return src, nil // source/configfile of itself: bounded by depth and budget
			},
			FileTest: func(op byte, p string) bool { return len(p)%2 == 0 },
			BLS: func() ([]BLSEntry, error) {
				return []BLSEntry{{ID: "a", Title: "A", Linux: "/vmlinuz", Options: "$kernelopts", Initrds: []string{"/i"}}}, nil
			},
		}
		// efi: GRUB 2.12's 30_uefi-firmware block in the seeds is entered.
		b, err := Evaluate(src, Options{File: "grub.cfg", Host: host, Vars: map[string]string{"grub_platform": "efi"}})
		if err == nil && b == nil {
			t.Fatal("nil boot without error")
		}
		if err == nil && len(b.Path) == 0 {
			t.Fatal("a boot with no entry path")
		}
	})
}

func FuzzParseEnv(f *testing.F) {
	for _, b := range fixtureFiles("boot/grub*/grubenv") {
		f.Add(b)
	}
	f.Add([]byte(envHeader + "saved_entry=a\\\\b\n" + strings.Repeat("#", 100)))
	f.Add([]byte(envHeader + "x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vars, err := ParseEnv(b)
		if err != nil {
			return
		}
		for _, v := range vars {
			if strings.ContainsAny(v.Name, "\n=") {
				t.Fatalf("bad name %q", v.Name)
			}
		}
	})
}

func FuzzParseDefaults(f *testing.F) {
	for _, b := range fixtureFiles("etc/default/grub") {
		f.Add(b)
	}
	f.Add([]byte("GRUB_CMDLINE_LINUX=\"a $B 'c'\"\nexport X='y'\n"))
	f.Add([]byte("A=$(b $(c))\nB=`x`\"\\\n\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		vars := map[string]string{}
		ParseDefaults(b, "d", vars)
		KernelArgs(vars)
	})
}

func BenchmarkEvaluateScales(b *testing.B) {
	cfgs := fixtureConfigs(b)
	for _, mul := range []int{1, 2, 4} {
		unit := string(cfgs[0])
		src := []byte(strings.Repeat(unit, 200*mul))
		b.Run(strings.Repeat("x", mul)+"_"+itoa(len(src)>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for i := 0; i < b.N; i++ {
				Evaluate(src, Options{File: "grub.cfg"})
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

// A command substitution or ${...} that spans lines is skipped whole, and
// the lines it spans still count: a warning names the line it is about.
func TestDefaultsWarningsNameTheirLineAfterAMultiLineSubstitution(t *testing.T) {
	warns := ParseDefaults([]byte("A=$(x\ny\nz)\nB=\"`p\nq`\"\nC=${D\n}\nnot one\n"), "d", map[string]string{})
	want := []string{
		"d:1: A uses a command substitution, which is not run",
		"d:4: B uses a command substitution, which is not run",
		"d:8: not an assignment, ignored: not one",
	}
	if !reflect.DeepEqual(warns, want) {
		t.Errorf("got  %q\nwant %q", warns, want)
	}
}

// A value that doubles itself on every line is cut at GRUB's variable
// bound, with a warning, instead of growing until memory runs out (an
// installer's target root is read with --root: its files are input).
func TestDefaultsAValueThatDoublesItselfIsBounded(t *testing.T) {
	vars := map[string]string{}
	warns := ParseDefaults([]byte("A=12345678\n"+strings.Repeat("A=\"$A$A\"\n", 64)+"B=\"$A\"\n"), "d", vars)
	if len(vars["A"]) != maxVarLen || len(vars["B"]) != maxVarLen {
		t.Errorf("len(A) = %d, len(B) = %d, want %d", len(vars["A"]), len(vars["B"]), maxVarLen)
	}
	if len(warns) == 0 || !strings.Contains(warns[0], "the value of A is longer than 65536 bytes; cut") {
		t.Errorf("warnings: %q", warns)
	}
}
