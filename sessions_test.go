package auth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanUserAgent(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"},
		{"  padded\t", "padded"},
		{"nul\x00and\nnewline\x7f", "nul and newline"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{"ｆｕｌｌ-width é", "ｆｕｌｌ-width é"},
	} {
		if got := cleanUserAgent(c.in); got != c.want {
			t.Errorf("cleanUserAgent(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("é", 10_000) // 2 bytes each
	got := cleanUserAgent(long)
	if len(got) > maxUserAgentBytes || len(got) < maxUserAgentBytes-1 || !utf8.ValidString(got) {
		t.Errorf("a long user agent: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
