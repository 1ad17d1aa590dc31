package sqlite

import (
	"context"
	"database/sql"
)

// The statements, prepared once by Open. database/sql prepares each on a
// connection the first time it runs there and keeps it, so the hot paths
// (UserByID, RotateSession) never parse SQL: preparing was two thirds of
// the cost of a UserByID.
const (
	userColumns = `id, username, email, email_verified, password_hash, disabled, roles, token_version, created_at, updated_at, tokens_ended_at`

	// Reader statements.
	qUserByID       = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	qUserByUsername = `SELECT ` + userColumns + ` FROM users WHERE username = ?`
	qUserByEmail    = `SELECT ` + userColumns + ` FROM users WHERE email = ? AND email != ''`
	qListUsers      = `SELECT ` + userColumns + ` FROM users WHERE id > ? ORDER BY id LIMIT ?`
	qUserSessions   = `SELECT id, user_version, created_at, rotated_at, expires_at, user_agent, client_addr
		FROM sessions WHERE user_id = ? AND revoked = 0 AND expires_at > ?
		ORDER BY created_at DESC, id DESC`
	qLinkToken = `SELECT user_id, purpose, email, user_version, created_at, expires_at FROM link_tokens WHERE hash = ?`
	// The user, and whether the session is revoked (NULL: no such session
	// of this user).
	qUserBySession = `SELECT ` + userColumns + `,
		(SELECT revoked FROM sessions WHERE id = ? AND user_id = users.id)
		FROM users WHERE id = ?`

	// Writer statements.
	qCreateUser = `INSERT INTO users
		(id, username, email, email_verified, password_hash, disabled, roles, token_version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// Login names are one space (auth.UserStore.CreateUser): whether a
	// new user's username (?1) is any user's username or email, and
	// whether its email (?2, maybe empty) is any user's email or username.
	qNamesTaken = `SELECT
		EXISTS (SELECT 1 FROM users WHERE username = ?1 OR (email = ?1 AND email != '')),
		EXISTS (SELECT 1 FROM users WHERE ?2 != '' AND (email = ?2 OR username = ?2))`
	// ChangeUser: each field set only when given (NULL: kept); with a
	// logout (?3 = 1), tokens_ended_at is the time (?4), unless later.
	qChangeUser = `UPDATE users
		SET disabled = coalesce(?1, disabled), roles = coalesce(?2, roles),
			token_version = token_version + ?3, updated_at = ?4,
			tokens_ended_at = IIF(?3, max(coalesce(tokens_ended_at, ?4), ?4), tokens_ended_at)
		WHERE id = ?5`
	// Whether an enabled user other than ?1 holds the role ?2.
	qOtherHolder = `SELECT EXISTS (SELECT 1 FROM users
		WHERE id != ?1 AND disabled = 0 AND EXISTS (SELECT 1 FROM json_each(users.roles) WHERE value = ?2))`
	qPasswordHash    = `SELECT password_hash FROM users WHERE id = ?`
	qSetPasswordHash = `UPDATE users
		SET password_hash = ?1, token_version = token_version + ?2, updated_at = ?3,
			tokens_ended_at = IIF(?2, max(coalesce(tokens_ended_at, ?3), ?3), tokens_ended_at)
		WHERE id = ?4`
	qBumpTokenVersion = `UPDATE users
		SET token_version = token_version + 1, updated_at = ?1, tokens_ended_at = max(coalesce(tokens_ended_at, ?1), ?1)
		WHERE id = ?2`
	qRevokeUserSessions = `UPDATE sessions SET revoked = 1 WHERE user_id = ? AND revoked = 0`
	qDeleteUser         = `DELETE FROM users WHERE id = ?`
	qCreateSession      = `INSERT INTO sessions
		(id, user_id, token_hash, user_version, created_at, expires_at, user_agent, client_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qSession = `SELECT user_id, token_hash, prev_hash, rotated_at, user_version,
		created_at, expires_at, revoked, user_agent, client_addr FROM sessions WHERE id = ?`
	// The presented token was the current one: it becomes the previous one.
	qRotateCurrent = `UPDATE sessions
		SET prev_hash = token_hash, rotated_at = ?, token_hash = ?, expires_at = ?
		WHERE id = ?`
	qRevokeSession = `UPDATE sessions SET revoked = 1 WHERE id = ?`
	// How many live sessions the user has: TrimSessions writes only past
	// its keep.
	qLiveSessions = `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = ?1 AND s.revoked = 0 AND s.expires_at > ?2 AND s.user_version = u.token_version`
	// The user's live sessions but the ?3 most recently used, revoked.
	qTrimSessions = `UPDATE sessions SET revoked = 1 WHERE id IN (
		SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = ?1 AND s.revoked = 0 AND s.expires_at > ?2 AND s.user_version = u.token_version
		ORDER BY coalesce(s.rotated_at, s.created_at) DESC, s.created_at DESC, s.id DESC
		LIMIT -1 OFFSET ?3)
		RETURNING id`

	// Link tokens: a new one replaces the user's others of its purpose
	// (and expired ones go as they pass).
	qDeleteLinkTokens = `DELETE FROM link_tokens WHERE (user_id = ? AND purpose = ?) OR expires_at <= ?`
	qCreateLinkToken  = `INSERT INTO link_tokens (hash, user_id, purpose, email, user_version, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	// The token to redeem, and whether it is alive (see
	// recovery.LinkStore.RedeemLinkToken).
	qRedeemable = `SELECT t.user_id, t.email,
		u.disabled = 0 AND u.token_version = t.user_version AND (t.purpose != 'reset_password' OR u.email = t.email)
		FROM link_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = ? AND t.purpose = ? AND t.expires_at > ?`
	qDeleteLinkToken = `DELETE FROM link_tokens WHERE hash = ?`
	// Whether an address is another user's email or username.
	qAddressTaken = `SELECT EXISTS (SELECT 1 FROM users WHERE id != ?1 AND ((email = ?2 AND email != '') OR username = ?2))`
	qSetEmail     = `UPDATE users SET email = ?, email_verified = 1, updated_at = ? WHERE id = ?`
	qReset        = `UPDATE users
		SET password_hash = ?1, token_version = token_version + 1, email_verified = 1, updated_at = ?2,
			tokens_ended_at = max(coalesce(tokens_ended_at, ?2), ?2)
		WHERE id = ?3`
	qDeleteUserLinkTokens = `DELETE FROM link_tokens WHERE user_id = ?`

	// Second factors (mfastore.Store). A pending enrolment replaces a
	// pending one, never a confirmed one (no row changed).
	qPutPendingTOTP = `INSERT INTO mfa_totp (user_id, id, sealed, confirmed, last_step, created_at)
		VALUES (?1, ?2, ?3, 0, 0, ?4)
		ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, sealed = excluded.sealed, created_at = excluded.created_at
		WHERE confirmed = 0`
	qTOTP          = `SELECT id, sealed, confirmed, last_step, created_at FROM mfa_totp WHERE user_id = ?`
	qConfirmedTOTP = `SELECT EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = ? AND id = ? AND confirmed = 1)`
	qConfirmTOTP   = `UPDATE mfa_totp SET confirmed = 1, last_step = ?3 WHERE user_id = ?1 AND id = ?2 AND confirmed = 0`
	// The compare-and-set of the last step: one statement.
	qAdvanceTOTP         = `UPDATE mfa_totp SET last_step = ?3 WHERE user_id = ?1 AND id = ?2 AND confirmed = 1 AND last_step < ?3`
	qDeleteTOTP          = `DELETE FROM mfa_totp WHERE user_id = ?` // and the codes, ON DELETE CASCADE
	qDeleteRecoveryCodes = `DELETE FROM mfa_recovery_codes WHERE user_id = ?`
	qAddRecoveryCode     = `INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES (?, ?) ON CONFLICT DO NOTHING`
	qUseRecoveryCode     = `DELETE FROM mfa_recovery_codes WHERE user_id = ? AND code_hash = ?`
	qRecoveryCodesLeft   = `SELECT count(*) FROM mfa_recovery_codes WHERE user_id = ?`
	qDeleteOldChallenges = `DELETE FROM mfa_challenges WHERE expires_at < ?`
	qCreateChallenge     = `INSERT INTO mfa_challenges (id, user_id, methods, user_version, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`
	qChallenge      = `SELECT user_id, methods, user_version, created_at, expires_at FROM mfa_challenges WHERE id = ?`
	qSpendChallenge = `DELETE FROM mfa_challenges WHERE id = ?`

	// Passkeys (passkeystore.Store).
	credentialColumns = `id, user_id, name, public_key, sign_count, backup_eligible, backup_state, aaguid, transports, created_at, last_used_at`
	qUserHandle       = `SELECT handle FROM passkey_user_handles WHERE user_id = ?`
	qAddUserHandle    = `INSERT INTO passkey_user_handles (user_id, handle) VALUES (?, ?)`
	qAddCredential    = `INSERT INTO passkey_credentials (` + credentialColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qCredential       = `SELECT ` + credentialColumns + ` FROM passkey_credentials WHERE id = ?`
	qCredentials      = `SELECT ` + credentialColumns + ` FROM passkey_credentials WHERE user_id = ? ORDER BY created_at, id`
	qCredentialExists = `SELECT EXISTS (SELECT 1 FROM passkey_credentials WHERE id = ?)`
	// The compare-and-set of the sign count: one statement.
	qUseCredential = `UPDATE passkey_credentials SET sign_count = ?3, backup_eligible = ?4, backup_state = ?5, last_used_at = ?6
		WHERE id = ?1 AND sign_count = ?2`
	qRenameCredential = `UPDATE passkey_credentials SET name = ?3 WHERE id = ?1 AND user_id = ?2 RETURNING ` + credentialColumns
	// The user's credential, unless (with keepLast, ?3) it is the user's
	// last way in: the only credential of a user without an identity. The
	// count and the deletion are one statement.
	qDeleteCredential = `DELETE FROM passkey_credentials WHERE id = ?1 AND user_id = ?2
		AND (NOT ?3 OR (SELECT count(*) FROM passkey_credentials WHERE user_id = ?2) > 1
			OR EXISTS (SELECT 1 FROM identities WHERE user_id = ?2))`
	qUserCredentialExists = `SELECT EXISTS (SELECT 1 FROM passkey_credentials WHERE id = ? AND user_id = ?)`
	qDeleteOldCeremonies  = `DELETE FROM passkey_ceremonies WHERE expires_at < ?`
	qCreateCeremony       = `INSERT INTO passkey_ceremonies (id, kind, user_id, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`
	// A ceremony is taken once: one DELETE, which of calls at once only
	// one makes.
	qTakeCeremony = `DELETE FROM passkey_ceremonies WHERE id = ? RETURNING kind, user_id, data, created_at, expires_at`

	// Linked identities (identitystore.Store).
	identityColumns = `user_id, provider, issuer, subject, email, linked_at`
	qIdentity       = `SELECT ` + identityColumns + ` FROM identities WHERE issuer = ? AND subject = ?`
	qIdentities     = `SELECT ` + identityColumns + ` FROM identities WHERE user_id = ? ORDER BY linked_at, provider`
	qLinkIdentity   = `INSERT INTO identities (` + identityColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	// The user's identity at a provider, unless (with keepLast, ?3) it is
	// the user's last way in: the only identity of a user without a
	// passkey. The count and the deletion are one statement.
	qUnlinkIdentity = `DELETE FROM identities WHERE user_id = ?1 AND provider = ?2
		AND (NOT ?3 OR (SELECT count(*) FROM identities WHERE user_id = ?1) > 1
			OR EXISTS (SELECT 1 FROM passkey_credentials WHERE user_id = ?1))`
	qIdentityExists = `SELECT EXISTS (SELECT 1 FROM identities WHERE user_id = ? AND provider = ?)`
	qAccountLinked  = `SELECT EXISTS (SELECT 1 FROM identities WHERE issuer = ? AND subject = ?)`
	// ReclaimAccount: the user's email and whether it is verified, then
	// every way in of the user removed, and every login ended as
	// qBumpTokenVersion ends them (with qRevokeUserSessions).
	qUserEmail            = `SELECT email, email_verified FROM users WHERE id = ?`
	qDeleteUserIdentities = `DELETE FROM identities WHERE user_id = ?`
	qDeleteUserAttempts   = `DELETE FROM identity_attempts WHERE user_id = ?`
	qDeleteUserHandle     = `DELETE FROM passkey_user_handles WHERE user_id = ?` // and the credentials, ON DELETE CASCADE
	qDeleteUserCeremonies = `DELETE FROM passkey_ceremonies WHERE user_id = ?`
	qDeleteUserChallenges = `DELETE FROM mfa_challenges WHERE user_id = ?`
	qReclaimUser          = `UPDATE users
		SET password_hash = '', email_verified = 1, token_version = token_version + 1, updated_at = ?1,
			tokens_ended_at = max(coalesce(tokens_ended_at, ?1), ?1)
		WHERE id = ?2`
	qDeleteOldAttempts = `DELETE FROM identity_attempts WHERE expires_at < ?`
	qCreateAttempt     = `INSERT INTO identity_attempts (id, binding, provider, user_id, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	// An attempt is taken once: one DELETE, which of calls at once only
	// one makes.
	qTakeAttempt = `DELETE FROM identity_attempts WHERE id = ? RETURNING binding, provider, user_id, data, created_at, expires_at`
)

var (
	readerQueries = []string{qLiveSessions, qUserByID, qUserByUsername, qUserByEmail, qUserBySession, qLinkToken, qListUsers, qUserSessions,
		qTOTP, qConfirmedTOTP, qRecoveryCodesLeft, qChallenge,
		qUserHandle, qCredential, qCredentials, qCredentialExists,
		qIdentity, qIdentities}
	writerQueries = []string{
		qCreateUser, qNamesTaken, qChangeUser, qOtherHolder, qUserByID, qPasswordHash, qSetPasswordHash, qBumpTokenVersion,
		qRevokeUserSessions, qDeleteUser, qCreateSession, qSession, qRotateCurrent,
		qRevokeSession, qTrimSessions, qDeleteLinkTokens, qCreateLinkToken, qRedeemable, qDeleteLinkToken, qAddressTaken, qSetEmail, qReset,
		qDeleteUserLinkTokens,
		qPutPendingTOTP, qConfirmedTOTP, qConfirmTOTP, qAdvanceTOTP, qDeleteTOTP, qDeleteRecoveryCodes, qAddRecoveryCode,
		qUseRecoveryCode, qDeleteOldChallenges, qCreateChallenge, qSpendChallenge,
		qUserHandle, qAddUserHandle, qAddCredential, qUseCredential, qRenameCredential, qDeleteCredential, qUserCredentialExists,
		qDeleteOldCeremonies, qCreateCeremony, qTakeCeremony,
		qLinkIdentity, qUnlinkIdentity, qIdentityExists, qAccountLinked, qUserEmail, qDeleteUserIdentities, qDeleteUserAttempts,
		qDeleteUserHandle, qDeleteUserCeremonies, qDeleteUserChallenges, qReclaimUser, qDeleteOldAttempts, qCreateAttempt,
		qTakeAttempt,
	}
)

// prepare prepares queries on db. The map is never written after Open, so
// it needs no lock.
func prepare(ctx context.Context, db *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	m := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		m[q] = st
	}
	return m, nil
}
