package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters of the HTTP contract, which every authenticator app
// understands: RFC 6238's defaults.
const (
	period     = 30 // seconds per step
	digits     = 6
	secretSize = 20 // bytes: 160 bits, RFC 4226's recommendation
	qrSize     = 256
)

// b32 is the secret's encoding in the otpauth URI: upper-case base32
// without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrolment is a new authenticator-app secret, pending until Confirm: what
// the user scans or types into the app. It is shown once.
type Enrolment struct {
	// Secret is the secret, upper-case base32 without padding (32
	// characters), for typing into the app.
	Secret string
	// URI is the otpauth:// URI of the secret (the Key URI Format of
	// Google Authenticator): otpauth://totp/ISSUER:USERNAME?secret=…&
	// issuer=…&algorithm=SHA1&digits=6&period=30, the label and the
	// values percent-encoded as RFC 3986 requires.
	URI string
	// QRCode is URI as a QR code: a PNG image, as a data: URL.
	QRCode string
}

// Enrol makes a new secret for o.User, pending until Confirm (a newer
// Enrol replaces a pending one), once o is confirmed as the account's
// owner. It returns ErrEnabled if the user's authenticator app is on
// already; auth.ErrInvalidCredentials, auth.ErrRecentLoginRequired or a
// *auth.RateLimitError from the owner's confirmation; or a store error.
func (m *MFA) Enrol(ctx context.Context, o Owner) (*Enrolment, error) {
	if err := m.confirm(ctx, o); err != nil {
		return nil, err
	}
	u := o.User
	if t, err := m.store.TOTP(ctx, u.ID); err == nil && t.Confirmed {
		return nil, ErrEnabled
	} else if err != nil && !errors.Is(err, auth.ErrNotFound) {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: m.issuer, AccountName: u.Username, SecretSize: secretSize})
	if err != nil {
		return nil, fmt.Errorf("mfa: generating a secret: %w", err)
	}
	secret, err := b32.DecodeString(key.Secret())
	if err != nil || len(secret) != secretSize {
		return nil, fmt.Errorf("mfa: generating a secret: %d bytes, %v", len(secret), err)
	}
	t := &mfastore.TOTP{UserID: u.ID, ID: rand.Text(), CreatedAt: m.a.Now()}
	if t.Sealed, err = m.seal(u.ID, t.ID, secret); err != nil {
		return nil, err
	}
	if err := m.store.PutPendingTOTP(ctx, t); err != nil {
		if errors.Is(err, auth.ErrConflict) {
			return nil, ErrEnabled
		}
		return nil, err
	}
	e := &Enrolment{Secret: b32.EncodeToString(secret), URI: keyURI(m.issuer, u.Username, secret)}
	if e.QRCode, err = qrCode(e.URI); err != nil {
		return nil, err
	}
	return e, nil
}

// keyURI is the otpauth URI of secret, in the order and the encoding of
// the HTTP contract (pquerna/otp orders the parameters by name, and
// leaves '&', '=' and '+' of an issuer unescaped).
func keyURI(issuer, username string, secret []byte) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	b.WriteString(escape(issuer))
	b.WriteByte(':')
	b.WriteString(escape(username))
	b.WriteString("?secret=")
	b.WriteString(b32.EncodeToString(secret))
	b.WriteString("&issuer=")
	b.WriteString(escape(issuer))
	fmt.Fprintf(&b, "&algorithm=SHA1&digits=%d&period=%d", digits, period)
	return b.String()
}

// escape percent-encodes every byte of s but RFC 3986's unreserved
// characters (A-Z a-z 0-9 - . _ ~), upper-case hexadecimal.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// qrCode returns uri as a QR code (pquerna/otp's, which boombuler/barcode
// draws), a PNG as a data: URL.
func qrCode(uri string) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", fmt.Errorf("mfa: the QR code: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return "", fmt.Errorf("mfa: the QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("mfa: the QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// Confirm turns o.User's pending enrolment on once code is right for it,
// ends every other login of the user (auth.Authenticator.EndOtherLogins:
// they were made when a password alone was enough; o.Claims.SessionID
// goes on), and returns a new set of recovery codes, shown this once. The
// code's step is the first accepted: that code, and codes of earlier
// steps, never sign in.
//
// It returns ErrNothingToConfirm without a pending enrolment (also right
// after a confirmation), ErrInvalidCode for a wrong code (the enrolment
// stays pending), or a store error. The caller's access token stands for
// the owner here: the code proves the app holds the secret that Enrol
// showed to the owner.
func (m *MFA) Confirm(ctx context.Context, o Owner, code string) ([]string, error) {
	u := o.User
	if u == nil {
		return nil, errors.New("mfa: Owner.User is required")
	}
	t, err := m.store.TOTP(ctx, u.ID)
	switch {
	case errors.Is(err, auth.ErrNotFound) || err == nil && t.Confirmed:
		return nil, ErrNothingToConfirm
	case err != nil:
		return nil, err
	}
	step, err := m.match(t, code)
	if err != nil {
		m.emit(ctx, EventFailed, u, o.Client, "totp")
		return nil, err
	}
	codes, hashes := m.newRecoveryCodes(u.ID)
	if err := m.store.ConfirmTOTP(ctx, u.ID, t.ID, step, hashes); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return nil, ErrNothingToConfirm
		}
		return nil, err
	}
	keep := ""
	if o.Claims != nil {
		keep = o.Claims.SessionID
	}
	if err := m.a.EndOtherLogins(ctx, u.ID, keep); err != nil {
		return nil, err
	}
	m.emit(ctx, EventTOTPEnabled, u, o.Client, "")
	m.emit(ctx, EventRecoveryCodesGenerated, u, o.Client, "")
	return codes, nil
}

// Disable turns o.User's authenticator app off, its recovery codes with
// it, once o is confirmed as the account's owner. It returns
// ErrNotEnabled if it is not on, the owner's confirmation's errors, or a
// store error. (Package mfahttp also requires a login with a second
// factor, as the HTTP contract does.)
func (m *MFA) Disable(ctx context.Context, o Owner) error {
	if err := m.confirm(ctx, o); err != nil {
		return err
	}
	if err := m.enabled(ctx, o.User.ID); err != nil {
		return err
	}
	if err := m.store.DeleteTOTP(ctx, o.User.ID); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return ErrNotEnabled
		}
		return err
	}
	m.emit(ctx, EventTOTPDisabled, o.User, o.Client, "")
	return nil
}

// Reset takes a user's second factor away for an administrator (a user
// who lost the device and the recovery codes): the enrolment and the
// recovery codes go, and every login of the user ends, as LogoutAll ends
// them. actor names who resets it, for the event (an administrator's user
// id, or a tool and who runs it). It returns auth.ErrNotFound for an
// unknown user; a user without a second factor is not an error.
func (m *MFA) Reset(ctx context.Context, userID, actor string, c auth.Client) error {
	if actor == "" {
		return errors.New("mfa: Reset needs an actor")
	}
	u, err := m.a.Store().UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := m.store.DeleteTOTP(ctx, u.ID); err != nil && !errors.Is(err, auth.ErrNotFound) {
		return err
	}
	if err := m.a.LogoutAll(ctx, c, u.ID); err != nil {
		return err
	}
	m.a.Emit(ctx, auth.Event{Type: EventReset, UserID: u.ID, Username: u.Username, Actor: actor, ClientAddr: c.Addr})
	return nil
}

// enabled returns ErrNotEnabled unless the user's authenticator app is on.
func (m *MFA) enabled(ctx context.Context, userID string) error {
	t, err := m.store.TOTP(ctx, userID)
	switch {
	case errors.Is(err, auth.ErrNotFound) || err == nil && !t.Confirmed:
		return ErrNotEnabled
	case err != nil:
		return err
	}
	return nil
}

// match returns the step, after t.LastStep, among the previous, the
// current and the next of now whose code is code; ErrInvalidCode if none
// is. Every step's code is computed and compared in constant time.
func (m *MFA) match(t *mfastore.TOTP, code string) (int64, error) {
	if !wellFormedOTP(code) {
		return 0, ErrInvalidCode
	}
	secret, err := m.open(t)
	if err != nil {
		return 0, err
	}
	now := m.a.Now().Unix() / period
	var found int64
	for step := now - 1; step <= now+1; step++ {
		want, err := codeAt(secret, step)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > t.LastStep && found == 0 {
			found = step
		}
	}
	if found == 0 {
		return 0, ErrInvalidCode
	}
	return found, nil
}

// codeAt returns the code of step for secret: HOTP (RFC 4226) of the step
// as its counter, 6 digits, HMAC-SHA-1, computed by pquerna/otp.
func codeAt(secret []byte, step int64) (string, error) {
	if step < 0 {
		return "", errors.New("mfa: a step before 1970")
	}
	code, err := hotp.GenerateCodeCustom(b32.EncodeToString(secret), uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("mfa: computing a code: %w", err)
	}
	return code, nil
}

// wellFormedOTP reports whether code is 6 ASCII digits.
func wellFormedOTP(code string) bool {
	if len(code) != digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// sealVersion is the first byte of a sealed secret: the format below.
const sealVersion = 1

// seal encrypts secret for the enrolment id of userID: version, nonce,
// then AES-256-GCM's ciphertext and tag, with the user and the enrolment
// as additional data (a sealed secret copied to another user's row does
// not open).
func (m *MFA) seal(userID, id string, secret []byte) ([]byte, error) {
	nonce := make([]byte, m.aead.NonceSize(), 1+m.aead.NonceSize()+len(secret)+m.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return m.aead.Seal(out, nonce, secret, sealedData(userID, id)), nil
}

// open decrypts t's secret.
func (m *MFA) open(t *mfastore.TOTP) ([]byte, error) {
	n := m.aead.NonceSize()
	if len(t.Sealed) < 1+n+m.aead.Overhead() || t.Sealed[0] != sealVersion {
		return nil, errSealed
	}
	secret, err := m.aead.Open(nil, t.Sealed[1:1+n], t.Sealed[1+n:], sealedData(t.UserID, t.ID))
	if err != nil {
		return nil, errSealed
	}
	return secret, nil
}

// errSealed is a sealed secret that does not open: another key's
// (Config.Key changed), or altered in the store.
var errSealed = errors.New("mfa: a stored TOTP secret does not open under Config.Key")

// sealedData is the additional data of a sealed secret.
func sealedData(userID, id string) []byte {
	return []byte("goauthkit mfa totp v1\x00" + userID + "\x00" + id)
}
