package recovery

import (
	"context"
	"time"

	"github.com/goauthkit/auth"
)

// LinkPurpose is what a mailed link is for. A link of one purpose never
// does what another's does.
type LinkPurpose string

// Link purposes.
const (
	// LinkVerifyEmail proves an address: redeemed, it makes the token's
	// Email the account's email, verified (for a new account's address,
	// and for a change of address alike).
	LinkVerifyEmail LinkPurpose = "verify_email"
	// LinkResetPassword replaces a forgotten password.
	LinkResetPassword LinkPurpose = "reset_password"
)

// LinkToken is what a store keeps of a token mailed in a link: never the
// token itself, only its SHA-256.
type LinkToken struct {
	Hash    []byte // SHA-256 of the token
	UserID  string
	Purpose LinkPurpose
	// Email is the address the link was mailed to: the one it verifies,
	// and the one a reset link needs the account still to have.
	Email string
	// UserVersion is the user's TokenVersion when the link was made: the
	// link works only while it is still the user's, so that it dies with
	// every password change or reset, every logout-all and every
	// disabling.
	UserVersion int64
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Redemption asks a store to spend a link token and make its change, in one
// atomic operation.
type Redemption struct {
	Hash    []byte // SHA-256 of the token presented
	Purpose LinkPurpose
	Now     time.Time
	// NewPasswordHash, for LinkResetPassword, is the password hash to set.
	NewPasswordHash string
}

// LinkStore is the store capability of account recovery, which an
// auth.Store implements if it can: it keeps the single-use tokens of
// mailed links (email verification, password reset, email change). New
// refuses an Authenticator whose Store is not one. It is in the same backend as the users, so that
// a redemption and its change of the user are one atomic operation.
// Implementations must be safe for concurrent use, and redeem atomically:
// of concurrent redemptions of one token, exactly one succeeds. It follows
// auth.UserStore's error contract.
type LinkStore interface {
	// CreateLinkToken stores t and deletes every other token of the same
	// user and purpose, so that the newest link is the only one that
	// works. It returns auth.ErrNotFound if the user does not exist.
	CreateLinkToken(ctx context.Context, t *LinkToken) error
	// LinkToken returns the token with this hash, or auth.ErrNotFound.
	LinkToken(ctx context.Context, hash []byte) (*LinkToken, error)
	// RedeemLinkToken spends the token with r.Hash, if it has r.Purpose,
	// has not expired at r.Now and is alive, and makes its change, all or
	// nothing. A token is alive while its user is not disabled, the user's
	// TokenVersion is still the token's UserVersion and, for
	// LinkResetPassword, the user's Email is still the token's; a token
	// found dead is deleted. The change:
	//
	//   - LinkVerifyEmail: the user's Email becomes the token's, with
	//     EmailVerified set; auth.ErrEmailExists (and no change: the token stays)
	//     if that address is another user's email or username.
	//   - LinkResetPassword: the password hash becomes r.NewPasswordHash,
	//     the token version is incremented (TokensEndedAt becomes r.Now),
	//     every refresh session of the user revoked and EmailVerified set.
	//
	// Either way every link token of the user is deleted with it. It
	// returns the updated user, or auth.ErrNotFound for a token that is unknown,
	// spent, expired, of another purpose or dead.
	RedeemLinkToken(ctx context.Context, r Redemption) (*auth.User, error)
}
