package passkey

import (
	"context"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/passkey/passkeytest"
	"github.com/goauthkit/auth/store/memory"
)

// BenchmarkVerify is the verification alone: an assertion parsed
// (go-webauthn's JSON and CBOR) and checked against its ceremony and its
// public key (ES256), with no store and no session.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	const origin = "http://localhost:8080"
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("0123456789abcdef0123456789abcdef-bench")})
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(a, Config{RPID: "localhost", Origins: []string{origin}})
	if err != nil {
		b.Fatal(err)
	}
	key := passkeytest.New(origin)
	s, _ := p.BeginSignup(ctx, Signup{Username: "alice"})
	cred, _ := key.Create(s.Options)
	u, _, err := p.FinishSignup(ctx, SignupFinish{Ceremony: s.Ceremony, Credential: cred})
	if err != nil {
		b.Fatal(err)
	}
	begun, _ := p.BeginLogin(ctx, auth.Client{})
	assertion, _ := key.Get(begun.Options)
	st, err := p.take(ctx, begun.Ceremony, kindLogin, "")
	if err != nil {
		b.Fatal(err)
	}
	cs, _ := p.store.Credentials(ctx, u.ID)
	handle, _ := p.store.UserHandle(ctx, u.ID, nil)
	owner := &user{handle: handle, name: u.Username, creds: []webauthn.Credential{toWebAuthn(&cs[0])}}
	b.ReportAllocs()
	for b.Loop() {
		parsed, err := protocol.ParseCredentialRequestResponseBytes(assertion)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := p.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return owner, nil }, st.Session, parsed); err != nil {
			b.Fatal(err)
		}
	}
}
