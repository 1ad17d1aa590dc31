// Package audit is the audit log of an auth.Authenticator: Log turns its
// events (auth.Config.OnEvent, and the events of feature packages such as
// recovery, which reach the same sink) into log lines.
package audit

import (
	"context"
	"log/slog"
	"strings"

	"github.com/goauthkit/auth"
)

// Log returns an auth.Config.OnEvent sink that writes each event as one log line
// on logger, message "audit": the event type, the account's id and
// username, the client address, the session, the reason of a failure, and
// for an administrator's change who made it (actor) and what changed, and
// how a login was made (methods, RFC 8176 amr values), each
// only when set. Failures that point at an attack or a broken dependency
// (throttling, refresh-token reuse, and a feature's events marked Warning,
// such as a mail that failed) are warnings, the rest information.
//
// What an Event may hold of an email address stays out of the line
// (personal data, and a log is copied widely): its Email, a username that
// holds an '@' (usernames may look like addresses), and the login name of
// an account that does not exist (it may be anything a user typed, an
// address or a password in the wrong field included); the library's mail
// failure reasons hold none. Events never hold a password, a hash, a
// secret or a token.
func Log(logger *slog.Logger) func(context.Context, auth.Event) {
	return func(ctx context.Context, e auth.Event) {
		level := slog.LevelInfo
		if e.Warning || e.Type == auth.EventLoginThrottled || e.Type == auth.EventRefreshReuse {
			level = slog.LevelWarn
		}
		if !logger.Enabled(ctx, level) {
			return
		}
		attrs := make([]slog.Attr, 0, 8)
		attrs = append(attrs, slog.String("event", string(e.Type)))
		username := e.Username
		if e.UserID == "" || strings.Contains(username, "@") {
			username = ""
		}
		for _, a := range [...]struct{ k, v string }{
			{"user_id", e.UserID}, {"username", username}, {"client_addr", e.ClientAddr},
			{"session", e.SessionID}, {"reason", e.Reason}, {"actor", e.Actor}, {"change", e.Change},
			{"methods", strings.Join(e.Methods, " ")},
		} {
			if a.v != "" {
				attrs = append(attrs, slog.String(a.k, a.v))
			}
		}
		logger.LogAttrs(ctx, level, "audit", attrs...)
	}
}
