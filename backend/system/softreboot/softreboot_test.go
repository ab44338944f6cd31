package softreboot

import "testing"

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int{
		"257.9-1~deb13u1":      257,
		"252.39-1~deb12u1":     252,
		"255.4-1.fc40":         255,
		"245 (245.4-4ubuntu3)": 245,
		"v256.7":               256,
		"254":                  254,
	} {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "systemd", "v", "-1", "9999999999999999999"} {
		if n, err := ParseVersion(in); err == nil {
			t.Errorf("%q: got %d, want an error", in, n)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	f.Add("257.9-1~deb13u1")
	f.Add("245 (245.4-4ubuntu3)")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseVersion(s)
		if err == nil && (n < 0 || n > 999999) {
			t.Fatalf("%q: %d", s, n)
		}
	})
}
