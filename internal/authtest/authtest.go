// Package authtest holds the helpers that the tests of this repository's
// packages share: a settable clock (Clock), a fast and insecure password
// hasher (PlainHasher) and a recorder of events (Events). It is for tests
// only; nothing outside a _test.go file may import it.
//
// It imports the standard library and package auth only, so that the tests
// of every module of the workspace can import it (the internal rule is by
// path: github.com/goauthkit/auth/... may). The root package's own tests
// (package auth) cannot: authtest imports auth, and that would be an import
// cycle; they keep their copies of these helpers.
package authtest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

// Clock is a clock that moves only when a test moves it, for
// auth.Config.Now and the like. It is safe for concurrent use (mail
// workers and servers read it while the test advances it).
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads t until it is advanced.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d (backwards for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// PlainHashPrefix begins every hash of PlainHasher, so that a test can
// check that no password hash shows where it must not (a response, a log):
// it looks for this prefix.
const PlainHashPrefix = "$plain-sha256$"

// PlainHasher is a fast, insecure auth.Hasher for the tests whose subject
// is not hashing, where the cost of a real hash (seconds under the race
// detector) would only slow them down. Its hash is PlainHashPrefix followed
// by the hexadecimal SHA-256 of the password, unsalted: never use it
// outside tests.
type PlainHasher struct{}

var _ auth.Hasher = PlainHasher{}

// Hash returns PlainHashPrefix and the hexadecimal SHA-256 of p.
func (PlainHasher) Hash(p string) (string, error) {
	s := sha256.Sum256([]byte(p))
	return PlainHashPrefix + hex.EncodeToString(s[:]), nil
}

// Verify returns nil if encoded is p's hash, compared in constant time,
// and auth.ErrPasswordMismatch otherwise (also for a hash that is not
// PlainHasher's).
func (h PlainHasher) Verify(p, encoded string) error {
	if want, _ := h.Hash(p); subtle.ConstantTimeCompare([]byte(want), []byte(encoded)) != 1 {
		return auth.ErrPasswordMismatch
	}
	return nil
}

// NeedsRehash returns false: no hash is ever outdated.
func (PlainHasher) NeedsRehash(string) bool { return false }

// Events records events, for a test to check what was emitted: its Add is
// an auth.Config.OnEvent (and the like). The zero Events is ready to use,
// and it is safe for concurrent use.
type Events struct {
	mu     sync.Mutex
	events []auth.Event
	// changed, when not nil, is closed at the next Add (for Wait).
	changed chan struct{}
}

// Add records e.
func (l *Events) Add(_ context.Context, e auth.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// All returns a copy of the events recorded so far, in order.
func (l *Events) All() []auth.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]auth.Event(nil), l.events...)
}

// Take returns the events recorded since the last Take (or since the
// start), in order, and forgets them.
func (l *Events) Take() []auth.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := l.events
	l.events = nil
	return evs
}

// Count returns how many of the events recorded are of type typ and
// satisfy each of match (if any).
func (l *Events) Count(typ auth.EventType, match ...func(auth.Event) bool) int {
	n := 0
	for _, e := range l.All() {
		if matches(e, typ, match) {
			n++
		}
	}
	return n
}

// Last returns the last event recorded of type typ that satisfies each of
// match (if any), or the zero auth.Event if there is none.
func (l *Events) Last(typ auth.EventType, match ...func(auth.Event) bool) auth.Event {
	evs := l.All()
	for i := len(evs) - 1; i >= 0; i-- {
		if matches(evs[i], typ, match) {
			return evs[i]
		}
	}
	return auth.Event{}
}

// waitFor is how long Wait waits (a variable for this package's test).
var waitFor = 10 * time.Second

// Wait returns the first event recorded of type typ that satisfies each of
// match (if any), once there is one: for an event that another goroutine
// emits (a mail worker's). After 10 seconds without one, it fails the test
// with t.Fatalf; like Fatalf, it must be called from the test's goroutine.
func (l *Events) Wait(t testing.TB, typ auth.EventType, match ...func(auth.Event) bool) auth.Event {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, e := range l.events {
			if matches(e, typ, match) {
				l.mu.Unlock()
				return e
			}
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		n := len(l.events)
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("after %v, no event %s that matches, of %d recorded", waitFor, typ, n)
			return auth.Event{}
		}
	}
}

// About matches the events about the address email (auth.Event.Email).
func About(email string) func(auth.Event) bool {
	return func(e auth.Event) bool { return e.Email == email }
}

// matches reports whether e is of type typ and satisfies each of match.
func matches(e auth.Event, typ auth.EventType, match []func(auth.Event) bool) bool {
	if e.Type != typ {
		return false
	}
	for _, m := range match {
		if !m(e) {
			return false
		}
	}
	return true
}
