package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// How the Authenticator limits guessing. Every check of a password (a
// login, a password change, an email change) reserves an attempt from
// three budgets before the hash is computed, and settles them with its
// outcome:
//
//   - the client address's (Limits.LoginAddress): one address cannot guess
//     at many accounts;
//   - the username's from that address (Limits.LoginUserAddress): one
//     address cannot guess at one account; a right password forgives;
//   - the username's over all addresses (Limits.LoginUser), only for
//     clients unfamiliar to the account: many addresses cannot guess at one
//     account, and yet its owner, signing in from an address or a browser
//     the account signed in from before, is never refused because of them.
//
// A client is familiar to an account for Limits.FamiliarFor after a
// successful sign-in (or password reset) of that account from it: the
// Limiter remembers a digest of the account's id and the client address,
// and one of the account's id and the browser's device value (see
// Credentials.Device), keyed by a secret of the signing key, so that
// neither the limiter's store nor anyone reading it learns an address. So
// one address failing in a user's name locks out that address only; many
// addresses together lock out only clients the account has never signed in
// from. A login by email counts against the username of the account too.

// Rate is a budget: Burst attempts in a row, then one more per Interval.
type Rate struct {
	Burst    int
	Interval time.Duration
}

func (r Rate) orDefault(burst int, interval time.Duration) Rate {
	if r.Burst == 0 {
		r.Burst = burst
	}
	if r.Interval == 0 {
		r.Interval = interval
	}
	return r
}

func (r Rate) valid() bool { return r.Burst > 0 && r.Interval > 0 }

// Limits are the budgets the Authenticator draws on. Zero fields take the
// defaults; negative ones are refused by New.
type Limits struct {
	// LoginUserAddress bounds the password checks in flight or failed for
	// one normalised username from one client address (at login, and
	// wherever a current password is checked). A right password forgives
	// its failures. Default 5, then one per minute.
	LoginUserAddress Rate
	// LoginUser bounds the password checks in flight or failed for one
	// username over all addresses, made by clients unfamiliar to the
	// account (see FamiliarFor): when it is spent, only those are refused.
	// Default 20, then one per minute.
	LoginUser Rate
	// LoginAddress bounds failed password checks from one client address,
	// whatever the usernames. Default 20, then one per 6 seconds. It is
	// reserved first, so an address that has spent it can no longer make
	// the limiter remember usernames.
	LoginAddress Rate
	// FamiliarFor is how long a client (an address, a browser's device
	// value) stays familiar to an account after a successful sign-in or
	// password reset from it. Default 30 days.
	FamiliarFor time.Duration
	// SignupAddress bounds registrations from one client address, whether
	// or not they succeed. Default 20, then one per 6 seconds.
	SignupAddress Rate
}

func (l Limits) withDefaults() Limits {
	l.LoginUserAddress = l.LoginUserAddress.orDefault(5, time.Minute)
	l.LoginUser = l.LoginUser.orDefault(20, time.Minute)
	l.LoginAddress = l.LoginAddress.orDefault(20, 6*time.Second)
	if l.FamiliarFor == 0 {
		l.FamiliarFor = 30 * 24 * time.Hour
	}
	l.SignupAddress = l.SignupAddress.orDefault(20, 6*time.Second)
	return l
}

func (l Limits) validate() error {
	for _, r := range []struct {
		name string
		rate Rate
	}{
		{"LoginUserAddress", l.LoginUserAddress}, {"LoginUser", l.LoginUser}, {"LoginAddress", l.LoginAddress},
		{"SignupAddress", l.SignupAddress},
	} {
		if !r.rate.valid() {
			return fmt.Errorf("Config.Limits.%s must have a positive Burst and Interval", r.name)
		}
	}
	if l.FamiliarFor < 0 {
		return errors.New("Config.Limits.FamiliarFor must not be negative")
	}
	return nil
}

// Kinds of budget: what a LimitKey's ID is the digest of.
const (
	kindLoginAddress     = "login-address"
	kindLoginUserAddress = "login-user-address"
	kindLoginUser        = "login-user"
	kindSignupAddress    = "signup-address"
)

// limitID is the ID of the budget for values (a normalised username, a
// client address, ...) under kind: the first 16 bytes of a
// domain-separated SHA-256, each value ended by a NUL (which none holds).
func limitID(kind string, values ...string) [16]byte {
	h := sha256.New()
	h.Write([]byte("goauthkit limit v1\x00"))
	h.Write([]byte(kind))
	for _, v := range values {
		h.Write([]byte{0})
		h.Write([]byte(v))
	}
	var id [16]byte
	copy(id[:], h.Sum(nil))
	return id
}

func (r Rate) key(forgive bool, kind string, values ...string) LimitKey {
	return LimitKey{ID: limitID(kind, values...), Burst: r.Burst, Interval: r.Interval, Forgive: forgive}
}

// familiarID is the digest a Limiter remembers of a client (kind "address"
// or "device", and its value) familiar to the account userID: an HMAC
// under the Authenticator's familiarity secret, so that it cannot be
// reversed by trying every address.
func (a *Authenticator) familiarID(kind, userID, value string) [16]byte {
	m := hmac.New(sha256.New, a.familiarKey)
	for _, v := range [...]string{kind, userID, value} {
		m.Write([]byte(v))
		m.Write([]byte{0})
	}
	var id [16]byte
	copy(id[:], m.Sum(nil))
	return id
}

// familiarSecret derives the key of familiarID from the active signing key:
// its deterministic signature of a fixed text, which only a holder of the
// key can make. Instances that share the signing key share it; a restart
// with another active key forgets which clients were familiar (they become
// familiar again at their next sign-in).
func familiarSecret(k *Key) ([]byte, error) {
	sig, err := k.signature("goauthkit familiar clients v1", true)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sig)
	return sum[:], nil
}

// minDeviceBytes and maxDeviceBytes bound a device value
// (Credentials.Device).
const (
	minDeviceBytes = 22
	maxDeviceBytes = 64
)

// validDevice reports whether s can be a device value: 22 to 64
// characters of A-Z a-z 0-9 - _ (128 bits or more of base64url).
func validDevice(s string) bool {
	return len(s) >= minDeviceBytes && len(s) <= maxDeviceBytes && isBase64URL(s)
}

// isBase64URL reports whether s holds only A-Z a-z 0-9 - _.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// reservations settles several reservations as one.
type reservations []Reservation

func (rs reservations) Settle(o Outcome) {
	for _, r := range rs {
		r.Settle(o)
	}
}

// guess is a password check being limited: the name it is made for (the
// normalised login name), the client's address and device value.
type guess struct {
	name, addr, device string
}

// limitGuess reserves a password check of g.name from g.addr, before the
// account is looked up: the address's budget, then the name's from that
// address. The caller settles the reservation.
func (a *Authenticator) limitGuess(ctx context.Context, g guess) (Reservation, error) {
	pair := a.limits.LoginUserAddress.key(true, kindLoginUserAddress, g.name, g.addr)
	if g.addr == "" {
		return a.limiter.Reserve(ctx, pair)
	}
	return a.limiter.Reserve(ctx, a.limits.LoginAddress.key(false, kindLoginAddress, g.addr), pair)
}

// limitAccount reserves the rest of a password check, once the account is
// known (u, nil when none has the name): the account's username from the
// address when the name was its email, and, for a client unfamiliar to the
// account, the username over all addresses. The same work is done for an
// unknown name (against a digest nobody remembers), so that the cost tells
// nothing. It returns a Reservation to settle with the first one's
// outcome (nil when nothing was reserved).
func (a *Authenticator) limitAccount(ctx context.Context, g guess, u *User) (Reservation, error) {
	var held reservations
	fail := func(err error) (Reservation, error) {
		held.Settle(AttemptCancelled)
		return nil, err
	}
	account, userID := g.name, ""
	if u != nil {
		account, userID = u.Username, u.ID
	}
	if account != g.name {
		r, err := a.limiter.Reserve(ctx, a.limits.LoginUserAddress.key(true, kindLoginUserAddress, account, g.addr))
		if err != nil {
			return fail(err)
		}
		held = append(held, r)
	}
	familiar, err := a.limiter.Familiar(ctx, a.clientIDs(userID, g.addr, g.device)...)
	if err != nil {
		return fail(err)
	}
	if !familiar || u == nil {
		r, err := a.limiter.Reserve(ctx, a.limits.LoginUser.key(false, kindLoginUser, account))
		if err != nil {
			return fail(err)
		}
		held = append(held, r)
	}
	return held, nil
}

// clientIDs are the digests a Limiter remembers of a client familiar to
// the account userID: its address's (when known) and its device value's
// (when valid).
func (a *Authenticator) clientIDs(userID, addr, device string) [][16]byte {
	ids := make([][16]byte, 0, 2)
	if addr != "" {
		ids = append(ids, a.familiarID("address", userID, addr))
	}
	if validDevice(device) {
		ids = append(ids, a.familiarID("device", userID, device))
	}
	return ids
}

// rememberClient makes the client (address, device value) familiar to u
// for Limits.FamiliarFor, best effort: a limiter that fails only means the
// client is not remembered.
func (a *Authenticator) rememberClient(ctx context.Context, u *User, addr, device string) {
	if ids := a.clientIDs(u.ID, addr, device); len(ids) > 0 {
		_ = a.limiter.Remember(ctx, a.limits.FamiliarFor, ids...)
	}
}
