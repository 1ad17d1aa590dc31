package passkey_test

import (
	"errors"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/passkey"
)

// FuzzFinishLogin: whatever credential a client sends to a login, the
// finish answers one of the refusals and signs no one in (the seeds in
// testdata/fuzz/FuzzFinishLogin are a real assertion and its mangled
// copies).
func FuzzFinishLogin(f *testing.F) {
	e := newEnv(f)
	e.register(f, e.user(f, "alice"))
	b, err := e.p.BeginLogin(ctx, auth.Client{})
	if err != nil {
		f.Fatal(err)
	}
	real, err := e.key.Get(b.Options)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{}}`))
	f.Fuzz(func(t *testing.T, credential []byte) {
		b, err := e.p.BeginLogin(ctx, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		pair, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: b.Ceremony, Credential: credential})
		if err == nil {
			t.Fatalf("a fuzzed credential signed in: %q (%v)", credential, pair != nil)
		}
		if !errors.Is(err, passkey.ErrInvalidCredential) && !errors.Is(err, passkey.ErrUnknownCredential) {
			t.Fatalf("FinishLogin: %v", err)
		}
	})
}

// FuzzFinishRegistration: whatever credential a client sends to a
// registration, the finish refuses it and adds no passkey, or adds a
// verified one.
func FuzzFinishRegistration(f *testing.F) {
	e := newEnv(f)
	u := e.user(f, "alice")
	b, err := e.p.BeginRegistration(ctx, u, auth.Client{})
	if err != nil {
		f.Fatal(err)
	}
	real, err := e.key.Create(b.Options)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Fuzz(func(t *testing.T, credential []byte) {
		b, err := e.p.BeginRegistration(ctx, u, auth.Client{})
		if errors.Is(err, passkey.ErrTooMany) {
			t.Skip("as many passkeys as a user may")
		}
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.p.FinishRegistration(ctx, passkey.Registration{User: u, Ceremony: b.Ceremony, Credential: credential, Client: auth.Client{}})
		if err != nil && !errors.Is(err, passkey.ErrInvalidCredential) {
			t.Fatalf("FinishRegistration: %v", err)
		}
	})
}
