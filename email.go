package auth

import (
	"net/mail"
	"strings"
)

// NormalizeEmail returns the form of an email address the library stores
// and compares: surrounding white space trimmed, lower case. Two addresses
// that differ only in case are one account's.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// validEmail reports whether e (normalised) is a bare address a store can
// keep: local@domain, at most 254 bytes, as net/mail reads it.
func validEmail(e string) bool {
	if len(e) > 254 || !storable(e) || !strings.Contains(e, "@") {
		return false
	}
	addr, err := mail.ParseAddress(e)
	return err == nil && addr.Address == e && addr.Name == ""
}
