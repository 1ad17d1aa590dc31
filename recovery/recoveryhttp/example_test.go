package recoveryhttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/recovery/recoveryhttp"
	"github.com/goauthkit/auth/store/memory"
)

// chanMailer stands for a real recovery.Mailer (package mail's SMTP one,
// a mail provider's API): it hands each mail to the example.
type chanMailer chan *recovery.Message

func (m chanMailer) Send(ctx context.Context, msg *recovery.Message) error {
	m <- msg
	return nil
}

// Mount account recovery's routes beside authhttp's, in one Router at the
// root of recovery.Config.PublicURL, with an OpenAPI document of both.
func Example() {
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes!"),
	})
	if err != nil {
		panic(err)
	}
	mails := make(chanMailer, 4)
	rec, err := recovery.New(a, recovery.Config{Mailer: mails, PublicURL: "https://auth.example.com"})
	if err != nil {
		panic(err)
	}
	// Deferred first, so run last: after the server stops, the mails
	// queued are sent.
	defer rec.Shutdown(context.Background())
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		panic(err)
	}
	routes := append(h.Routes(), recoveryhttp.New(h, rec).Routes()...)
	doc, err := authhttp.OpenAPIRoute(routes)
	if err != nil {
		panic(err)
	}
	rt := authhttp.NewRouter()
	rt.Mount(append(routes, doc))
	srv := httptest.NewServer(rt)
	defer srv.Close()

	res, _ := http.Post(srv.URL+"/signup", "application/json",
		strings.NewReader(`{"username": "alice", "password": "correct horse battery staple", "email": "alice@example.com"}`))
	res.Body.Close()
	fmt.Println("signup:", res.StatusCode)
	m := <-mails
	fmt.Println("mail to", m.To+":", m.Subject)

	res, _ = http.Post(srv.URL+"/password/forgot", "application/json", strings.NewReader(`{"email": "alice@example.com"}`))
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Print("forgot: ", res.StatusCode, " ", string(body))
	m = <-mails
	fmt.Println("mail to", m.To+":", m.Subject)
	// Output:
	// signup: 201
	// mail to alice@example.com: Confirm your email address
	// forgot: 202 {}
	// mail to alice@example.com: Reset your password
}
