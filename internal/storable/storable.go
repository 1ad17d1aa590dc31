// Package storable says which text a store can keep and match: valid UTF-8
// without a NUL (see auth.UserStore). The Authenticator refuses other text
// before it reaches a store, and store/memory refuses it as the stores over
// databases do.
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
