package audit_test

import (
	"context"
	"log"
	"log/slog"
	"os"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/audit"
	"github.com/goauthkit/auth/store/memory"
)

// ExampleLog writes the audit log as one slog line per event, each with the
// client address of the call.
func ExampleLog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "user_id" || a.Key == "session" {
				return slog.Attr{} // they change from run to run
			}
			return a
		},
	}))
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes, from the environment"),
		OnEvent:   audit.Log(logger),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// Every call carries the client it is made for (authhttp's
	// Handlers.Client makes it from a request): its address is the events'.
	client := auth.Client{Addr: "192.0.2.7", UserAgent: "example/1.0"}
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery staple", Client: client}); err != nil {
		log.Fatal(err)
	}
	pair, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery staple", Client: client})
	if err != nil {
		log.Fatal(err)
	}
	if err := a.Logout(ctx, client, pair.RefreshToken); err != nil {
		log.Fatal(err)
	}
	// Output:
	// level=INFO msg=audit event=registered username=alice client_addr=192.0.2.7
	// level=INFO msg=audit event=login_succeeded username=alice client_addr=192.0.2.7 methods=pwd
	// level=INFO msg=audit event=logout client_addr=192.0.2.7
}
