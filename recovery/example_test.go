package recovery_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/memory"
)

func ExampleRecovery_RequestPasswordReset() {
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes, from the environment"),
	})
	if err != nil {
		log.Fatal(err)
	}
	mails := make(printMailer, 2)
	r, err := recovery.New(a, recovery.Config{Mailer: mails, PublicURL: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	ctx := context.Background()
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery staple", Email: "alice@example.com"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println((<-mails).Subject) // signing up with an email mails a verification link

	// The same nil for an address no account has: nothing tells them apart.
	fmt.Println(r.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.7"}, "nobody@example.com"))
	fmt.Println(r.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.7"}, " Alice@Example.com"))

	// The mail is made and sent off the request path.
	msg := <-mails
	fmt.Println(msg.To, "/", msg.Subject)
	var link string
	for _, line := range strings.Split(msg.Text, "\n") {
		if strings.HasPrefix(line, "https://") {
			link = line
		}
	}
	token := strings.TrimPrefix(link, "https://auth.example.com/reset-password?token=")
	fmt.Println(len(token))

	// The link's page posts the token and the new password; the token is
	// spent, every session ends, and the email counts as verified.
	fmt.Println(r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "short", Client: auth.Client{Addr: "192.0.2.7"}}))
	fmt.Println(r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "a new passphrase for alice", Client: auth.Client{Addr: "192.0.2.7"}}))
	fmt.Println(r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "another passphrase for alice", Client: auth.Client{Addr: "192.0.2.7"}}))
	// Output:
	// Confirm your email address
	// <nil>
	// <nil>
	// alice@example.com / Reset your password
	// 43
	// auth: invalid password: the password must be at least 8 characters long
	// <nil>
	// recovery: invalid or expired link
}

// printMailer is a Mailer of the kind a service with its own mail provider
// writes: one method, handed a Message with a text and an HTML part.
type printMailer chan *recovery.Message

func (m printMailer) Send(ctx context.Context, msg *recovery.Message) error {
	m <- msg // a real one would call its provider here, and honour ctx
	return nil
}
