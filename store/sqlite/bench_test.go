package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

// benchModes are the two ways to open a Store: shared (the default) and
// Config.ExclusiveLock, where UserByID is answered from the cache after the
// first read.
var benchModes = []struct {
	name string
	cfg  Config
}{
	{"shared", Config{}},
	{"exclusive", Config{ExclusiveLock: true}},
}

func benchStore(b *testing.B, cfg Config) *Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "auth.db"), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchUser opens a Store with opts and creates one user in it.
func benchUser(b *testing.B, cfg Config) (*Store, *auth.User) {
	b.Helper()
	s := benchStore(b, cfg)
	u := user("alice")
	if err := s.CreateUser(context.Background(), u); err != nil {
		b.Fatal(err)
	}
	return s, u
}

func BenchmarkUserByID(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			s, u := benchUser(b, m.cfg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.UserByID(ctx, u.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUserBySession is the lookup behind every access token issued in
// a session: the user, and whether the session is live.
func BenchmarkUserBySession(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			s, u := benchUser(b, m.cfg)
			now := time.Now()
			sess := &auth.Session{ID: "s1", UserID: u.ID, TokenHash: make([]byte, 32), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateSession(ctx, sess); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.UserBySession(ctx, u.ID, "s1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUserByIDParallel(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			s, u := benchUser(b, m.cfg)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.UserByID(ctx, u.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRotateSession rotates one session over and over, each time
// presenting the current token, so every rotation succeeds and commits.
func BenchmarkRotateSession(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	sess := &auth.Session{ID: "s1", UserID: u.ID, TokenHash: sha("t0"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	// Precompute the hashes so that only the store is measured.
	const ring = 1024
	hashes := make([][]byte, ring)
	for i := range hashes {
		hashes[i] = sha(fmt.Sprint("t", i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := auth.Rotation{SessionID: sess.ID, Presented: hashes[i%ring], Next: hashes[(i+1)%ring], Now: t0, ExpiresAt: t0.Add(time.Hour)}
		if _, err := s.RotateSession(ctx, r); err != nil {
			b.Fatalf("rotation %d: %v", i, err)
		}
		i++
	}
}

// plainHasher makes BenchmarkLogin measure the store's part of a login:
// its "hash" is the password itself. Not internal/authtest's PlainHasher,
// whose SHA-256 and hexadecimal strings would add their time and
// allocations to what the benchmark reports.
type plainHasher struct{}

func (plainHasher) Hash(p string) (string, error) { return "$plain$" + p, nil }

func (plainHasher) Verify(p, encoded string) error {
	if encoded != "$plain$"+p {
		return auth.ErrPasswordMismatch
	}
	return nil
}

func (plainHasher) NeedsRehash(string) bool { return false }

// BenchmarkLogin is a whole auth.Login over each mode of the store, with a
// hasher that costs nothing: what a login costs besides its hash (the
// lookup by username, and the new session's durable commit).
func BenchmarkLogin(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			a, err := auth.New(auth.Config{
				Store:     benchStore(b, m.cfg),
				SecretKey: []byte("0123456789abcdef0123456789abcdef-test-only"),
				Passwords: auth.PasswordConfig{Hasher: plainHasher{}},
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery", Client: auth.Client{Addr: "192.0.2.1"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
