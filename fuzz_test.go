package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireSeeds fails the fuzz test if its committed seed corpus is missing,
// so the corpus can never silently disappear.
func requireSeeds(f *testing.F, min int) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < min {
		f.Fatalf("seed corpus %s: %d files (%v), want at least %d", dir, len(entries), err, min)
	}
}

// FuzzVerify feeds arbitrary strings to the access-token verifier. It must
// never panic, and it may accept only tokens that are canonical (each
// segment the unique base64url encoding of its bytes) and really signed
// with the test key.
func FuzzVerify(f *testing.F) {
	requireSeeds(f, 10)
	ks, key := testKeySet(f)
	clock := &testClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	v := testVerifier(f, ks, clock)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d segments", len(parts))
		}
		for _, p := range parts {
			b, err := base64.RawURLEncoding.Strict().DecodeString(p)
			if err != nil || base64.RawURLEncoding.EncodeToString(b) != p {
				t.Fatalf("accepted a non-canonical segment %q", p)
			}
		}
		sig, _ := key.method.Sign(parts[0]+"."+parts[1], key.sign)
		if base64.RawURLEncoding.EncodeToString(sig) != parts[2] {
			t.Fatal("accepted a token not signed with the key")
		}
		if c.Issuer != "iss" || c.Subject == "" || c.ExpiresAt.IsZero() {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

// FuzzParseBearer feeds arbitrary Authorization headers (one, or the same
// twice) to ParseBearer. It must never panic; a returned token is always a
// non-empty b64token.
func FuzzParseBearer(f *testing.F) {
	requireSeeds(f, 5)
	f.Fuzz(func(t *testing.T, value string, twice bool) {
		h := http.Header{}
		h.Add("Authorization", value)
		if twice {
			h.Add("Authorization", value)
		}
		tok, err := ParseBearer(h)
		if err != nil {
			if tok != "" {
				t.Fatal("token returned with an error")
			}
			return
		}
		if twice {
			t.Fatal("accepted two Authorization headers")
		}
		if tok == "" || !isB64Token(tok) || !strings.HasSuffix(value, tok) {
			t.Fatalf("ParseBearer(%q) = %q", value, tok)
		}
	})
}

// FuzzScanObject checks the strict JSON reader of token headers and claims
// against encoding/json: whatever it accepts is valid JSON, and it refuses
// a valid JSON object only for a repeated (or case-variant) member name or
// excessive nesting.
func FuzzScanObject(f *testing.F) {
	requireSeeds(f, 5)
	f.Fuzz(func(t *testing.T, raw []byte) {
		members := 0
		err := scanObject(raw, func(name string, value []byte) error {
			members++
			if !json.Valid(value) {
				t.Fatalf("member %q has invalid value %q", name, value)
			}
			return nil
		})
		valid := json.Valid(raw)
		trimmed := bytes.TrimLeft(raw, " \t\r\n")
		isObject := valid && len(trimmed) > 0 && trimmed[0] == '{'
		switch {
		case err == nil && !isObject:
			t.Fatalf("accepted %q, which is not a JSON object", raw)
		case err != nil && isObject:
			msg := err.Error()
			if !strings.HasPrefix(msg, "duplicate member") && !strings.Contains(msg, "nested too deeply") {
				t.Fatalf("refused the valid object %q: %v", raw, err)
			}
		}
	})
}
