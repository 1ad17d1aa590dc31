package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/goauthkit/auth/internal/loginbench"
	"github.com/goauthkit/auth/store/sqlite"
)

// BenchmarkLoginOverhead: a login but its hash, on the SQLite store (as
// the example server opens it) and the memory limiter.
func BenchmarkLoginOverhead(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "auth.db"), sqlite.Config{ExclusiveLock: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	loginbench.Run(b, s, nil)
}
