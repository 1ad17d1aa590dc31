package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// FuzzScanObject checks scanObject, under the rules of tokens and of
// request bodies, against encoding/json: it must never panic; what it
// accepts must be one valid JSON object, of valid UTF-8, without repeated
// names, whose members are valid JSON; what it refuses as bad syntax must
// be invalid JSON; and the two rules may differ only on duplicates. The
// body path's decoding (parseJSONObject) must agree with encoding/json on
// what it accepts, and answer every error with a *RequestError.
func FuzzScanObject(f *testing.F) {
	requireSeeds(f, 30)
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data)
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		isObject := valid && len(trimmed) > 0 && trimmed[0] == '{'
		var errs [2]error
		for k, rules := range []jsonRules{tokenJSON, bodyJSON} {
			var names [][]byte
			err := scanObject(data, rules, func(name, value []byte) error {
				if !json.Valid(value) {
					t.Fatalf("%+v: member %q has invalid value %q", rules, name, value)
				}
				for _, n := range names {
					if bytes.Equal(n, name) || rules.foldNames && bytes.EqualFold(n, name) {
						t.Fatalf("%+v: %q: repeated name %q", rules, data, name)
					}
				}
				names = append(names, name)
				return nil
			})
			errs[k] = err
			switch {
			case err == nil && !isObject:
				t.Fatalf("%+v: accepted %q, which is not a JSON object", rules, data)
			case err == nil && !utf8.Valid(data):
				t.Fatalf("%+v: accepted invalid UTF-8 %q", rules, data)
			case err == nil:
			case err == jsonErrSyntax && valid:
				t.Fatalf("%+v: refused valid JSON %q as bad syntax", rules, data)
			case err == jsonErrNotObject && isObject:
				t.Fatalf("%+v: refused the object %q as not an object", rules, data)
			case err == jsonErrUTF8 && utf8.Valid(data):
				t.Fatalf("%+v: refused valid UTF-8 %q as invalid", rules, data)
			case err == jsonErrSurrogate && !bytes.Contains(data, []byte(`\u`)):
				t.Fatalf("%+v: refused %q for a surrogate escape", rules, data)
			}
			if _, ok := err.(jsonError); err != nil && !ok {
				t.Fatalf("%+v: error %v is not a jsonError", rules, err)
			}
		}
		if errs[0] != errs[1] && errs[0] != jsonErrDuplicate && errs[1] != jsonErrDuplicate {
			t.Fatalf("%q: token rules say %v, body rules %v", data, errs[0], errs[1])
		}

		obj, err := parseJSONObject(data)
		if err != nil {
			if _, ok := errors.AsType[*RequestError](err); !ok || err != bodyJSONErrors[errs[1].(jsonError)] {
				t.Fatalf("parseJSONObject(%q) = %v, scanObject said %v", data, err, errs[1])
			}
			return
		}
		// UseNumber: numbers beyond float64 (1e700) are valid JSON.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		if len(m) != len(obj) {
			t.Fatalf("%q: %d members, encoding/json sees %d", data, len(obj), len(m))
		}
		for name, v := range obj {
			got, ok := m[name]
			if !ok {
				t.Fatalf("%q: member %q unknown to encoding/json", data, name)
			}
			switch v.kind {
			case jsonString:
				if s, _ := got.(string); s != v.str || !utf8.ValidString(v.str) {
					t.Fatalf("%q: member %q = %q, encoding/json says %q", data, name, v.str, got)
				}
			case jsonNull:
				if got != nil {
					t.Fatalf("%q: member %q null, encoding/json says %v", data, name, got)
				}
			}
		}
	})
}

// FuzzLoginName feeds arbitrary login names, NFKC-expanding ones among the
// seeds, to Login. It must never panic nor reach the store or the limiter
// with a name over 320 bytes or text a store cannot keep; every other name
// costs one password check and at most two remembered budgets, whatever
// its length after normalisation.
func FuzzLoginName(f *testing.F) {
	requireSeeds(f, 10)
	h := &countingHasher{Hasher: htPlainHasher{}}
	lim := NewMemoryLimiter(LimiterConfig{})
	store := NewMemoryStore()
	a, err := New(Config{Store: store, SecretKey: testSecret, Hasher: h, Limiter: lim,
		Limits: Limits{LoginUsername: Rate{Burst: 1 << 30, Interval: time.Minute}, LoginAddress: Rate{Burst: 1 << 30, Interval: time.Minute}}})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := a.Register(context.Background(), NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		before := len(h.hashes)
		_, err := a.Login(context.Background(), Credentials{Username: name, Password: "wrong password!", ClientAddr: "192.0.2.1"})
		checks := len(h.hashes) - before
		switch {
		case len(name) > 320 || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0:
			if !errors.Is(err, ErrInvalidInput) || checks != 0 {
				t.Fatalf("Login(%d bytes) = %v after %d checks, want ErrInvalidInput before any", len(name), err, checks)
			}
		case errors.Is(err, ErrInvalidCredentials):
			if checks != 1 {
				t.Fatalf("%d password checks, want 1", checks)
			}
		default:
			t.Fatalf("Login(%q) = %v", name, err)
		}
		if len(name) <= 320 {
			if n := NormalizeUsername(name); len(n) > 18*len(name)+3 {
				t.Fatalf("%d bytes normalised to %d", len(name), len(n))
			}
		}
		if lim.Len() > 100_000 {
			t.Fatalf("the limiter holds %d budgets", lim.Len())
		}
	})
}
