package postgres

import "strings"

// queries holds every statement, with the schema's tables filled in once at
// construction. pgx prepares and caches each on every connection.
type queries struct {
	createUser, userByID, userByUsername, userByEmail, userBySession, deleteUser string
	namesTaken, lockName, userForUpdate, changeUser, otherHolder                 string

	createLinkToken, linkToken, redeemable, deleteLinkToken, addressTaken, setEmail, reset, deleteUserLinks string
	revokeUserSessions                                                                                      string
	updatePasswordHash, updatePasswordHashLogout, invalidateTokens                                          string

	createSession, rotateSession, sessionExists, revokeSession, deleteExpired string
	userSessions, listUsers, trimSessions                                     string

	putPendingTOTP, totp, confirmTOTP, advanceTOTP, deleteTOTP, lockConfirmedTOTP string
	deleteRecoveryCodes, addRecoveryCodes, useRecoveryCode, recoveryCodesLeft     string
	createChallenge, challenge, spendChallenge                                    string

	userHandle, addUserHandle, insertUserHandle, addCredential, credential, credentials string
	useCredential, renameCredential, lockUser, deleteCredential                         string
	createCeremony, takeCeremony                                                        string

	identity, identities, linkIdentity, insertIdentity, unlinkIdentity string
	userEmailForUpdate, accountLinked, deleteUserIdentities, reclaim   string
	createAttempt, takeAttempt                                         string
}

// credentialColumns are the columns of a passkey credential, as
// scanCredential reads them.
const credentialColumns = `id, user_id, name, public_key, sign_count, backup_eligible, backup_state, aaguid, transports, created_at, last_used_at`

// identityColumns are the columns of a linked identity, as scanIdentity
// reads them.
const identityColumns = `user_id, provider, issuer, subject, email, linked_at`

const userColumns = `id, username, email, email_verified, password_hash, disabled, roles, token_version, created_at, updated_at, tokens_ended_at`

// userColumnsOf is userColumns qualified by the alias u.
const userColumnsOf = `u.id, u.username, u.email, u.email_verified, u.password_hash, u.disabled, u.roles, u.token_version, u.created_at, u.updated_at, u.tokens_ended_at`

// newUserColumns are the columns CreateUser writes (tokens_ended_at is
// the endings').
const newUserColumns = `id, username, email, email_verified, password_hash, disabled, roles, token_version, created_at, updated_at`

// Rotation outcome, from the row the UPDATE locked ($2 presented, $3 its
// successor, $6 grace enabled, $7 oldest rotation time still within
// grace). A graced token is the previous one, presented while its successor
// is current: the row stays as it is. Neither expression is ever NULL.
const (
	isCurrent = `(token_hash = $2)`
	isGraced  = `($6 AND prev_hash IS NOT NULL AND rotated_at IS NOT NULL AND prev_hash = $2 AND token_hash = $3 AND rotated_at >= $7)`
	isAllowed = `(` + isCurrent + ` OR ` + isGraced + `)`
)

func buildQueries(schema string) queries {
	users, sessions, links := ident(schema, "auth_users"), ident(schema, "auth_sessions"), ident(schema, "auth_link_tokens")
	r := strings.NewReplacer("{users}", users, "{sessions}", sessions, "{links}", links, "{trim}", ident(schema, "auth_trim_sessions"),
		"{totp}", ident(schema, "auth_mfa_totp"), "{codes}", ident(schema, "auth_mfa_recovery_codes"),
		"{challenges}", ident(schema, "auth_mfa_challenges"),
		"{handles}", ident(schema, "auth_passkey_user_handles"), "{credentials}", ident(schema, "auth_passkey_credentials"),
		"{ceremonies}", ident(schema, "auth_passkey_ceremonies"),
		"{identities}", ident(schema, "auth_identities"), "{attempts}", ident(schema, "auth_identity_attempts"))
	return queries{
		createUser: r.Replace(`INSERT INTO {users} (` + newUserColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`),
		userByID:       r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE id = $1`),
		userByUsername: r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE username = $1`),
		userByEmail:    r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE email = $1 AND email <> ''`),
		// The user, and whether the session is revoked (NULL: no such
		// session of this user), in one round trip.
		userBySession: r.Replace(`SELECT ` + userColumnsOf + `, s.revoked
FROM {users} u LEFT JOIN {sessions} s ON s.id = $2 AND s.user_id = u.id
WHERE u.id = $1`),
		deleteUser: r.Replace(`DELETE FROM {users} WHERE id = $1`),
		// Login names are one space (auth.UserStore.CreateUser): whether
		// the new username ($1) is a username or an email, and the new
		// email ($2, maybe empty) an email or a username.
		namesTaken: r.Replace(`SELECT
	EXISTS (SELECT 1 FROM {users} WHERE username = $1 OR (email = $1 AND email <> '')),
	EXISTS (SELECT 1 FROM {users} WHERE $2 <> '' AND (email = $2 OR username = $2))`),
		// A transaction-scoped lock on a login name (or on a role kept by
		// ChangeUser), per schema: the one-key advisory lock space, apart
		// from the limiter's two-key locks.
		lockName:      `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		userForUpdate: r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE id = $1 FOR UPDATE`),
		// With a logout ($4 = 1), tokens_ended_at becomes the time ($5)
		// unless it is later (GREATEST skips a NULL).
		changeUser: r.Replace(`UPDATE {users} SET
	disabled = coalesce($2, disabled), roles = coalesce($3, roles),
	token_version = token_version + $4, updated_at = $5,
	tokens_ended_at = CASE WHEN $4 > 0 THEN GREATEST(tokens_ended_at, $5) ELSE tokens_ended_at END
WHERE id = $1
RETURNING ` + userColumns),
		otherHolder: r.Replace(`SELECT EXISTS (SELECT 1 FROM {users} WHERE id <> $1 AND NOT disabled AND $2 = ANY (roles))`),

		// A new link token replaces the user's others of its purpose, and
		// expired tokens go as they pass, in one statement.
		createLinkToken: r.Replace(`WITH d AS (
	DELETE FROM {links} WHERE (user_id = $2 AND purpose = $3) OR expires_at <= $6
)
INSERT INTO {links} (hash, user_id, purpose, email, user_version, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`),
		linkToken: r.Replace(`SELECT user_id, purpose, email, user_version, created_at, expires_at FROM {links} WHERE hash = $1`),
		// The token to redeem and whether it is alive (see
		// recovery.LinkStore.RedeemLinkToken), with the token's and the user's
		// rows locked: concurrent redemptions of one token wait for each
		// other, and a change of the user made meanwhile is either before
		// (and seen here: a locked row is read again once its writer
		// commits) or after.
		redeemable: r.Replace(`SELECT t.user_id, t.email,
	NOT u.disabled AND u.token_version = t.user_version AND (t.purpose <> 'reset_password' OR u.email = t.email)
FROM {links} t JOIN {users} u ON u.id = t.user_id
WHERE t.hash = $1 AND t.purpose = $2 AND t.expires_at > $3
FOR UPDATE`),
		deleteLinkToken: r.Replace(`DELETE FROM {links} WHERE hash = $1`),
		addressTaken:    r.Replace(`SELECT EXISTS (SELECT 1 FROM {users} WHERE id <> $1 AND ((email = $2 AND email <> '') OR username = $2))`),
		setEmail: r.Replace(`UPDATE {users} SET email = $2, email_verified = true, updated_at = $3 WHERE id = $1
RETURNING ` + userColumns),
		reset: r.Replace(`WITH s AS (
	UPDATE {sessions} SET revoked = true WHERE user_id = $1 AND NOT revoked
)
UPDATE {users} SET password_hash = $2, token_version = token_version + 1, email_verified = true, updated_at = $3,
	tokens_ended_at = GREATEST(tokens_ended_at, $3)
WHERE id = $1
RETURNING ` + userColumns),
		deleteUserLinks:    r.Replace(`DELETE FROM {links} WHERE user_id = $1`),
		revokeUserSessions: r.Replace(`UPDATE {sessions} SET revoked = true WHERE user_id = $1 AND NOT revoked`),

		// Both return (updated, exists): 0 updated rows is ErrConflict if
		// the user exists, ErrNotFound if not. exists reads the statement's
		// snapshot, which is all the CAS needs.
		updatePasswordHash: r.Replace(`WITH u AS (
	UPDATE {users} SET password_hash = $3, updated_at = $4
	WHERE id = $1 AND password_hash = $2
	RETURNING id
)
SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM {users} WHERE id = $1)`),
		updatePasswordHashLogout: r.Replace(`WITH u AS (
	UPDATE {users} SET password_hash = $3, updated_at = $4, token_version = token_version + 1,
		tokens_ended_at = GREATEST(tokens_ended_at, $4)
	WHERE id = $1 AND password_hash = $2
	RETURNING id
), s AS (
	UPDATE {sessions} SET revoked = true
	WHERE user_id IN (SELECT id FROM u) AND NOT revoked
)
SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM {users} WHERE id = $1)`),
		invalidateTokens: r.Replace(`WITH u AS (
	UPDATE {users} SET token_version = token_version + 1, updated_at = $2,
		tokens_ended_at = GREATEST(tokens_ended_at, $2)
	WHERE id = $1
	RETURNING id
), s AS (
	UPDATE {sessions} SET revoked = true
	WHERE user_id IN (SELECT id FROM u) AND NOT revoked
)
SELECT count(*) FROM u`),

		createSession: r.Replace(`INSERT INTO {sessions} (id, user_id, token_hash, user_version, created_at, expires_at, user_agent, client_addr)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		userSessions: r.Replace(`SELECT id, user_version, created_at, COALESCE(rotated_at, created_at), expires_at, user_agent, client_addr
FROM {sessions} WHERE user_id = $1 AND NOT revoked AND expires_at > $2
ORDER BY created_at DESC, id DESC`),
		listUsers: r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`),
		// One statement, so one row lock decides races (see the package
		// documentation). The WHERE clause passes only live sessions; the
		// SET expressions see the locked row as it was before this update.
		// A presented token that is neither current nor graced revokes the
		// session, and RETURNING reports that as revoked = true.
		rotateSession: r.Replace(`UPDATE {sessions} SET
	revoked    = NOT ` + isAllowed + `,
	prev_hash  = CASE WHEN ` + isCurrent + ` THEN token_hash ELSE prev_hash END,
	rotated_at = CASE WHEN ` + isCurrent + ` THEN $5 ELSE rotated_at END,
	token_hash = CASE WHEN ` + isCurrent + ` THEN $3 ELSE token_hash END,
	expires_at = CASE WHEN ` + isCurrent + ` THEN $4 ELSE expires_at END
WHERE id = $1 AND NOT revoked AND expires_at > $5
RETURNING revoked, user_id, token_hash, user_version, created_at, COALESCE(rotated_at, created_at), expires_at, user_agent, client_addr`),
		trimSessions:  r.Replace(`SELECT {trim}($1, $2, $3, $4)`),
		sessionExists: r.Replace(`SELECT EXISTS (SELECT 1 FROM {sessions} WHERE id = $1)`),
		revokeSession: r.Replace(`UPDATE {sessions} SET revoked = true WHERE id = $1 AND NOT revoked`),
		deleteExpired: r.Replace(`DELETE FROM {sessions} WHERE expires_at <= $1`),

		// Second factors (mfastore.Store). A pending enrolment replaces a
		// pending one, never a confirmed one (no row changed): the upsert
		// waits for a concurrent change of the row, and looks at it again.
		putPendingTOTP: r.Replace(`INSERT INTO {totp} AS t (user_id, id, sealed, confirmed, last_step, created_at)
VALUES ($1, $2, $3, false, 0, $4)
ON CONFLICT (user_id) DO UPDATE SET id = EXCLUDED.id, sealed = EXCLUDED.sealed, created_at = EXCLUDED.created_at
WHERE NOT t.confirmed`),
		totp:        r.Replace(`SELECT id, sealed, confirmed, last_step, created_at FROM {totp} WHERE user_id = $1`),
		confirmTOTP: r.Replace(`UPDATE {totp} SET confirmed = true, last_step = $3 WHERE user_id = $1 AND id = $2 AND NOT confirmed`),
		// The compare-and-set of the last step, in one UPDATE: of updates
		// at once, the ones waiting for the row lock look at the row again
		// once the winner commits (as rotateSession), and find the step
		// used. It returns (updated, whether the confirmed enrolment is
		// there): 0 updated is ErrConflict if it is, ErrNotFound if not.
		advanceTOTP: r.Replace(`WITH a AS (
	UPDATE {totp} SET last_step = $3
	WHERE user_id = $1 AND id = $2 AND confirmed AND last_step < $3
	RETURNING 1
)
SELECT (SELECT count(*) FROM a), EXISTS (SELECT 1 FROM {totp} WHERE user_id = $1 AND id = $2 AND confirmed)`),
		deleteTOTP: r.Replace(`DELETE FROM {totp} WHERE user_id = $1`), // and the codes, ON DELETE CASCADE
		// ReplaceRecoveryCodes holds the enrolment's row until it commits,
		// so that a confirmation, another replacement or a DeleteTOTP
		// waits for it.
		lockConfirmedTOTP:   r.Replace(`SELECT 1 FROM {totp} WHERE user_id = $1 AND id = $2 AND confirmed FOR NO KEY UPDATE`),
		deleteRecoveryCodes: r.Replace(`DELETE FROM {codes} WHERE user_id = $1`),
		addRecoveryCodes:    r.Replace(`INSERT INTO {codes} (user_id, code_hash) SELECT $1, c FROM unnest($2::bytea[]) AS c ON CONFLICT DO NOTHING`),
		useRecoveryCode:     r.Replace(`DELETE FROM {codes} WHERE user_id = $1 AND code_hash = $2`),
		recoveryCodesLeft:   r.Replace(`SELECT count(*) FROM {codes} WHERE user_id = $1`),
		// A new challenge takes along the challenges that expired before
		// it was made, but those another statement holds (a purge or a
		// spending of its own): no call waits for another's.
		createChallenge: r.Replace(`WITH d AS (
	DELETE FROM {challenges} WHERE id IN (SELECT id FROM {challenges} WHERE expires_at < $5 FOR UPDATE SKIP LOCKED)
)
INSERT INTO {challenges} (id, user_id, methods, user_version, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`),
		challenge:      r.Replace(`SELECT user_id, methods, user_version, created_at, expires_at FROM {challenges} WHERE id = $1`),
		spendChallenge: r.Replace(`DELETE FROM {challenges} WHERE id = $1`),

		// Passkeys (passkeystore.Store). The first handle: an insert that
		// waits for one of another call in flight, and then does nothing;
		// a read after it finds whichever is first.
		userHandle:       r.Replace(`SELECT handle FROM {handles} WHERE user_id = $1`),
		addUserHandle:    r.Replace(`INSERT INTO {handles} (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`),
		insertUserHandle: r.Replace(`INSERT INTO {handles} (user_id, handle) VALUES ($1, $2)`),
		addCredential: r.Replace(`INSERT INTO {credentials} (` + credentialColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`),
		credential:  r.Replace(`SELECT ` + credentialColumns + ` FROM {credentials} WHERE id = $1`),
		credentials: r.Replace(`SELECT ` + credentialColumns + ` FROM {credentials} WHERE user_id = $1 ORDER BY created_at, id`),
		// The compare-and-set of the sign count, in one UPDATE: of updates
		// at once, the ones waiting for the row lock look at the row again
		// once the winner commits, and find the count changed. It returns
		// (updated, whether the credential is there): 0 updated is
		// ErrConflict if it is, ErrNotFound if not.
		useCredential: r.Replace(`WITH u AS (
	UPDATE {credentials} SET sign_count = $3, backup_eligible = $4, backup_state = $5, last_used_at = $6
	WHERE id = $1 AND sign_count = $2
	RETURNING 1
)
SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM {credentials} WHERE id = $1)`),
		renameCredential: r.Replace(`UPDATE {credentials} SET name = $3 WHERE id = $1 AND user_id = $2 RETURNING ` + credentialColumns),
		// DeleteCredential and UnlinkIdentity hold the user's row until
		// they commit, so that the deletions of the user's ways in
		// (credentials and identities) run one after the other, each
		// counting what the one before left (a new statement takes a new
		// snapshot, under READ COMMITTED). FOR NO KEY UPDATE leaves the
		// user's key free to the inserts that reference it (FOR KEY
		// SHARE): sessions, credentials' handles, challenges.
		lockUser: r.Replace(`SELECT 1 FROM {users} WHERE id = $1 FOR NO KEY UPDATE`),
		// The user's credential, unless (with keepLast, $3) it is the
		// user's last way in: the only credential of a user without an
		// identity. It returns (deleted, whether the user's credential is
		// there): 0 deleted is ErrConflict if it is, ErrNotFound if not.
		deleteCredential: r.Replace(`WITH d AS (
	DELETE FROM {credentials} WHERE id = $1 AND user_id = $2
		AND (NOT $3 OR (SELECT count(*) FROM {credentials} WHERE user_id = $2) > 1
			OR EXISTS (SELECT 1 FROM {identities} WHERE user_id = $2))
	RETURNING 1
)
SELECT (SELECT count(*) FROM d), EXISTS (SELECT 1 FROM {credentials} WHERE id = $1 AND user_id = $2)`),
		// A new ceremony takes along the ceremonies that expired before it
		// was made, but those another statement holds (as createChallenge).
		createCeremony: r.Replace(`WITH d AS (
	DELETE FROM {ceremonies} WHERE id IN (SELECT id FROM {ceremonies} WHERE expires_at < $5 FOR UPDATE SKIP LOCKED)
)
INSERT INTO {ceremonies} (id, kind, user_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`),
		// A ceremony is taken once: of DELETEs at once, the one that
		// deletes the row returns it, the others wait for its row lock and
		// find the row gone.
		takeCeremony: r.Replace(`DELETE FROM {ceremonies} WHERE id = $1 RETURNING kind, user_id, data, created_at, expires_at`),

		// Linked identities (identitystore.Store).
		identity:   r.Replace(`SELECT ` + identityColumns + ` FROM {identities} WHERE issuer = $1 AND subject = $2`),
		identities: r.Replace(`SELECT ` + identityColumns + ` FROM {identities} WHERE user_id = $1 ORDER BY linked_at, provider`),
		// A link shares the user's row (FOR SHARE) while it inserts: it
		// waits for a DeleteCredential, an UnlinkIdentity or a
		// ReclaimAccount of the user in flight (FOR NO KEY UPDATE), and
		// they for it. No row inserted: no such user.
		linkIdentity: r.Replace(`WITH u AS (SELECT id FROM {users} WHERE id = $1 FOR SHARE)
INSERT INTO {identities} (` + identityColumns + `) SELECT u.id, $2, $3, $4, $5, $6 FROM u`),
		insertIdentity: r.Replace(`INSERT INTO {identities} (` + identityColumns + `) VALUES ($1, $2, $3, $4, $5, $6)`),
		// The user's identity at a provider, unless (with keepLast, $3) it
		// is the user's last way in: the only identity of a user without a
		// passkey. It returns (deleted, whether the user's identity is
		// there), as deleteCredential does.
		unlinkIdentity: r.Replace(`WITH d AS (
	DELETE FROM {identities} WHERE user_id = $1 AND provider = $2
		AND (NOT $3 OR (SELECT count(*) FROM {identities} WHERE user_id = $1) > 1
			OR EXISTS (SELECT 1 FROM {credentials} WHERE user_id = $1))
	RETURNING 1
)
SELECT (SELECT count(*) FROM d), EXISTS (SELECT 1 FROM {identities} WHERE user_id = $1 AND provider = $2)`),
		// ReclaimAccount: the user's row locked first (as DeleteUser and
		// the endings of tokens lock it before the user's other rows),
		// with the email to compare.
		userEmailForUpdate:   r.Replace(`SELECT email, email_verified FROM {users} WHERE id = $1 FOR NO KEY UPDATE`),
		accountLinked:        r.Replace(`SELECT EXISTS (SELECT 1 FROM {identities} WHERE issuer = $1 AND subject = $2)`),
		deleteUserIdentities: r.Replace(`DELETE FROM {identities} WHERE user_id = $1`),
		// Then, in one statement, every way in of the user removed and
		// every login ended, as invalidateTokens ends them: the handle
		// (and the credentials, ON DELETE CASCADE), the passkey ceremonies,
		// the TOTP enrolment (and the codes), the challenges, the attempts
		// and the mailed links, but those a redemption holds (it locks the
		// link before the user, so waiting for it here could deadlock; it
		// finds the link dead once this commits, the token version moved,
		// and deletes it).
		reclaim: r.Replace(`WITH s AS (
	UPDATE {sessions} SET revoked = true WHERE user_id = $1 AND NOT revoked
), h AS (
	DELETE FROM {handles} WHERE user_id = $1
), c AS (
	DELETE FROM {ceremonies} WHERE user_id = $1
), t AS (
	DELETE FROM {totp} WHERE user_id = $1
), ch AS (
	DELETE FROM {challenges} WHERE user_id = $1
), a AS (
	DELETE FROM {attempts} WHERE user_id = $1
), l AS (
	DELETE FROM {links} WHERE hash IN (SELECT hash FROM {links} WHERE user_id = $1 FOR UPDATE SKIP LOCKED)
)
UPDATE {users} SET password_hash = '', email_verified = true, token_version = token_version + 1, updated_at = $2,
	tokens_ended_at = GREATEST(tokens_ended_at, $2)
WHERE id = $1`),
		// A new attempt takes along the attempts that expired before it
		// was made, but those another statement holds (as createChallenge).
		createAttempt: r.Replace(`WITH d AS (
	DELETE FROM {attempts} WHERE id IN (SELECT id FROM {attempts} WHERE expires_at < $6 FOR UPDATE SKIP LOCKED)
)
INSERT INTO {attempts} (id, binding, provider, user_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`),
		// An attempt is taken once: of DELETEs at once, the one that
		// deletes the row returns it, the others wait for its row lock and
		// find the row gone.
		takeAttempt: r.Replace(`DELETE FROM {attempts} WHERE id = $1 RETURNING binding, provider, user_id, data, created_at, expires_at`),
	}
}
