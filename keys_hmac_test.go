package auth

import (
	"bytes"
	"crypto/rand"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestPreKeyedHMAC checks the pooled, pre-keyed HMAC states against
// golang-jwt's signing methods (which key a fresh HMAC on every call), for
// every HMAC algorithm and for inputs short, long, and longer than the
// scratch buffer a pooled state keeps; and that a wrong, truncated, extended
// or empty signature is refused.
func TestPreKeyedHMAC(t *testing.T) {
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		secret := make([]byte, hmacMinBytes[alg]+7)
		rand.Read(secret)
		k, err := NewHMACKey("k", alg, secret)
		if err != nil {
			t.Fatal(err)
		}
		method := jwt.GetSigningMethod(alg)
		for _, n := range []int{0, 1, 63, 64, 65, 300, maxPooledInput, maxPooledInput + 1, 3 * maxPooledInput} {
			input := strings.Repeat("a.b-", n/4+1)[:n]
			want, err := method.Sign(input, secret)
			if err != nil {
				t.Fatal(err)
			}
			// Twice, so that the second call reuses a pooled state.
			for range 2 {
				got, err := k.signature(input, false)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s, %d bytes: signature differs from golang-jwt's", alg, n)
				}
			}
			if err := k.checkSignature(input, want); err != nil {
				t.Fatalf("%s, %d bytes: golang-jwt's signature refused: %v", alg, n, err)
			}
			flipped := bytes.Clone(want)
			flipped[len(flipped)-1] ^= 1
			for name, bad := range map[string][]byte{
				"flipped": flipped, "truncated": want[:len(want)-1],
				"extended": append(bytes.Clone(want), 0), "empty": nil,
			} {
				if k.checkSignature(input, bad) == nil {
					t.Errorf("%s, %d bytes: %s signature accepted", alg, n, name)
				}
			}
			if method.Verify(input+"x", want, secret) == nil || k.checkSignature(input+"x", want) == nil {
				t.Errorf("%s, %d bytes: signature accepted for another input", alg, n)
			}
		}
	}
}

// TestPreKeyedHMACConcurrent has many goroutines sign different inputs with
// one key at once: every MAC must be the one for its own input (run it with
// -race).
func TestPreKeyedHMACConcurrent(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	k, _ := NewHMACKey("k", "HS256", secret)
	method := jwt.GetSigningMethod("HS256")
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				input := strings.Repeat(string(rune('a'+g)), 50+i)
				want, _ := method.Sign(input, secret)
				got, _ := k.signature(input, false)
				if !bytes.Equal(got, want) {
					t.Errorf("goroutine %d, input %d: wrong MAC", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
}
