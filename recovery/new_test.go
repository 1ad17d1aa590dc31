package recovery_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/memory"
)

// requiredOnly is an auth.Store with the required methods alone: the
// optional capabilities of the memory store it wraps, LinkStore among
// them, are hidden.
type requiredOnly struct{ auth.Store }

func newAuth(t *testing.T, s auth.Store) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Config{Store: s, SecretKey: testSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestNewNeedsLinkStore: New refuses an Authenticator whose Store keeps
// no links, with an error that names the capability and matches
// auth.ErrMissingCapability, and accepts one on store/memory.
func TestNewNeedsLinkStore(t *testing.T) {
	tests := []struct {
		name  string
		store auth.Store
		want  string // "" when the store offers what recovery needs
	}{
		{"without", requiredOnly{memory.New()}, "recovery: New needs a Store that implements recovery.LinkStore (mailed links)"},
		{"with", memory.New(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := recovery.New(newAuth(t, tc.store), recovery.Config{Mailer: newRecordingMailer(), PublicURL: "https://example.com"})
			if tc.want == "" {
				if err != nil || r == nil {
					t.Fatalf("New = %v, %v", r, err)
				}
				if err := r.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, auth.ErrMissingCapability) || err.Error() != tc.want {
				t.Fatalf("with a Store lacking the capability: %v, want %q (ErrMissingCapability)", err, tc.want)
			}
			if r != nil {
				t.Error("New returned a Recovery with its error")
			}
		})
	}
}

// TestNewRefusesUnsafeConfig: New refuses a missing Authenticator or
// Mailer, a PublicURL links cannot start with, TTLs out of bounds and
// negative limits, with an error naming what is wrong; it accepts the
// bounds themselves.
func TestNewRefusesUnsafeConfig(t *testing.T) {
	a := newAuth(t, memory.New())
	good := func(edit func(c *recovery.Config)) recovery.Config {
		c := recovery.Config{Mailer: newRecordingMailer(), PublicURL: "https://auth.example.com"}
		edit(&c)
		return c
	}
	negative := auth.Rate{Burst: -1, Interval: time.Minute}
	tests := []struct {
		name string
		a    *auth.Authenticator
		c    recovery.Config
		want string // what the error must name; "" if accepted
	}{
		{"no Authenticator", nil, good(func(*recovery.Config) {}), "Authenticator"},
		{"no Mailer", a, good(func(c *recovery.Config) { c.Mailer = nil }), "Config.Mailer"},
		{"no PublicURL", a, good(func(c *recovery.Config) { c.PublicURL = "" }), "Config.PublicURL"},
		{"PublicURL without a scheme", a, good(func(c *recovery.Config) { c.PublicURL = "auth.example.com" }), "Config.PublicURL"},
		{"PublicURL relative", a, good(func(c *recovery.Config) { c.PublicURL = "/auth" }), "Config.PublicURL"},
		{"PublicURL of ftp", a, good(func(c *recovery.Config) { c.PublicURL = "ftp://x" }), "Config.PublicURL"},
		{"PublicURL without a host", a, good(func(c *recovery.Config) { c.PublicURL = "https:///path" }), "Config.PublicURL"},
		{"PublicURL with a query", a, good(func(c *recovery.Config) { c.PublicURL = "https://x/?a=b" }), "Config.PublicURL"},
		{"PublicURL with a fragment", a, good(func(c *recovery.Config) { c.PublicURL = "https://x/#top" }), "Config.PublicURL"},
		{"PublicURL with a user", a, good(func(c *recovery.Config) { c.PublicURL = "https://u:p@x" }), "Config.PublicURL"},
		// A link is PublicURL and a path: after a bare '?' or '#' the path
		// would be the query or the fragment, and a space would cut the link
		// in a mail's text.
		{"PublicURL with an empty query", a, good(func(c *recovery.Config) { c.PublicURL = "https://x/?" }), "Config.PublicURL"},
		{"PublicURL with an empty fragment", a, good(func(c *recovery.Config) { c.PublicURL = "https://x#" }), "Config.PublicURL"},
		{"PublicURL with a space", a, good(func(c *recovery.Config) { c.PublicURL = "https://auth.example.com/ " }), "Config.PublicURL"},
		{"PublicURL with a newline", a, good(func(c *recovery.Config) { c.PublicURL = "https://auth.example.com/a\nb" }), "Config.PublicURL"},
		{"PublicURL unparsable", a, good(func(c *recovery.Config) { c.PublicURL = "https://x\x7f" }), "Config.PublicURL"},
		{"PublicURL of http, with a path", a, good(func(c *recovery.Config) { c.PublicURL = "http://localhost:8080/auth/" }), ""},
		{"negative VerifyTTL", a, good(func(c *recovery.Config) { c.VerifyTTL = -time.Hour }), "Config.VerifyTTL"},
		{"VerifyTTL over 30 days", a, good(func(c *recovery.Config) { c.VerifyTTL = 30*24*time.Hour + time.Second }), "Config.VerifyTTL"},
		{"VerifyTTL of 30 days", a, good(func(c *recovery.Config) { c.VerifyTTL = 30 * 24 * time.Hour }), ""},
		{"negative ResetTTL", a, good(func(c *recovery.Config) { c.ResetTTL = -time.Minute }), "Config.ResetTTL"},
		{"ResetTTL over a day", a, good(func(c *recovery.Config) { c.ResetTTL = 24*time.Hour + time.Second }), "Config.ResetTTL"},
		{"ResetTTL of a day", a, good(func(c *recovery.Config) { c.ResetTTL = 24 * time.Hour }), ""},
		{"negative Address", a, good(func(c *recovery.Config) { c.Limits.Address = negative }), "Config.Limits.Address"},
		{"negative MailAsked", a, good(func(c *recovery.Config) { c.Limits.MailAsked = negative }), "Config.Limits.MailAsked"},
		{"negative MailForgot", a, good(func(c *recovery.Config) { c.Limits.MailForgot = negative }), "Config.Limits.MailForgot"},
		{"negative MailRecipient", a, good(func(c *recovery.Config) { c.Limits.MailRecipient = negative }), "Config.Limits.MailRecipient"},
		{"negative interval", a, good(func(c *recovery.Config) { c.Limits.MailAsked = auth.Rate{Burst: 3, Interval: -time.Minute} }), "Config.Limits.MailAsked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := recovery.New(tc.a, tc.c)
			if tc.want == "" {
				if err != nil || r == nil {
					t.Fatalf("New = %v, %v, want it accepted", r, err)
				}
				if err := r.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || r != nil {
				t.Fatalf("New accepted an unsafe config")
			}
			if !strings.HasPrefix(err.Error(), "recovery: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %q, want it to name %s", err, tc.want)
			}
		})
	}
}
