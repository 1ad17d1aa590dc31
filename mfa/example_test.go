package mfa_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/store/memory"
)

// A user turns an authenticator app on; from then on a password alone
// yields a challenge, which a code of the app completes.
func Example() {
	ctx := context.Background()
	clock := authtest.NewClock(time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC))
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: testSecret, Now: clock.Now})
	if err != nil {
		log.Fatal(err)
	}
	// The key comes from the service's secrets (the example server's
	// AUTH_ENCRYPTION_KEY), never from the database.
	m, err := mfa.New(a, mfa.Config{Key: testKey, Issuer: "Example"})
	if err != nil {
		log.Fatal(err)
	}
	u, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery"})
	if err != nil {
		log.Fatal(err)
	}
	login, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery"})
	if err != nil {
		log.Fatal(err)
	}
	_, claims, err := a.Authenticate(ctx, login.AccessToken)
	if err != nil {
		log.Fatal(err)
	}

	// Enrol: the user scans en.QRCode (or types en.Secret) into the app,
	// then confirms with the code it shows.
	owner := mfa.Owner{User: u, Password: "correct horse battery", Claims: claims}
	en, err := m.Enrol(ctx, owner)
	if err != nil {
		log.Fatal(err)
	}
	recoveryCodes, err := m.Confirm(ctx, owner, appCode(en.Secret, clock.Now()))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(recoveryCodes), "recovery codes, shown once")

	// Later: the password yields a challenge, a code completes it.
	clock.Advance(30 * time.Second)
	_, err = a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery"})
	var ch *mfa.Challenge
	if !errors.As(err, &ch) {
		log.Fatalf("want a challenge, got %v", err)
	}
	pair, err := m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: appCode(en.Secret, clock.Now())})
	if err != nil {
		log.Fatal(err)
	}
	_, claims, err = a.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("amr:", claims.Methods)
	// Output:
	// 10 recovery codes, shown once
	// amr: [pwd otp mfa]
}
