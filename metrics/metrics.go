// Package metrics counts what the Authenticator does, for Prometheus
// (github.com/prometheus/client_golang): logins and refreshes by outcome,
// mails by outcome, second-factor checks by outcome and the challenges
// that ask for them, every event by type, and the time logins wait for a
// hashing slot. It reads the Authenticator's events: plug Metrics.Observe
// into auth.Config.OnEvent (beside an audit log, if any).
//
// The metrics are registered on the registry the service passes in, never
// on the global default one, and no label ever holds a user, an address or
// any other unbounded value: only outcomes and event types, a fixed set.
//
// The second factor's events (package mfa, github.com/goauthkit/auth/mfa)
// are matched by their type strings: this module does not require module
// mfa, so that a service that counts logins does not download TOTP.
//
//	reg := prometheus.NewRegistry()
//	m, err := metrics.New(reg)
//	audit := audit.Log(logger)
//	a, err := auth.New(auth.Config{…, OnEvent: func(ctx context.Context, e auth.Event) {
//		audit(ctx, e)
//		m.Observe(ctx, e)
//	}})
//	go http.ListenAndServe("127.0.0.1:9090", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Serve /metrics on an address of its own, not on the public one.
package metrics

import (
	"context"
	"errors"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/recovery"
)

// Metrics holds the collectors. It is safe for concurrent use.
type Metrics struct {
	logins    *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	emails    *prometheus.CounterVec
	mfaChecks *prometheus.CounterVec
	mfaAsked  prometheus.Counter
	passkeys  *prometheus.CounterVec
	providers *prometheus.CounterVec
	events    *prometheus.CounterVec
	hashWait  prometheus.Histogram
}

// Outcome labels.
const (
	outcomeSuccess   = "success"
	outcomeFailure   = "failure"
	outcomeThrottled = "throttled"
	outcomeReuse     = "reuse_detected"
	outcomeSent      = "sent"
	outcomeFailed    = "failed"
)

// The second factor's events and reasons, as package mfa names them
// (mfa.EventRequired, mfa.EventFailed, mfa.EventTOTPEnabled; the examples
// module's tests check they agree): module mfa is not imported here.
const (
	eventMFARequired    auth.EventType = "mfa_required"
	eventMFAFailed      auth.EventType = "mfa_failed"
	eventMFATOTPEnabled auth.EventType = "mfa_totp_enabled"
)

// Passkeys' events, as package passkey names them (passkey.EventUsed,
// passkey.EventRefused; the examples module's tests check they agree):
// module passkey is not imported here.
const (
	eventPasskeyUsed    auth.EventType = "passkey_used"
	eventPasskeyRefused auth.EventType = "passkey_refused"
)

// Sign-in through other providers' events, as package oidc names them
// (oidc.EventSignIn, oidc.EventRefused): module oidc is not imported here.
const (
	eventOIDCSignIn  auth.EventType = "oidc_sign_in"
	eventOIDCRefused auth.EventType = "oidc_refused"
)

// The reasons of an mfa_failed event for a code refused unchecked; the
// others ("totp", "recovery_code") are codes checked and refused.
const (
	reasonThrottled     = "throttled"      // the user's codes are being guessed
	reasonDeadChallenge = "dead_challenge" // the challenge is dead from wrong codes
)

// New makes the collectors and registers them on reg:
//
//	goauthkit_logins_total{outcome="success"|"failure"|"throttled"}
//	goauthkit_refreshes_total{outcome="success"|"failure"|"reuse_detected"}
//	goauthkit_emails_total{outcome="sent"|"failed"|"throttled"}
//	goauthkit_mfa_checks_total{outcome="success"|"failure"|"throttled"}
//	goauthkit_mfa_challenges_total
//	goauthkit_passkey_checks_total{outcome="success"|"failure"}
//	goauthkit_provider_sign_ins_total{outcome="success"|"failure"}
//	goauthkit_events_total{event="login_succeeded"|…}   every event type
//	goauthkit_login_hash_wait_seconds                   histogram
//
// goauthkit_mfa_checks_total counts the codes of a second factor (TOTP
// codes and recovery codes) checked at a login's challenge or confirming
// an enrolment: success, a code accepted (a login completed with one, an
// event auth.EventLoginSucceeded whose Methods hold auth.MethodOTP; an
// enrolment confirmed); failure, a code refused (wrong, used or
// malformed); throttled, a code refused unchecked (the user's codes are
// being guessed, or the challenge is dead from wrong codes).
// goauthkit_mfa_challenges_total counts the logins answered with a
// challenge (mfa_required) instead of tokens.
// goauthkit_passkey_checks_total counts passkey credentials checked:
// success, one that signed its user in (a login, a sign-up); failure, one
// refused at a login, a registration or a sign-up (a bad signature, a
// ceremony spent or expired, an unknown credential, a counter gone back).
// goauthkit_provider_sign_ins_total counts the callbacks of sign-in
// through another provider: success, a provider account signed its user
// in; failure, a callback refused (a state, an ID token, a provider that
// could not be reached, a link refused).
// goauthkit_logins_total counts every sign-in (a passkey's too), and
// goauthkit_login_hash_wait_seconds the password logins only.
//
// Every series of the outcome counters starts at zero, so that a
// dashboard's rate() sees the first failure. It fails if reg refuses one
// (a name registered twice).
func New(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: New: nil Registerer (pass prometheus.NewRegistry())")
	}
	m := &Metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goauthkit_logins_total", Help: "Password logins, by outcome: success, failure (wrong name or password, disabled account) or throttled (refused by the limiter).",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goauthkit_refreshes_total", Help: "Refresh-token exchanges, by outcome: success, failure (a token that does not verify or whose login has ended) or reuse_detected (a spent token presented again: the login is revoked).",
		}, []string{"outcome"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goauthkit_emails_total", Help: "Mails of email verification and password reset, by outcome: sent, failed (one failed attempt) or throttled (not sent: the account's hourly budget, or a full queue).",
		}, []string{"outcome"}),
		mfaChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goauthkit_mfa_checks_total", Help: "Second-factor codes (TOTP and recovery codes) checked at a login or confirming an enrolment, by outcome: success (accepted), failure (wrong, used or malformed) or throttled (refused unchecked: the user's codes are being guessed, or the login's challenge is dead from wrong codes).",
		}, []string{"outcome"}),
		passkeys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goauthkit_passkey_checks_total", Help: "Passkey credentials checked, by outcome: success (it signed its user in, at a login or a sign-up) or failure (refused at a login, a registration or a sign-up).",
		}, []string{"outcome"}),
		providers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goauthkit_provider_sign_ins_total", Help: "Callbacks of sign-in through another (OpenID Connect) provider, by outcome: success (a provider account signed its user in) or failure (the callback was refused).",
		}, []string{"outcome"}),
		mfaAsked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goauthkit_mfa_challenges_total", Help: "Logins answered with a second-factor challenge (mfa_required) instead of tokens.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goauthkit_events_total", Help: "Security events of the Authenticator, by type (the audit log's events).",
		}, []string{"event"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "goauthkit_login_hash_wait_seconds",
			Help:    "How long password logins waited for a hashing slot (the bound on concurrent password hashes) before their hash ran.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}),
	}
	for _, o := range []string{outcomeSuccess, outcomeFailure, outcomeThrottled} {
		m.logins.WithLabelValues(o)
	}
	for _, o := range []string{outcomeSuccess, outcomeFailure, outcomeReuse} {
		m.refreshes.WithLabelValues(o)
	}
	for _, o := range []string{outcomeSent, outcomeFailed, outcomeThrottled} {
		m.emails.WithLabelValues(o)
	}
	for _, o := range []string{outcomeSuccess, outcomeFailure, outcomeThrottled} {
		m.mfaChecks.WithLabelValues(o)
	}
	for _, o := range []string{outcomeSuccess, outcomeFailure} {
		m.passkeys.WithLabelValues(o)
		m.providers.WithLabelValues(o)
	}
	for _, c := range []prometheus.Collector{m.logins, m.refreshes, m.emails, m.mfaChecks, m.mfaAsked, m.passkeys, m.providers, m.events, m.hashWait} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Observe counts one event: an auth.Config.OnEvent sink. It never blocks.
func (m *Metrics) Observe(_ context.Context, e auth.Event) {
	m.events.WithLabelValues(string(e.Type)).Inc()
	switch e.Type {
	case auth.EventLoginSucceeded:
		m.logins.WithLabelValues(outcomeSuccess).Inc()
		if slices.Contains(e.Methods, auth.MethodPassword) {
			m.hashWait.Observe(e.HashWait.Seconds())
		}
		if slices.Contains(e.Methods, auth.MethodOTP) {
			m.mfaChecks.WithLabelValues(outcomeSuccess).Inc()
		}
	case auth.EventLoginFailed:
		m.logins.WithLabelValues(outcomeFailure).Inc()
		m.hashWait.Observe(e.HashWait.Seconds())
	case auth.EventLoginThrottled:
		m.logins.WithLabelValues(outcomeThrottled).Inc()
	case auth.EventRefreshed:
		m.refreshes.WithLabelValues(outcomeSuccess).Inc()
	case auth.EventRefreshFailed:
		m.refreshes.WithLabelValues(outcomeFailure).Inc()
	case auth.EventRefreshReuse:
		m.refreshes.WithLabelValues(outcomeReuse).Inc()
	case recovery.EventMailSent:
		m.emails.WithLabelValues(outcomeSent).Inc()
	case recovery.EventMailFailed:
		m.emails.WithLabelValues(outcomeFailed).Inc()
	case recovery.EventMailThrottled:
		m.emails.WithLabelValues(outcomeThrottled).Inc()
	case eventMFARequired:
		m.mfaAsked.Inc()
	case eventMFATOTPEnabled:
		m.mfaChecks.WithLabelValues(outcomeSuccess).Inc()
	case eventPasskeyUsed:
		m.passkeys.WithLabelValues(outcomeSuccess).Inc()
	case eventPasskeyRefused:
		m.passkeys.WithLabelValues(outcomeFailure).Inc()
	case eventOIDCSignIn:
		m.providers.WithLabelValues(outcomeSuccess).Inc()
	case eventOIDCRefused:
		m.providers.WithLabelValues(outcomeFailure).Inc()
	case eventMFAFailed:
		if e.Reason == reasonThrottled || e.Reason == reasonDeadChallenge {
			m.mfaChecks.WithLabelValues(outcomeThrottled).Inc()
		} else {
			m.mfaChecks.WithLabelValues(outcomeFailure).Inc()
		}
	}
}
