package redislimit_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/loginbench"
	"github.com/goauthkit/auth/redislimit"
)

// BenchmarkLoginOverhead: a login but its hash, on the memory store and the
// Redis limiter.
func BenchmarkLoginOverhead(b *testing.B) {
	url := os.Getenv("AUTH_TEST_REDIS_URL")
	if url == "" {
		b.Skip("AUTH_TEST_REDIS_URL not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	defer c.Close()
	prefix := "goauthkit-bench:{" + rand.Text()[:8] + "}:"
	defer func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	}()
	l, err := redislimit.New(c, redislimit.Config{KeyPrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	loginbench.Run(b, auth.NewMemoryStore(), l)
}
