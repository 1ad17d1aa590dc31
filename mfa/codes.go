package mfa

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"

	"github.com/goauthkit/auth"
)

// Recovery codes: 10 to a set, each 12 characters of lower-case base32
// (60 bits), shown as xxxx-xxxx-xxxx and compared without regard to case,
// spaces or dashes. The store keeps only HMAC-SHA-256 of each under a key
// derived from Config.Key, bound to the user.
const (
	recoveryCodes    = 10
	recoveryCodeLen  = 12 // characters of base32: 60 bits
	recoveryGroupLen = 4
)

// lowerB32 is the alphabet of recovery codes: RFC 4648's base32 in lower
// case (no 0, 1, 8 or 9, so no 0/o or 1/l to confuse).
var lowerB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCodes returns a new set of recovery codes for userID, as
// shown to the user, and their hashes, as stored.
func (m *MFA) newRecoveryCodes(userID string) (codes []string, hashes [][]byte) {
	for range recoveryCodes {
		raw := make([]byte, 8) // 64 bits, of which the first 60 make the code
		_, _ = rand.Read(raw)  // crypto/rand never fails (Go 1.24+)
		c := lowerB32.EncodeToString(raw)[:recoveryCodeLen]
		codes = append(codes, c[:4]+"-"+c[4:8]+"-"+c[8:])
		hashes = append(hashes, m.recoveryHash(userID, c))
	}
	return codes, hashes
}

// normalizeRecoveryCode returns code without spaces or dashes, in lower
// case, or "" if that is not a recovery code's form.
func normalizeRecoveryCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c == ' ' || c == '-' || c == '\t':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case 'a' <= c && c <= 'z' || '2' <= c && c <= '7':
			b.WriteByte(c)
		default:
			return ""
		}
	}
	if b.Len() != recoveryCodeLen {
		return ""
	}
	return b.String()
}

// recoveryHash is what the store keeps of a normalised recovery code.
func (m *MFA) recoveryHash(userID, normalized string) []byte {
	h := hmac.New(sha256.New, m.codeKey)
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(normalized))
	return h.Sum(nil)
}

// RegenerateRecoveryCodes replaces o.User's recovery codes with a new
// set, shown this once, once o is confirmed as the account's owner: the
// earlier codes stop working. It returns ErrNotEnabled if the user's
// authenticator app is not on, the owner's confirmation's errors, or a
// store error. (Package mfahttp also requires a login with a second
// factor, as the HTTP contract does.)
func (m *MFA) RegenerateRecoveryCodes(ctx context.Context, o Owner) ([]string, error) {
	if err := m.confirm(ctx, o); err != nil {
		return nil, err
	}
	t, err := m.store.TOTP(ctx, o.User.ID)
	switch {
	case errors.Is(err, auth.ErrNotFound) || err == nil && !t.Confirmed:
		return nil, ErrNotEnabled
	case err != nil:
		return nil, err
	}
	codes, hashes := m.newRecoveryCodes(o.User.ID)
	if err := m.store.ReplaceRecoveryCodes(ctx, o.User.ID, t.ID, hashes); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return nil, ErrNotEnabled
		}
		return nil, err
	}
	m.emit(ctx, EventRecoveryCodesGenerated, o.User, o.Client, "")
	return codes, nil
}
