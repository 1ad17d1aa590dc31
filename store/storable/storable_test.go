package storable

import "testing"

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   bool
	}{
		{"none", nil, true},
		{"empty", []string{""}, true},
		{"text", []string{"alice", "ålice@exämple.com", "🔐"}, true},
		{"a NUL", []string{"ali\x00ce"}, false},
		{"a NUL in the second", []string{"alice", "\x00"}, false},
		{"invalid UTF-8", []string{"al\xffice"}, false},
		{"a lone surrogate", []string{"\xed\xa0\x80"}, false},
		{"a cut rune", []string{"caf\xc3"}, false},
	} {
		if got := Strings(tc.values...); got != tc.want {
			t.Errorf("%s: Strings(%q) = %v, want %v", tc.name, tc.values, got, tc.want)
		}
	}
}
