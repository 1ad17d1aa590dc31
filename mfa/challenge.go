package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
)

// Challenge is what a sign-in of a user with a second factor returns
// instead of tokens (an error matching ErrRequired): the login waits for a
// code, which Complete takes with Token.
type Challenge struct {
	// Token is the challenge's opaque token (the HTTP contract's
	// mfa_token): 43 characters of base64url, 256 bits. Only its hash is
	// stored.
	Token string
	// Methods are the ways the login can be completed: "otp" (a code of
	// the authenticator app) and "recovery_code".
	Methods []string
	// ExpiresAt is when the challenge expires (Config.ChallengeTTL).
	ExpiresAt time.Time
}

// Error implements error.
func (c *Challenge) Error() string { return ErrRequired.Error() }

// Unwrap returns ErrRequired.
func (c *Challenge) Unwrap() error { return ErrRequired }

// challengeMethods are Challenge.Methods: the same slice for every
// challenge, never modified (a Challenge gets a copy).
var challengeMethods = []string{"otp", "recovery_code"}

// intercept is the second factor's part of every sign-in: a user with an
// authenticator app on, signing in without a second factor, gets a
// Challenge.
func (m *MFA) intercept(ctx context.Context, v auth.Verified) error {
	if slices.Contains(v.Methods, auth.MethodMFA) {
		return nil
	}
	t, err := m.store.TOTP(ctx, v.User.ID)
	switch {
	case errors.Is(err, auth.ErrNotFound) || err == nil && !t.Confirmed:
		return nil
	case err != nil:
		return err // fail closed: no tokens while the store cannot say
	}
	token := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	now := m.a.Now()
	c := &mfastore.Challenge{ID: challengeID(token), UserID: v.User.ID, Methods: slices.Clone(v.Methods),
		UserVersion: v.User.TokenVersion, CreatedAt: now, ExpiresAt: now.Add(m.ttl)}
	if err := m.store.CreateChallenge(ctx, c); err != nil {
		return err
	}
	m.emit(ctx, EventRequired, v.User, v.Client, "")
	return &Challenge{Token: token, Methods: slices.Clone(challengeMethods), ExpiresAt: c.ExpiresAt}
}

// maxTokenLen bounds a challenge token as received: ours are 43
// characters.
const maxTokenLen = 64

// challengeID is what the store keeps of a challenge token: its SHA-256
// under this purpose's label, so that no other token of the library's
// hashes to a challenge's id.
func challengeID(token string) []byte {
	h := sha256.New()
	h.Write([]byte("goauthkit mfa challenge v1\x00"))
	h.Write([]byte(token))
	return h.Sum(nil)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails (Go 1.24+)
	return b
}

// Completion is a challenge met: its token and one code, a TOTP code or
// a recovery code.
type Completion struct {
	// Token is the Challenge's Token.
	Token string
	// OTP is a code of the authenticator app (6 digits), or "".
	OTP string
	// RecoveryCode is a recovery code (case, spaces and dashes do not
	// matter), or "" when OTP is given.
	RecoveryCode string
	// Client is who completes the login: its session's client.
	Client auth.Client
	// Device is the browser's device value, if any (auth.Verified.Device).
	Device string
}

// Complete signs in the user of a challenge once its code is right: the
// login's tokens carry the challenge's methods and auth.MethodOTP and
// auth.MethodMFA, and the challenge is spent. A code is accepted once: a
// TOTP code's step must come after the last accepted one (a
// compare-and-set in the store), a recovery code is deleted by its use.
//
// It returns a *auth.RateLimitError when the user's codes are being
// guessed (Config.CodeUser; checked first, whatever the challenge's
// state); ErrInvalidChallenge for a token that is unknown, spent, expired,
// dead from Config.CodeTries wrong codes, or whose user was disabled or
// had their tokens ended since; ErrInvalidCode for a wrong, used or
// malformed code; or a store or limiter error.
func (m *MFA) Complete(ctx context.Context, c Completion) (*auth.TokenPair, error) {
	if (c.OTP == "") == (c.RecoveryCode == "") {
		return nil, errors.New("mfa: Complete needs one of OTP and RecoveryCode")
	}
	if c.Token == "" || len(c.Token) > maxTokenLen {
		return nil, ErrInvalidChallenge
	}
	id := challengeID(c.Token)
	ch, err := m.store.Challenge(ctx, id)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, ErrInvalidChallenge
	}
	if err != nil {
		return nil, err
	}
	// The user's budget first: 429 whatever the challenge's state, so that
	// no number of challenges checks more codes.
	userKey := m.codeUser.Key("mfa-user", ch.UserID)
	userKey.Forgive = true
	userRes, err := m.a.Limiter().Reserve(ctx, userKey)
	if err != nil {
		if errors.As(err, new(*auth.RateLimitError)) {
			m.emit(ctx, EventFailed, &auth.User{ID: ch.UserID}, c.Client, "throttled")
		}
		return nil, err
	}
	defer userRes.Settle(auth.AttemptCancelled) // unless settled below
	chRes, err := m.a.Limiter().Reserve(ctx, auth.Rate{Burst: m.codeTries, Interval: m.ttl}.Key("mfa-challenge", hex.EncodeToString(id)))
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		m.emit(ctx, EventFailed, &auth.User{ID: ch.UserID}, c.Client, "dead_challenge")
		return nil, ErrInvalidChallenge
	}
	if err != nil {
		return nil, err
	}
	defer chRes.Settle(auth.AttemptCancelled)
	if !m.a.Now().Before(ch.ExpiresAt) {
		return nil, ErrInvalidChallenge
	}
	u, err := m.a.Store().UserByID(ctx, ch.UserID)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return nil, ErrInvalidChallenge
	case err != nil:
		return nil, err
	case u.Disabled || u.TokenVersion != ch.UserVersion:
		return nil, ErrInvalidChallenge
	}
	method := "totp"
	if c.OTP != "" {
		err = m.checkOTP(ctx, u.ID, c.OTP)
	} else {
		method = "recovery_code"
		err = m.useRecoveryCode(ctx, u.ID, c.RecoveryCode)
	}
	if errors.Is(err, ErrInvalidCode) {
		userRes.Settle(auth.AttemptFailed)
		chRes.Settle(auth.AttemptFailed)
		m.emit(ctx, EventFailed, u, c.Client, method)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	userRes.Settle(auth.AttemptSucceeded)
	chRes.Settle(auth.AttemptSucceeded)
	if err := m.store.SpendChallenge(ctx, id); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return nil, ErrInvalidChallenge // another request completed it
		}
		return nil, err
	}
	if method == "recovery_code" {
		m.emit(ctx, EventRecoveryCodeUsed, u, c.Client, "")
	}
	methods := slices.Clone(ch.Methods)
	for _, more := range []string{auth.MethodOTP, auth.MethodMFA} {
		if !slices.Contains(methods, more) {
			methods = append(methods, more)
		}
	}
	return m.a.SignIn(ctx, auth.Verified{User: u, Methods: methods, Client: c.Client, Device: c.Device})
}

// checkOTP accepts code for the user's authenticator app once: its step
// must be after the last accepted one, which it becomes.
func (m *MFA) checkOTP(ctx context.Context, userID, code string) error {
	t, err := m.store.TOTP(ctx, userID)
	switch {
	case errors.Is(err, auth.ErrNotFound) || err == nil && !t.Confirmed:
		return ErrInvalidChallenge // turned off since the challenge was made
	case err != nil:
		return err
	}
	step, err := m.match(t, code)
	if err != nil {
		return err
	}
	err = m.store.AdvanceTOTP(ctx, userID, t.ID, step)
	switch {
	case errors.Is(err, auth.ErrConflict):
		return ErrInvalidCode // used meanwhile, by a request that raced this one
	case errors.Is(err, auth.ErrNotFound):
		return ErrInvalidChallenge
	}
	return err
}

// useRecoveryCode spends one of the user's recovery codes.
func (m *MFA) useRecoveryCode(ctx context.Context, userID, code string) error {
	n := normalizeRecoveryCode(code)
	if n == "" {
		return ErrInvalidCode
	}
	err := m.store.UseRecoveryCode(ctx, userID, m.recoveryHash(userID, n))
	if errors.Is(err, auth.ErrNotFound) {
		return ErrInvalidCode
	}
	return err
}
