//go:build race

package auth

// raceEnabled reports whether the tests run under the race detector, which
// makes some of them (bcrypt, allocation-heavy loops) ten times slower.
const raceEnabled = true
