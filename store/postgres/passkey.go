package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// The passkeys (passkeystore.Store), in the tables of migration 9. The
// compare-and-sets are single statements that READ COMMITTED re-evaluates
// on the row a concurrent winner committed: UseCredential's UPDATE ...
// WHERE sign_count = prev (in a CTE that also says whether the credential
// is there), TakeCeremony's DELETE ... RETURNING, and the first handle's
// INSERT ... ON CONFLICT DO NOTHING, which waits for an insert in flight.
// DeleteCredential is a transaction that first locks the user's row, as
// UnlinkIdentity does: the deletions of a user's ways in (credentials and
// identities) run one after the other, and each counts what the one before
// left (a DELETE with a count in its WHERE clause alone would not: two
// at once, each deleting a different row, would both count two).
// CreateUserWithCredential is CreateUser's transaction, with the handle
// and the credential inserted in it. A user's handle and ceremonies go
// with the user, the credentials with the handle (ON DELETE CASCADE).

// UserHandle implements passkeystore.Store: the handle read, and if there
// is none, an insert that does nothing if another call's is there or in
// flight (it waits for that one's commit), and a read of whichever is
// first. A handle another user has is auth.ErrConflict.
func (s *Store) UserHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if handle != nil && !passkeystore.ValidHandle(handle) {
		return nil, auth.ErrInvalidInput
	}
	if !storable(userID) {
		return nil, auth.ErrNotFound
	}
	var h []byte
	err := s.pool.QueryRow(ctx, s.q.userHandle, userID).Scan(&h)
	switch {
	case err == nil:
		return h, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, unavailable(ctx, err)
	case handle == nil:
		return nil, auth.ErrNotFound
	}
	_, err = s.pool.Exec(ctx, s.q.addUserHandle, userID, handle)
	switch {
	case sqlState(err) == codeForeignKeyViolation:
		return nil, auth.ErrNotFound
	case sqlState(err) == codeUniqueViolation:
		return nil, auth.ErrConflict // another user's
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	// A new statement, a new snapshot: it sees the handle inserted, this
	// call's or the one it waited for.
	err = s.pool.QueryRow(ctx, s.q.userHandle, userID).Scan(&h)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound // the user was deleted meanwhile
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	return h, nil
}

// credentialArgs are the values of credentialColumns for c.
func credentialArgs(c *passkeystore.Credential) []any {
	transports := c.Transports
	if transports == nil {
		transports = []string{} // not NULL
	}
	var used *time.Time // NULL: never
	if !c.LastUsedAt.IsZero() {
		used = &c.LastUsedAt
	}
	return []any{c.ID, c.UserID, c.Name, nonNil(c.PublicKey), int64(c.SignCount), c.BackupEligible, c.BackupState,
		nonNil(c.AAGUID), transports, c.CreatedAt, used}
}

// AddCredential implements passkeystore.Store, in one statement: the
// credential references the user's handle, so a user without one is
// auth.ErrNotFound.
func (s *Store) AddCredential(ctx context.Context, c *passkeystore.Credential) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !c.Valid() {
		return auth.ErrInvalidInput
	}
	_, err := s.pool.Exec(ctx, s.q.addCredential, credentialArgs(c)...)
	switch {
	case err == nil:
		return nil
	case sqlState(err) == codeForeignKeyViolation:
		return auth.ErrNotFound // no such user, or one without a handle
	case sqlState(err) == codeUniqueViolation:
		return auth.ErrConflict
	}
	return unavailable(ctx, err)
}

// CreateUserWithCredential implements passkeystore.Store, in CreateUser's
// transaction: the login names locked and checked, the user inserted,
// then the handle and the credential.
func (s *Store) CreateUserWithCredential(ctx context.Context, u *auth.User, handle []byte, c *passkeystore.Credential) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !userStorable(u) || !passkeystore.ValidHandle(handle) || !c.Valid() || c.UserID != u.ID {
		return auth.ErrInvalidInput
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.insertUser(ctx, tx, u); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.insertUserHandle, u.ID, handle); err != nil {
			if sqlState(err) == codeUniqueViolation {
				return auth.ErrConflict // another user's handle
			}
			return err
		}
		if _, err := tx.Exec(ctx, s.q.addCredential, credentialArgs(c)...); err != nil {
			if sqlState(err) == codeUniqueViolation {
				return auth.ErrConflict
			}
			return err
		}
		return nil
	})
}

// scanCredential reads a row of credentialColumns.
func scanCredential(ctx context.Context, row pgx.Row) (*passkeystore.Credential, error) {
	var (
		c     passkeystore.Credential
		count int64
		used  *time.Time
	)
	err := row.Scan(&c.ID, &c.UserID, &c.Name, &c.PublicKey, &count, &c.BackupEligible, &c.BackupState, &c.AAGUID,
		&c.Transports, &c.CreatedAt, &used)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	c.SignCount = uint32(count)
	c.CreatedAt = c.CreatedAt.UTC()
	if used != nil {
		c.LastUsedAt = used.UTC()
	}
	return &c, nil
}

// Credential implements passkeystore.Store.
func (s *Store) Credential(ctx context.Context, id []byte) (*passkeystore.Credential, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !passkeystore.ValidCredentialID(id) {
		return nil, auth.ErrNotFound
	}
	return scanCredential(ctx, s.pool.QueryRow(ctx, s.q.credential, id))
}

// Credentials implements passkeystore.Store. An unknown user has none.
func (s *Store) Credentials(ctx context.Context, userID string) ([]passkeystore.Credential, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.q.credentials, userID)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	defer rows.Close()
	var out []passkeystore.Credential
	for rows.Next() {
		c, err := scanCredential(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err)
	}
	return out, nil
}

// UseCredential implements passkeystore.Store, in one statement: the
// UPDATE of the credential whose sign count is prev, and whether the
// credential is there (auth.ErrConflict when the UPDATE changed no row)
// or not (auth.ErrNotFound).
func (s *Store) UseCredential(ctx context.Context, id []byte, prev uint32, u passkeystore.Use) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !passkeystore.ValidCredentialID(id) {
		return auth.ErrNotFound
	}
	var updated int64
	var exists bool
	err := s.pool.QueryRow(ctx, s.q.useCredential, id, int64(prev), int64(u.SignCount), u.BackupEligible, u.BackupState, u.At).
		Scan(&updated, &exists)
	switch {
	case err != nil:
		return unavailable(ctx, err)
	case updated == 1:
		return nil
	case exists:
		return auth.ErrConflict
	}
	return auth.ErrNotFound
}

// RenameCredential implements passkeystore.Store, in one statement that
// returns the credential renamed.
func (s *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) (*passkeystore.Credential, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !passkeystore.ValidName(name) {
		return nil, auth.ErrInvalidInput
	}
	if !storable(userID) || !passkeystore.ValidCredentialID(id) {
		return nil, auth.ErrNotFound
	}
	return scanCredential(ctx, s.pool.QueryRow(ctx, s.q.renameCredential, id, userID, name))
}

// DeleteCredential implements passkeystore.Store, in one transaction: the
// user's row locked (none: the user has no credential), then one DELETE,
// whose WHERE clause with keepLast counts the user's credentials and
// identities, and which says whether the user's credential is there (the
// last way in: auth.ErrConflict) or not (auth.ErrNotFound) when it deleted
// nothing.
func (s *Store) DeleteCredential(ctx context.Context, userID string, id []byte, keepLast bool) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(userID) || !passkeystore.ValidCredentialID(id) {
		return auth.ErrNotFound
	}
	return s.deleteWayIn(ctx, userID, s.q.deleteCredential, id, userID, keepLast)
}

// deleteWayIn is DeleteCredential's and UnlinkIdentity's transaction: the
// user's row locked (none: auth.ErrNotFound), then the query, a DELETE
// that returns how many rows it deleted and whether the row was there: if
// it was and was not deleted, it was the user's last way in
// (auth.ErrConflict); if it was not, auth.ErrNotFound.
func (s *Store) deleteWayIn(ctx context.Context, userID, query string, args ...any) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, s.q.lockUser, userID).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return auth.ErrNotFound
		case err != nil:
			return err
		}
		var deleted int64
		var exists bool
		if err := tx.QueryRow(ctx, query, args...).Scan(&deleted, &exists); err != nil {
			return err
		}
		switch {
		case deleted == 1:
			return nil
		case exists:
			return auth.ErrConflict // the user's last way in
		}
		return auth.ErrNotFound
	})
}

// CreateCeremony implements passkeystore.Store, in one statement that
// also deletes the ceremonies, any user's, that expired before
// c.CreatedAt (but those another call holds). An unknown user is
// auth.ErrNotFound.
func (s *Store) CreateCeremony(ctx context.Context, c *passkeystore.Ceremony) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !c.Valid() {
		return auth.ErrInvalidInput
	}
	var userID *string // NULL: a login or a sign-up
	if c.UserID != "" {
		userID = &c.UserID
	}
	_, err := s.pool.Exec(ctx, s.q.createCeremony, c.ID, c.Kind, userID, nonNil(c.Data), c.CreatedAt, c.ExpiresAt)
	switch {
	case err == nil:
		return nil
	case sqlState(err) == codeForeignKeyViolation:
		return auth.ErrNotFound
	case sqlState(err) == codeUniqueViolation:
		return auth.ErrConflict // the same hash twice: a random token never repeats
	}
	return unavailable(ctx, err)
}

// TakeCeremony implements passkeystore.Store: one DELETE ... RETURNING,
// which of calls at once only one makes.
func (s *Store) TakeCeremony(ctx context.Context, id []byte) (*passkeystore.Ceremony, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if len(id) != sha256.Size {
		return nil, auth.ErrNotFound
	}
	c := passkeystore.Ceremony{ID: append([]byte(nil), id...)}
	var userID *string
	err := s.pool.QueryRow(ctx, s.q.takeCeremony, id).Scan(&c.Kind, &userID, &c.Data, &c.CreatedAt, &c.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	if userID != nil {
		c.UserID = *userID
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return &c, nil
}
