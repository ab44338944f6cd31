package kver_test

import (
	"bytes"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/kver"
	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

func TestReleasesSortAsDebianLinuxVersionSortDoes(t *testing.T) {
	// Each pair: a < b, worked out from DebianLinux.pm's rules.
	tests := []struct{ a, b, why string }{
		{"6.1.0-9-amd64", "6.1.0-27-amd64", "digit runs compare as numbers"},
		{"6.1.0-27-amd64", "6.10.0-1-amd64", "6.1 < 6.10"},
		{"6.1.0-9", "6.1.0-10", "the attack-list pair"},
		{"6.1-rc5", "6.1", "-rc sorts before the end of the string"},
		{"6.1.0-rc7-amd64", "6.1.0-1-amd64", "-rc sorts before a number"},
		{"4.19.0-trunk-amd64", "4.19.0-1-amd64", "-trunk is a pre-release"},
		{"2.6.32-1", "2.6.32.1", "'.' sorts after '-'"},
		{"5.15.0", "5.15.0-100-generic", "a shorter release sorts first"},
		{"5.15.0-100-generic", "5.15.0-100-lowlatency", "byte order of flavours"},
		{"4.4.0-97-generic", "4.4.0-98-generic", "Ubuntu ABI numbers"},
		// Not rpm's order: after "514", ".el" > "." byte-wise. Debian's tool
		// agrees (checked with linux-version sort); BLS entries use rpm order.
		{"3.10.0-514.26.2.el7.x86_64", "3.10.0-514.el7.x86_64", "RHEL z-stream in Debian order"},
		{"6.1.0-9", "6.1.0-09a", "9 = 09 numerically, then end < 'a'"},
		{"99999999999999999999", "100000000000000000000", "numbers beyond 64 bits"},
	}
	for _, tc := range tests {
		t.Run(tc.why, func(t *testing.T) {
			if got := kver.Compare(tc.a, tc.b); got != -1 {
				t.Errorf("Compare(%q, %q) = %d, want -1", tc.a, tc.b, got)
			}
			if got := kver.Compare(tc.b, tc.a); got != 1 {
				t.Errorf("Compare(%q, %q) = %d, want 1", tc.b, tc.a, got)
			}
			if kver.Compare(tc.a, tc.a) != 0 {
				t.Errorf("%q is not equal to itself", tc.a)
			}
		})
	}
}

func TestNewestPicksTheHighestRelease(t *testing.T) {
	if got := kver.Newest([]string{"6.1.0-9-amd64", "6.1.0-27-amd64", "6.1.0-rc3-amd64", "5.10.0-30-amd64"}); got != "6.1.0-27-amd64" {
		t.Fatalf("got %q", got)
	}
	if kver.Newest(nil) != "" {
		t.Fatal("newest of nothing")
	}
}

// The reference is Debian's own `linux-version sort` (package linux-base);
// the expectation comes from it, not from our code.
func TestSortAgreesWithLinuxVersionSort(t *testing.T) {
	testtool.Need(t, "linux-version", "linux-base")
	r := rand.New(rand.NewSource(1))
	parts := []string{"0", "1", "9", "10", "27", "100", "009", ".", "-", "-rc", "-trunk", "rc", "-amd64", "-generic", "el", "a", "+", "~", "_"}
	var vs []string
	for i := 0; i < 400; i++ {
		var b strings.Builder
		n := 1 + r.Intn(7)
		for j := 0; j < n; j++ {
			b.WriteString(parts[r.Intn(len(parts))])
		}
		vs = append(vs, b.String())
	}
	vs = append(vs, "6.1.0-9", "6.1.0-27", "6.10.0-1", "6.1.0-rc5", "6.1.0")
	cmd := exec.Command("linux-version", append([]string{"sort"}, vs...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("linux-version sort: %v", err)
	}
	want := strings.Fields(string(out))
	got := append([]string(nil), vs...)
	kver.Sort(got)
	// Perl's sort is not stable: equal releases may come in any order, so
	// compare each neighbour pair rather than the lists verbatim.
	for i := 1; i < len(want); i++ {
		if kver.Compare(want[i-1], want[i]) > 0 {
			t.Errorf("linux-version puts %q before %q, we disagree", want[i-1], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("lengths %d %d", len(got), len(want))
	}
}

func FuzzCompare(f *testing.F) {
	for _, s := range []string{"6.1.0-9-amd64", "6.10.0-rc1", "2.6.32.1", "", "-", "-rc", "0000000000000000001"} {
		f.Add(s, "6.1.0-27-amd64")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		c1, c2 := kver.Compare(a, b), kver.Compare(b, a)
		if c1 != -c2 {
			t.Fatalf("not antisymmetric: %q %q: %d %d", a, b, c1, c2)
		}
		if kver.Compare(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
	})
}

func TestCompareIsLinearOnTenMegabytes(t *testing.T) {
	a := bytes.Repeat([]byte("1.-a"), 10<<20/4)
	start := time.Now()
	kver.Compare(string(a), string(a))
	// Not a timing assertion (see BenchmarkCompare): a hang would show as a test timeout.
	t.Logf("10 MB compare: %v", time.Since(start))
}

func BenchmarkCompare(b *testing.B) {
	for i := 0; i < b.N; i++ {
		kver.Compare("6.1.0-27-amd64", "6.1.0-28-amd64")
	}
}
