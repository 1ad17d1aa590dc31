package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// The passkeys (passkeystore.Store), in the tables of migration 7. The
// compare-and-sets are single statements whose WHERE clause is the
// condition, and succeed if they changed a row: SQLite runs one write at a
// time, across every connection and process, so of calls made at once
// exactly one changes it. They are UseCredential's UPDATE ... WHERE
// sign_count = prev, TakeCeremony's DELETE ... RETURNING, and
// DeleteCredential's DELETE, whose WHERE clause also counts the user's
// credentials and linked identities (keepLast: the last way in stays). What writes or reads several statements
// (UserHandle's first handle, CreateUserWithCredential, DeleteCredential's
// answer, CreateCeremony) runs them in one immediate transaction on the
// writer. A user's handle and ceremonies go with the user, the credentials
// with the handle (ON DELETE CASCADE).

// nullMicros is the stored form of a time that may be zero: NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

// UserHandle implements passkeystore.Store: the handle read, and if there
// is none, in one immediate transaction, read again and the new one
// inserted. A handle another user has is auth.ErrConflict.
func (s *Store) UserHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if handle != nil && !passkeystore.ValidHandle(handle) {
		return nil, auth.ErrInvalidInput
	}
	if !storable(userID) {
		return nil, auth.ErrNotFound
	}
	const op = "UserHandle"
	var h []byte
	err := s.rs[qUserHandle].QueryRowContext(ctx, userID).Scan(&h)
	switch {
	case err == nil:
		return h, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, s.fail(ctx, op, err)
	case handle == nil:
		return nil, auth.ErrNotFound
	}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		err := s.txStmt(ctx, tx, qUserHandle).QueryRowContext(ctx, userID).Scan(&h)
		switch {
		case err == nil:
			return nil // another call's, meanwhile
		case !errors.Is(err, sql.ErrNoRows):
			return s.fail(ctx, op, err)
		}
		_, err = s.txStmt(ctx, tx, qAddUserHandle).ExecContext(ctx, userID, handle)
		switch {
		case err == nil:
			h = append([]byte(nil), handle...)
			return nil
		case isForeignKeyViolation(err):
			return auth.ErrNotFound
		case isUniqueViolation(err):
			return auth.ErrConflict // another user's
		}
		return s.fail(ctx, op, err)
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// addCredential inserts c with stmt (qAddCredential, maybe within a
// transaction): a taken id is auth.ErrConflict, a user without a handle
// auth.ErrNotFound.
func (s *Store) addCredential(ctx context.Context, stmt *sql.Stmt, op string, c *passkeystore.Credential) error {
	transports := c.Transports
	if transports == nil {
		transports = []string{} // not null
	}
	t, err := json.Marshal(transports)
	if err != nil {
		return fmt.Errorf("sqlite: %s: transports: %w", op, err)
	}
	_, err = stmt.ExecContext(ctx, c.ID, c.UserID, c.Name, blob(c.PublicKey), int64(c.SignCount), c.BackupEligible, c.BackupState,
		blob(c.AAGUID), string(t), micros(c.CreatedAt), nullMicros(c.LastUsedAt))
	switch {
	case err == nil:
		return nil
	case isForeignKeyViolation(err):
		return auth.ErrNotFound // no such user, or one without a handle
	case isUniqueViolation(err):
		return auth.ErrConflict
	}
	return s.fail(ctx, op, err)
}

// AddCredential implements passkeystore.Store, in one statement: the
// credential references the user's handle, so a user without one is
// auth.ErrNotFound.
func (s *Store) AddCredential(ctx context.Context, c *passkeystore.Credential) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !c.Valid() {
		return auth.ErrInvalidInput
	}
	return s.addCredential(ctx, s.ws[qAddCredential], "AddCredential", c)
}

// CreateUserWithCredential implements passkeystore.Store, in one
// immediate transaction: CreateUser's checks and insert, then the handle
// and the credential.
func (s *Store) CreateUserWithCredential(ctx context.Context, u *auth.User, handle []byte, c *passkeystore.Credential) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !userStorable(u) || !passkeystore.ValidHandle(handle) || !c.Valid() || c.UserID != u.ID {
		return auth.ErrInvalidInput
	}
	defer s.forget(u.ID, false)
	const op = "CreateUserWithCredential"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if err := s.insertUser(ctx, tx, op, u); err != nil {
			return err
		}
		_, err := s.txStmt(ctx, tx, qAddUserHandle).ExecContext(ctx, u.ID, handle)
		switch {
		case isUniqueViolation(err):
			return auth.ErrConflict // another user's handle
		case err != nil:
			return s.fail(ctx, op, err)
		}
		return s.addCredential(ctx, s.txStmt(ctx, tx, qAddCredential), op, c)
	})
}

// scanCredential reads a row of credentialColumns.
func scanCredential(row scanner) (*passkeystore.Credential, error) {
	var (
		c          passkeystore.Credential
		count      int64
		transports string
		created    int64
		used       sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.UserID, &c.Name, &c.PublicKey, &count, &c.BackupEligible, &c.BackupState, &c.AAGUID,
		&transports, &created, &used); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(transports), &c.Transports); err != nil {
		return nil, fmt.Errorf("transports of credential: %w", err)
	}
	c.SignCount = uint32(count)
	c.CreatedAt = fromMicros(created)
	if used.Valid {
		c.LastUsedAt = fromMicros(used.Int64)
	}
	return &c, nil
}

// Credential implements passkeystore.Store.
func (s *Store) Credential(ctx context.Context, id []byte) (*passkeystore.Credential, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !passkeystore.ValidCredentialID(id) {
		return nil, auth.ErrNotFound
	}
	c, err := scanCredential(s.rs[qCredential].QueryRowContext(ctx, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, s.fail(ctx, "Credential", err)
	}
	return c, nil
}

// Credentials implements passkeystore.Store. An unknown user has none.
func (s *Store) Credentials(ctx context.Context, userID string) ([]passkeystore.Credential, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	const op = "Credentials"
	rows, err := s.rs[qCredentials].QueryContext(ctx, userID)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	defer rows.Close()
	var out []passkeystore.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, s.fail(ctx, op, err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out, nil
}

// UseCredential implements passkeystore.Store: one UPDATE, of the
// credential whose sign count is prev. When it changes no row, a read
// tells auth.ErrConflict (the credential is there) from auth.ErrNotFound.
func (s *Store) UseCredential(ctx context.Context, id []byte, prev uint32, u passkeystore.Use) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !passkeystore.ValidCredentialID(id) {
		return auth.ErrNotFound
	}
	const op = "UseCredential"
	res, err := s.ws[qUseCredential].ExecContext(ctx, id, int64(prev), int64(u.SignCount), u.BackupEligible, u.BackupState, micros(u.At))
	if err != nil {
		return s.fail(ctx, op, err)
	}
	err = s.oneRow(ctx, op, res)
	if !errors.Is(err, auth.ErrNotFound) {
		return err
	}
	var exists bool
	if err := s.rs[qCredentialExists].QueryRowContext(ctx, id).Scan(&exists); err != nil {
		return s.fail(ctx, op, err)
	}
	if exists {
		return auth.ErrConflict
	}
	return auth.ErrNotFound
}

// RenameCredential implements passkeystore.Store, in one statement that
// returns the credential renamed.
func (s *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) (*passkeystore.Credential, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !passkeystore.ValidName(name) {
		return nil, auth.ErrInvalidInput
	}
	if !storable(userID) || !passkeystore.ValidCredentialID(id) {
		return nil, auth.ErrNotFound
	}
	c, err := scanCredential(s.ws[qRenameCredential].QueryRowContext(ctx, id, userID, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, s.fail(ctx, "RenameCredential", err)
	}
	return c, nil
}

// DeleteCredential implements passkeystore.Store, in one immediate
// transaction: one DELETE, whose WHERE clause with keepLast counts the
// user's credentials and identities, and when it changes no row, a read
// that tells auth.ErrConflict (the user's credential is there: the last
// way in) from auth.ErrNotFound.
func (s *Store) DeleteCredential(ctx context.Context, userID string, id []byte, keepLast bool) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(userID) || !passkeystore.ValidCredentialID(id) {
		return auth.ErrNotFound
	}
	const op = "DeleteCredential"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := s.txStmt(ctx, tx, qDeleteCredential).ExecContext(ctx, id, userID, keepLast)
		if err != nil {
			return s.fail(ctx, op, err)
		}
		err = s.oneRow(ctx, op, res)
		if !errors.Is(err, auth.ErrNotFound) {
			return err
		}
		var exists bool
		if err := s.txStmt(ctx, tx, qUserCredentialExists).QueryRowContext(ctx, id, userID).Scan(&exists); err != nil {
			return s.fail(ctx, op, err)
		}
		if exists {
			return auth.ErrConflict // the user's last way in
		}
		return auth.ErrNotFound
	})
}

// CreateCeremony implements passkeystore.Store, in one immediate
// transaction that first deletes the ceremonies, any user's, that expired
// before c.CreatedAt.
func (s *Store) CreateCeremony(ctx context.Context, c *passkeystore.Ceremony) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !c.Valid() {
		return auth.ErrInvalidInput
	}
	var userID any // NULL: a login or a sign-up
	if c.UserID != "" {
		userID = c.UserID
	}
	const op = "CreateCeremony"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := s.txStmt(ctx, tx, qDeleteOldCeremonies).ExecContext(ctx, micros(c.CreatedAt)); err != nil {
			return s.fail(ctx, op, err)
		}
		_, err := s.txStmt(ctx, tx, qCreateCeremony).ExecContext(ctx, c.ID, c.Kind, userID, blob(c.Data),
			micros(c.CreatedAt), micros(c.ExpiresAt))
		switch {
		case err == nil:
			return nil
		case isForeignKeyViolation(err):
			return auth.ErrNotFound
		case isUniqueViolation(err):
			return auth.ErrConflict // the same hash twice: a random token never repeats
		}
		return s.fail(ctx, op, err)
	})
}

// TakeCeremony implements passkeystore.Store: one DELETE ... RETURNING,
// which of calls at once only one makes.
func (s *Store) TakeCeremony(ctx context.Context, id []byte) (*passkeystore.Ceremony, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if len(id) != sha256.Size {
		return nil, auth.ErrNotFound
	}
	c := passkeystore.Ceremony{ID: append([]byte(nil), id...)}
	var userID sql.NullString
	var created, expires int64
	err := s.ws[qTakeCeremony].QueryRowContext(ctx, id).Scan(&c.Kind, &userID, &c.Data, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, s.fail(ctx, "TakeCeremony", err)
	}
	c.UserID = userID.String
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &c, nil
}
