package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goauthkit/auth/internal/sharedlimit"
	"github.com/goauthkit/auth/internal/testenv"
)

// TestReserveScriptAgain: the reserve script run twice with one token (a
// client's retry after a lost reply) takes one attempt, not two.
func TestReserveScriptAgain(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	var id [16]byte
	rand.Read(id[:])
	h := "goauthkit-test:script:" + hex.EncodeToString(id[:])
	keys := []string{h, h + ":leases"}
	defer c.Del(ctx, keys...)
	lease, iv := sharedlimit.Micros(time.Minute), sharedlimit.Micros(time.Hour)
	for i := range 2 {
		reply, err := reserveScript.Run(ctx, c, keys, "token", lease, iv, 1*iv).Int64Slice()
		if err != nil || len(reply) != 2 || reply[0] != replyGranted {
			t.Fatalf("run %d: reply %v, %v; want granted", i+1, reply, err)
		}
	}
	if n, err := c.ZCard(ctx, h+":leases").Result(); err != nil || n != 1 {
		t.Fatalf("%d leases, %v; want 1", n, err)
	}
	reply, err := reserveScript.Run(ctx, c, keys, "other", lease, iv, 1*iv).Int64Slice()
	if err != nil || len(reply) != 2 || reply[0] != replyHeld {
		t.Fatalf("another token: reply %v, %v; want held", reply, err)
	}
}
