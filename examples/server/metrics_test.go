package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/oidc"
	"github.com/goauthkit/auth/passkey"
)

// TestE2EMetrics: with AUTH_METRICS_ADDR, /metrics (on its own handler,
// not the API's) counts logins and refreshes by outcome, and the API does
// not serve it.
func TestE2EMetrics(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory", vars: map[string]string{"AUTH_METRICS_ADDR": "127.0.0.1:0"}})
	if e.app.metrics == nil {
		t.Fatal("no metrics handler")
	}
	mt := httptest.NewServer(e.app.metrics)
	defer mt.Close()
	e.signup("alice", "correct horse battery")
	_, refresh := e.login("alice", "correct horse battery")
	e.tokenReq("username", "alice", "password", "not alice's password").want(t, 400, "invalid_grant")
	e.refresh(refresh).want(t, 200, "")
	e.refresh(refresh).want(t, 400, "invalid_grant") // reuse

	text := scrape(t, mt)
	for _, want := range []string{
		`goauthkit_logins_total{outcome="success"} 1`,
		`goauthkit_logins_total{outcome="failure"} 1`,
		`goauthkit_logins_total{outcome="throttled"} 0`,
		`goauthkit_refreshes_total{outcome="success"} 1`,
		`goauthkit_refreshes_total{outcome="reuse_detected"} 1`,
		`goauthkit_login_hash_wait_seconds_count 2`,
		`goauthkit_emails_total{outcome="sent"} 0`,
		`goauthkit_mfa_checks_total{outcome="success"} 0`,
		`goauthkit_mfa_checks_total{outcome="failure"} 0`,
		`goauthkit_mfa_checks_total{outcome="throttled"} 0`,
		`goauthkit_mfa_challenges_total 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "alice") {
		t.Error("/metrics names a user")
	}
	e.do(request{method: "GET", path: "/metrics"}).want(t, 404, "not_found")
	if r, _ := mt.Client().Get(mt.URL + "/other"); r == nil || r.StatusCode != 404 {
		t.Errorf("the metrics address serves more than /metrics: %v", r)
	}
}

// TestE2EMetricsSecondFactor: /metrics counts second-factor checks by
// outcome (success, failure, throttled) and the challenges, as package
// mfa's events reach package metrics (which matches them by their type
// strings, without importing module mfa).
func TestE2EMetricsSecondFactor(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory", vars: map[string]string{"AUTH_METRICS_ADDR": "127.0.0.1:0"}})
	mt := httptest.NewServer(e.app.metrics)
	defer mt.Close()
	u := e.enrolTOTP("bob") // a code confirms the enrolment: a success
	e.mfaLogin(u).want(t, 200, "")
	challenge := func() string {
		r := e.tokenReq("grant_type", "password", "username", u.name, "password", u.password)
		r.want(t, 403, "mfa_required")
		return r.str("mfa_token")
	}
	tok := challenge()
	for range 5 {
		e.tokenReq("grant_type", "mfa_otp", "mfa_token", tok, "otp", "000000").want(t, 400, "invalid_grant")
	}
	right := func() resp {
		return e.tokenReq("grant_type", "mfa_otp", "mfa_token", tok, "otp", e.totpCode(u.secret, 0))
	}
	right().want(t, 429, "too_many_attempts") // the user's budget: not checked
	e.clock.Advance(time.Minute)
	right().want(t, 400, "invalid_grant") // the budget gave one back, but the token is dead

	text := scrape(t, mt)
	for _, want := range []string{
		`goauthkit_mfa_checks_total{outcome="success"} 2`,
		`goauthkit_mfa_checks_total{outcome="failure"} 5`,
		`goauthkit_mfa_checks_total{outcome="throttled"} 2`,
		`goauthkit_mfa_challenges_total 2`,
		`goauthkit_events_total{event="mfa_failed"} 7`,
		`goauthkit_events_total{event="mfa_required"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}

// scrape returns the text of /metrics.
func scrape(t *testing.T, mt *httptest.Server) string {
	t.Helper()
	res, err := mt.Client().Get(mt.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestMetricsEventNames: the event types package metrics counts by their
// strings (it imports neither mfa nor passkey) are those the packages emit.
func TestMetricsEventNames(t *testing.T) {
	for _, c := range []struct {
		got  auth.EventType
		want string
	}{
		{mfa.EventRequired, "mfa_required"},
		{mfa.EventFailed, "mfa_failed"},
		{mfa.EventTOTPEnabled, "mfa_totp_enabled"},
		{passkey.EventUsed, "passkey_used"},
		{passkey.EventRefused, "passkey_refused"},
		{oidc.EventSignIn, "oidc_sign_in"},
		{oidc.EventRefused, "oidc_refused"},
	} {
		if string(c.got) != c.want {
			t.Errorf("%q, package metrics counts %q", c.got, c.want)
		}
	}
}
