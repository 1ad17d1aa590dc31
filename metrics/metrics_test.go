package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/metrics"
	"github.com/goauthkit/auth/store/memory"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
	if _, err := metrics.New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	// Every outcome is there from the start, at zero.
	if n := testutil.CollectAndCount(reg, "goauthkit_logins_total", "goauthkit_refreshes_total", "goauthkit_emails_total"); n != 9 {
		t.Fatalf("%d outcome series at start, want 9", n)
	}
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("metrics-test-secret-0123456789abcdef"),
		OnEvent:   m.Observe,
		Limits:    auth.Limits{LoginUserAddress: auth.Rate{Burst: 2, Interval: 1 << 40}},
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	pair, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery", Client: auth.Client{Addr: "192.0.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // two failures, then throttled
		_, _ = a.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong", Client: auth.Client{Addr: "192.0.2.1"}})
	}
	next, err := a.Refresh(ctx, auth.Client{}, pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, auth.Client{}, pair.RefreshToken); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("reuse: %v", err)
	}
	_, _ = a.Refresh(ctx, auth.Client{}, next.RefreshToken) // its login was revoked: failure
	_, _ = a.Refresh(ctx, auth.Client{}, "garbage")         // failure

	for _, c := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{counter(t, reg, "goauthkit_logins_total", "success"), 1},
		{counter(t, reg, "goauthkit_logins_total", "failure"), 2},
		{counter(t, reg, "goauthkit_logins_total", "throttled"), 1},
		{counter(t, reg, "goauthkit_refreshes_total", "success"), 1},
		{counter(t, reg, "goauthkit_refreshes_total", "reuse_detected"), 1},
		{counter(t, reg, "goauthkit_refreshes_total", "failure"), 2},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%v = %v, want %v", c.c, got, c.want)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var waits uint64
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if strings.Contains(l.GetValue(), "alice") || strings.Contains(l.GetValue(), "192.0.2") {
					t.Errorf("a label holds a user or an address: %s=%s", l.GetName(), l.GetValue())
				}
			}
		}
		if f.GetName() == "goauthkit_login_hash_wait_seconds" {
			waits = f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	if waits != 3 {
		t.Errorf("%d hash waits observed, want 3 (the logins that hashed)", waits)
	}
}

// counter returns the series of name with outcome, as a collector.
func counter(t *testing.T, reg *prometheus.Registry, name, outcome string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.GetMetric() {
				if m.GetLabel()[0].GetValue() == outcome {
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
				}
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

// TestMetricsSecondFactor: the second factor's events (package mfa's, by
// their type strings) move goauthkit_mfa_checks_total by outcome and
// goauthkit_mfa_challenges_total; other events do not.
func TestMetricsSecondFactor(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	// The three outcomes, and the challenges, from the start at zero.
	if n := testutil.CollectAndCount(reg, "goauthkit_mfa_checks_total", "goauthkit_mfa_challenges_total"); n != 4 {
		t.Fatalf("%d second-factor series at start, want 4", n)
	}
	ctx := context.Background()
	type counts struct{ success, failure, throttled, challenges float64 }
	for _, c := range []struct {
		name string
		e    auth.Event
		want counts
	}{
		{"a challenge", auth.Event{Type: "mfa_required", UserID: "u1"}, counts{challenges: 1}},
		// A TOTP code's or a recovery code's: the same methods.
		{"a login with a code", auth.Event{Type: auth.EventLoginSucceeded, UserID: "u1", Methods: []string{auth.MethodPassword, auth.MethodOTP, auth.MethodMFA}}, counts{success: 1}},
		{"a login with a password alone", auth.Event{Type: auth.EventLoginSucceeded, UserID: "u1", Methods: []string{auth.MethodPassword}}, counts{}},
		{"a passkey's login", auth.Event{Type: auth.EventLoginSucceeded, UserID: "u1", Methods: []string{auth.MethodPossession, auth.MethodMFA}}, counts{}},
		{"an enrolment confirmed", auth.Event{Type: "mfa_totp_enabled", UserID: "u1"}, counts{success: 1}},
		{"a wrong TOTP code", auth.Event{Type: "mfa_failed", UserID: "u1", Reason: "totp"}, counts{failure: 1}},
		{"a wrong recovery code", auth.Event{Type: "mfa_failed", UserID: "u1", Reason: "recovery_code"}, counts{failure: 1}},
		{"a code for a dead challenge", auth.Event{Type: "mfa_failed", UserID: "u1", Reason: "dead_challenge"}, counts{throttled: 1}},
		{"a code while the user's codes are guessed", auth.Event{Type: "mfa_failed", UserID: "u1", Reason: "throttled"}, counts{throttled: 1}},
		{"a refusal of an unknown reason", auth.Event{Type: "mfa_failed", UserID: "u1", Reason: "something new"}, counts{failure: 1}},
		{"a recovery code used", auth.Event{Type: "mfa_recovery_code_used", UserID: "u1"}, counts{}},
		{"a reset", auth.Event{Type: "mfa_reset", UserID: "u1"}, counts{}},
		{"a wrong password", auth.Event{Type: auth.EventLoginFailed, UserID: "u1"}, counts{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			read := func() counts {
				return counts{
					value(t, reg, "goauthkit_mfa_checks_total", "success"),
					value(t, reg, "goauthkit_mfa_checks_total", "failure"),
					value(t, reg, "goauthkit_mfa_checks_total", "throttled"),
					value(t, reg, "goauthkit_mfa_challenges_total", ""),
				}
			}
			before := read()
			m.Observe(ctx, c.e)
			after := read()
			got := counts{after.success - before.success, after.failure - before.failure, after.throttled - before.throttled, after.challenges - before.challenges}
			if got != c.want {
				t.Fatalf("moved %+v, want %+v", got, c.want)
			}
		})
	}
}

// value returns the value of the counter name, of the series with this
// outcome ("" for a counter without labels).
func value(t *testing.T, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); outcome == "" && len(l) == 0 || len(l) == 1 && l[0].GetValue() == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{outcome=%q}", name, outcome)
	return 0
}

// TestMetricsPasskeys: passkeys' events (package passkey's, by their type
// strings) move goauthkit_passkey_checks_total by outcome; a passkey's
// login counts as a login but not in the password's hash wait.
func TestMetricsPasskeys(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "goauthkit_passkey_checks_total"); n != 2 {
		t.Fatalf("%d passkey series at start, want 2", n)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name             string
		e                auth.Event
		success, failure float64
	}{
		{"used", auth.Event{Type: "passkey_used", UserID: "u1"}, 1, 0},
		{"refused", auth.Event{Type: "passkey_refused", Reason: "sign_count", Warning: true}, 0, 1},
		{"added", auth.Event{Type: "passkey_added", UserID: "u1"}, 0, 0},
		{"removed", auth.Event{Type: "passkey_removed", UserID: "u1"}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, f := value(t, reg, "goauthkit_passkey_checks_total", "success"), value(t, reg, "goauthkit_passkey_checks_total", "failure")
			m.Observe(ctx, c.e)
			if ds, df := value(t, reg, "goauthkit_passkey_checks_total", "success")-s, value(t, reg, "goauthkit_passkey_checks_total", "failure")-f; ds != c.success || df != c.failure {
				t.Errorf("moved success %v, failure %v; want %v, %v", ds, df, c.success, c.failure)
			}
		})
	}
	m.Observe(ctx, auth.Event{Type: auth.EventLoginSucceeded, UserID: "u1", Methods: []string{auth.MethodPossession, auth.MethodMFA}})
	m.Observe(ctx, auth.Event{Type: auth.EventLoginSucceeded, UserID: "u1", Methods: []string{auth.MethodPassword}, HashWait: time.Millisecond})
	if got := value(t, reg, "goauthkit_logins_total", "success"); got != 2 {
		t.Errorf("goauthkit_logins_total{success} = %v, want 2", got)
	}
	if n := histogramCount(t, reg, "goauthkit_login_hash_wait_seconds"); n != 1 {
		t.Errorf("%d hash waits observed, want the password login's only", n)
	}
}

// histogramCount returns the sample count of the histogram name.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

// TestMetricsProviders: sign-in through other providers' events (package
// oidc's, by their type strings) move goauthkit_provider_sign_ins_total.
func TestMetricsProviders(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.Observe(ctx, auth.Event{Type: "oidc_sign_in", UserID: "u1", Reason: "created"})
	m.Observe(ctx, auth.Event{Type: "oidc_refused", Reason: "id_token", Warning: true})
	m.Observe(ctx, auth.Event{Type: "oidc_refused", Reason: "attempt", Warning: true})
	m.Observe(ctx, auth.Event{Type: "oidc_linked", UserID: "u1"})
	if s, f := value(t, reg, "goauthkit_provider_sign_ins_total", "success"), value(t, reg, "goauthkit_provider_sign_ins_total", "failure"); s != 1 || f != 2 {
		t.Errorf("success %v, failure %v; want 1, 2", s, f)
	}
}
