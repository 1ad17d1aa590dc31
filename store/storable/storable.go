// Package storable says which text a store can keep and match: valid UTF-8
// without a NUL, the rule of auth.UserStore's contract. The Authenticator
// refuses other text before it reaches a store; a store of a service's own
// (over its own users table) uses Strings to answer as the contract says
// for what reaches it some other way: auth.ErrInvalidInput for such a
// value to store, auth.ErrNotFound for such a key to look up, as
// store/memory does, and as PostgreSQL and SQLite stores do through their
// databases' text types. store/storetest checks both.
package storable

import (
	"strings"
	"unicode/utf8"
)

// Strings reports whether every one of values is text a store can keep and
// match: valid UTF-8 without a NUL.
func Strings(values ...string) bool {
	for _, v := range values {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}
