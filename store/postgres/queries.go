package postgres

import "strings"

// queries holds every statement, with the schema's tables filled in once at
// construction. pgx prepares and caches each on every connection.
type queries struct {
	createUser, userByID, userByUsername, userByEmail, userBySession, updateUser, deleteUser string

	createLinkToken, linkToken, redeemEmail, redeemReset, idOrNameTaken string
	updatePasswordHash, updatePasswordHashLogout, invalidateTokens      string

	createSession, rotateSession, sessionExists, revokeSession, deleteExpired string
	userSessions, listUsers                                                   string
}

const userColumns = `id, username, email, email_verified, password_hash, disabled, roles, token_version, created_at, updated_at`

// userColumnsOf is userColumns qualified by the alias u.
const userColumnsOf = `u.id, u.username, u.email, u.email_verified, u.password_hash, u.disabled, u.roles, u.token_version, u.created_at, u.updated_at`

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
	r := strings.NewReplacer("{users}", users, "{sessions}", sessions, "{links}", links)
	return queries{
		createUser: r.Replace(`INSERT INTO {users} (` + userColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`),
		userByID:       r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE id = $1`),
		userByUsername: r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE username = $1`),
		userByEmail:    r.Replace(`SELECT ` + userColumns + ` FROM {users} WHERE email = $1 AND email <> ''`),
		// The user, and whether the session is revoked (NULL: no such
		// session of this user), in one round trip.
		userBySession: r.Replace(`SELECT ` + userColumnsOf + `, s.revoked
FROM {users} u LEFT JOIN {sessions} s ON s.id = $2 AND s.user_id = u.id
WHERE u.id = $1`),
		updateUser: r.Replace(`UPDATE {users}
SET username = $2, email = $3, email_verified = $4, disabled = $5, roles = $6, updated_at = $7
WHERE id = $1`),
		deleteUser:    r.Replace(`DELETE FROM {users} WHERE id = $1`),
		idOrNameTaken: r.Replace(`SELECT count(*) FROM {users} WHERE id = $1 OR username = $2`),

		// A new link token replaces the user's others of its purpose, and
		// expired tokens go as they pass, in one statement.
		createLinkToken: r.Replace(`WITH d AS (
	DELETE FROM {links} WHERE (user_id = $2 AND purpose = $3) OR expires_at <= $6
)
INSERT INTO {links} (hash, user_id, purpose, email, binding, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`),
		linkToken: r.Replace(`SELECT user_id, purpose, email, binding, created_at, expires_at FROM {links} WHERE hash = $1`),
		// Both spend the token (DELETE ... RETURNING: of concurrent
		// redemptions, the row lock lets one find it) and make the change
		// in the same statement. The email one fails as a whole on the
		// unique index when the address is taken.
		redeemEmail: r.Replace(`WITH t AS (
	DELETE FROM {links} WHERE hash = $1 AND purpose = 'verify_email' AND expires_at > $2
	RETURNING user_id, email
)
UPDATE {users} u SET email = t.email, email_verified = true, updated_at = $2
FROM t WHERE u.id = t.user_id
RETURNING ` + userColumnsOf),
		// Returns (found, reset): found says the token was spent; reset,
		// that the password was still the old one and is replaced.
		redeemReset: r.Replace(`WITH t AS (
	DELETE FROM {links} WHERE hash = $1 AND purpose = 'reset_password' AND expires_at > $2
	RETURNING user_id
), u AS (
	UPDATE {users} SET password_hash = $4, token_version = token_version + 1, email_verified = true, updated_at = $2
	WHERE id IN (SELECT user_id FROM t) AND password_hash = $3
	RETURNING id
), s AS (
	UPDATE {sessions} SET revoked = true WHERE user_id IN (SELECT id FROM u) AND NOT revoked
), o AS (
	DELETE FROM {links} WHERE user_id IN (SELECT id FROM u) AND purpose = 'reset_password' AND hash <> $1
)
SELECT (SELECT user_id FROM t), (SELECT count(*) FROM u) = 1`),

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
	UPDATE {users} SET password_hash = $3, updated_at = $4, token_version = token_version + 1
	WHERE id = $1 AND password_hash = $2
	RETURNING id
), s AS (
	UPDATE {sessions} SET revoked = true
	WHERE user_id IN (SELECT id FROM u) AND NOT revoked
)
SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM {users} WHERE id = $1)`),
		invalidateTokens: r.Replace(`WITH u AS (
	UPDATE {users} SET token_version = token_version + 1, updated_at = $2
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
		sessionExists: r.Replace(`SELECT EXISTS (SELECT 1 FROM {sessions} WHERE id = $1)`),
		revokeSession: r.Replace(`UPDATE {sessions} SET revoked = true WHERE id = $1 AND NOT revoked`),
		deleteExpired: r.Replace(`DELETE FROM {sessions} WHERE expires_at <= $1`),
	}
}
