package mfa

import (
	"testing"
)

// TestCodeAtRFCVectors checks the code of a step against the known
// answers of RFC 4226 (Appendix D: HOTP of counters 0 to 9) and RFC 6238
// (Appendix B: TOTP of SHA-1 at its times, 30-second steps), whose 8-digit
// codes end in the 6-digit ones (a code is the truncated value modulo
// 10^digits).
func TestCodeAtRFCVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	hotpCodes := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, want := range hotpCodes {
		if got, err := codeAt(secret, int64(counter)); err != nil || got != want {
			t.Errorf("RFC 4226 counter %d: %q, %v; want %q", counter, got, err, want)
		}
	}
	for _, tt := range []struct {
		unix  int64
		code8 string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got, err := codeAt(secret, tt.unix/period); err != nil || got != tt.code8[2:] {
			t.Errorf("RFC 6238 T=%d: %q, %v; want %q", tt.unix, got, err, tt.code8[2:])
		}
	}
	if _, err := codeAt(secret, -1); err == nil {
		t.Error("a negative step has a code")
	}
}

// TestEscape: the label and the values of the otpauth URI keep only RFC
// 3986's unreserved characters as they are.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"goauthkit":       "goauthkit",
		"My App":          "My%20App",
		"a&b=c+d":         "a%26b%3Dc%2Bd",
		"jane@example.io": "jane%40example.io",
		"x:y/z?":          "x%3Ay%2Fz%3F",
		"émile~_.-":       "%C3%A9mile~_.-",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNormalizeRecoveryCode: case, spaces and dashes do not matter; any
// other character, or another length, is not a recovery code.
func TestNormalizeRecoveryCode(t *testing.T) {
	for in, want := range map[string]string{
		"abcd-efgh-2345":    "abcdefgh2345",
		"ABCD EFGH 2345":    "abcdefgh2345",
		" abcdefgh2345 ":    "abcdefgh2345",
		"abcd--efgh--2345":  "abcdefgh2345",
		"abcd-efgh-234":     "",
		"abcd-efgh-23456":   "",
		"abcd-efgh-2341":    "", // 1 is not of the alphabet
		"abcd-efgh-234\x00": "",
		"аbcd-efgh-2345":    "", // a Cyrillic а
		"":                  "",
	} {
		if got := normalizeRecoveryCode(in); got != want {
			t.Errorf("normalizeRecoveryCode(%q) = %q, want %q", in, got, want)
		}
	}
}
