package passkey_test

import (
	"context"
	"fmt"
	"log"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/passkey"
	"github.com/goauthkit/auth/passkey/passkeytest"
	"github.com/goauthkit/auth/store/memory"
)

// A passkey from registration to login: the options go to the browser
// (here a software authenticator stands in for navigator.credentials),
// its credential comes back with the ceremony token, and a login signs the
// user in with a second factor's strength.
func Example() {
	ctx := context.Background()
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("an example key of at least 32 bytes, not for production")})
	if err != nil {
		log.Fatal(err)
	}
	p, err := passkey.New(a, passkey.Config{RPID: "example.com", Origins: []string{"https://example.com"}})
	if err != nil {
		log.Fatal(err)
	}
	browser := passkeytest.New("https://example.com")

	// A sign-up with a passkey: an account without a password.
	begun, err := p.BeginSignup(ctx, passkey.Signup{Username: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	credential, err := browser.Create(begun.Options) // navigator.credentials.create
	if err != nil {
		log.Fatal(err)
	}
	u, _, err := p.FinishSignup(ctx, passkey.SignupFinish{Ceremony: begun.Ceremony, Credential: credential})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed up:", u.Username, "with a password:", u.PasswordHash != "")

	// Later, "Sign in with a passkey": no username asked.
	begun, err = p.BeginLogin(ctx, auth.Client{})
	if err != nil {
		log.Fatal(err)
	}
	assertion, err := browser.Get(begun.Options) // navigator.credentials.get
	if err != nil {
		log.Fatal(err)
	}
	pair, err := p.FinishLogin(ctx, passkey.Login{Ceremony: begun.Ceremony, Credential: assertion})
	if err != nil {
		log.Fatal(err)
	}
	who, claims, err := a.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", who.Username, "amr:", claims.Methods)

	// Its only passkey is its last way in.
	_, keys, _ := p.List(ctx, u.ID)
	fmt.Println(p.Remove(ctx, u, keys[0].ID, auth.Client{}))
	// Output:
	// signed up: alice with a password: false
	// signed in: alice amr: [pop mfa]
	// passkey: it is the account's last way to sign in
}
