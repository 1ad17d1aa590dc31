package recovery

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The tests of unexported helpers; the flows' tests are package
// recovery_test.

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 48 * time.Hour: "48 hours", 90 * time.Minute: "90 minutes", time.Minute: "1 minute", 15 * time.Minute: "15 minutes",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestShortRedactsAddresses(t *testing.T) {
	for _, tc := range []struct {
		err  string
		to   string
		want string
	}{
		{"550 5.1.1 <Bob@Example.com>: Recipient address rejected", "bob@example.com", "550 5.1.1 <address> Recipient address rejected"},
		{"550 mailbox bob@example.com unknown", "bob@example.com", "550 mailbox <address> unknown"},
		{"451 greylisted, see https://x/?r=bob%40example.com", "bob@example.com", "451 greylisted, see https://x/?r=bob%40example.com"},
		{"dial tcp 127.0.0.1:25: connection refused", "bob@example.com", "dial tcp 127.0.0.1:25: connection refused"},
		{"450 mailbox BOB@EXAMPLE.COM busy\n\ttry later", "bob@example.com", "450 mailbox <address> busy try later"},
		{strings.Repeat("x", 300), "", strings.Repeat("x", 200) + "…"},
	} {
		got := short(errors.New(tc.err), tc.to)
		if strings.Contains(got, "@") || tc.to != "" && strings.Contains(strings.ToLower(got), tc.to) {
			t.Errorf("short(%q) = %q holds the address", tc.err, got)
		}
		if got != tc.want {
			t.Errorf("short(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
