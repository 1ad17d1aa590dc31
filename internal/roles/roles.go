// Package roles holds the rules of role names, which the core (a new
// account's roles) and package admin (an administrator's change) check
// alike.
package roles

import "slices"

// Role rules: at most Max per user, each 1 to MaxBytes characters of a-z,
// 0-9, '_', '-', '.' and ':'.
const (
	Max      = 32
	MaxBytes = 64
)

// Clean checks roles and returns them sorted, without duplicates (nil for
// none); ok is false when one breaks the rules, or there are too many.
func Clean(roles []string) (clean []string, ok bool) {
	if len(roles) > Max {
		return nil, false
	}
	for _, r := range roles {
		if !valid(r) {
			return nil, false
		}
	}
	if len(roles) == 0 {
		return nil, true
	}
	clean = slices.Clone(roles)
	slices.Sort(clean)
	return slices.Compact(clean), true
}

// valid reports whether r is a role name.
func valid(r string) bool {
	if len(r) == 0 || len(r) > MaxBytes {
		return false
	}
	for i := 0; i < len(r); i++ {
		switch c := r[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
