package auth

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanUserAgent makes a client-supplied string fit for a session record
// and for showing to a user: valid UTF-8, control characters (NUL
// included) as spaces, white space trimmed, at most maxUserAgentBytes (cut
// on a character boundary). The work is bounded: at most four times
// maxUserAgentBytes of the input are looked at.
func cleanUserAgent(s string) string {
	if len(s) > 4*maxUserAgentBytes {
		s = s[:4*maxUserAgentBytes]
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > maxUserAgentBytes {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// ListSessions returns the user's live logins (sessions neither revoked,
// expired, nor ended by a logout-all or a password change), newest first:
// each with its id (an access token's Claims.SessionID names the one it
// belongs to), when it was opened and last refreshed (RotatedAt), and its
// user agent. Token hashes are left out. An unknown user is ErrNotFound.
func (a *Authenticator) ListSessions(ctx context.Context, userID string) ([]*Session, error) {
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	all, err := a.store.SessionsByUser(ctx, userID, a.timestamp())
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, s := range all {
		if s.UserVersion == u.TokenVersion {
			s.TokenHash = nil
			live = append(live, s)
		}
	}
	return live, nil
}

// capSessions ends the least recently used live logins of u past
// Config.Sessions.Max, after a login opened one.
func (a *Authenticator) capSessions(ctx context.Context, u *User, c Client) error {
	ended, err := a.store.TrimSessions(ctx, u.ID, a.maxSessions, a.timestamp())
	for _, id := range ended {
		a.emit(ctx, Event{Type: EventSessionRevoked, UserID: u.ID, SessionID: id, Reason: "too many logins", ClientAddr: c.Addr})
	}
	return err
}

// RevokeSession ends one login of the user: its refresh tokens are revoked
// and its access tokens refused from now on, on every instance sharing the
// store. It returns ErrNotFound unless sessionID is a live session of
// userID (another user's session is not found either). c is who asks, for
// the event.
func (a *Authenticator) RevokeSession(ctx context.Context, c Client, userID, sessionID string) error {
	live, err := a.ListSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, s := range live {
		if s.ID == sessionID {
			if err := a.store.RevokeSession(ctx, sessionID); err != nil {
				return err
			}
			a.emit(ctx, Event{Type: EventSessionRevoked, UserID: userID, SessionID: sessionID, ClientAddr: c.Addr})
			return nil
		}
	}
	return ErrNotFound
}
