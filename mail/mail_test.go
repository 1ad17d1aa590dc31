package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/smtptest"
)

var testMessage = &auth.Message{
	To:      "alice@example.com",
	Subject: "Reset your password",
	Text:    "Hello alice,\n\nopen this link:\n\nhttp://127.0.0.1:8080/reset-password?token=AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB\n\nThe link works for 1 hour.\n",
	HTML:    `<p><a href="http://127.0.0.1:8080/reset-password?token=AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB">reset</a></p>`,
}

const testLink = "http://127.0.0.1:8080/reset-password?token=AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB"

// textPart returns the text/plain part of a raw message.
func textPart(t *testing.T, raw []byte) (string, netmail.Header) {
	t.Helper()
	text, h, err := smtptest.TextPart(raw)
	if err != nil {
		t.Fatal(err)
	}
	return text, h
}

func TestSMTP(t *testing.T) {
	cert, pool := smtptest.Cert(t)
	tests := []struct {
		name     string
		cfg      smtptest.Config
		url      func(addr string) string
		wantTLS  bool
		wantUser string
	}{
		{"local relay: no TLS, no login", smtptest.Config{}, func(a string) string { return "smtp://" + a }, false, ""},
		{"STARTTLS and AUTH", smtptest.Config{User: "mailer", Password: "s3cret pass", Cert: &cert},
			func(a string) string { return "smtp://mailer:s3cret%20pass@" + a }, true, "mailer"},
		{"implicit TLS and AUTH", smtptest.Config{User: "mailer", Password: "pw", Cert: &cert, Implicit: true},
			func(a string) string { return "smtps://mailer:pw@" + a }, true, "mailer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.cfg)
			m, err := NewSMTP(SMTPConfig{URL: tt.url(srv.Addr), From: "Auth <auth@example.com>", TLSConfig: &tls.Config{RootCAs: pool}})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Send(context.Background(), testMessage); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Mails()
			if len(got) != 1 {
				t.Fatalf("%d mails received", len(got))
			}
			r := got[0]
			if r.TLS != tt.wantTLS || r.User != tt.wantUser || r.From != "auth@example.com" || len(r.To) != 1 || r.To[0] != "alice@example.com" {
				t.Fatalf("received %+v", r)
			}
			text, h := textPart(t, r.Data)
			if !strings.Contains(text, testLink+"\n") && !strings.Contains(text, testLink+"\r\n") {
				t.Fatalf("the text part lacks the link whole:\n%s", text)
			}
			if !strings.Contains(string(r.Data), testLink) {
				t.Fatal("the raw message does not hold the link as it is (a transfer encoding split it)")
			}
			if h.Get("Subject") != "Reset your password" || h.Get("Message-Id") == "" || h.Get("Date") == "" {
				t.Fatalf("headers %v", h)
			}
		})
	}
}

// TestSMTPRefusals: what the mailer must not do, and servers that fail.
func TestSMTPRefusals(t *testing.T) {
	cert, pool := smtptest.Cert(t)
	ctx := context.Background()

	t.Run("a login is never sent without TLS", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{User: "mailer", Password: "pw"}) // no STARTTLS offered
		m, err := NewSMTP(SMTPConfig{URL: "smtp://mailer:pw@" + srv.Addr, From: "auth@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Send(ctx, testMessage); err == nil {
			t.Fatal("sent over a server without STARTTLS, with a password")
		}
		if len(srv.Mails()) != 0 {
			t.Fatal("the mail arrived")
		}
	})
	t.Run("an untrusted certificate", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{User: "mailer", Password: "pw", Cert: &cert, Implicit: true})
		m, err := NewSMTP(SMTPConfig{URL: "smtps://mailer:pw@" + srv.Addr, From: "auth@example.com"}) // system roots only
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Send(ctx, testMessage); err == nil {
			t.Fatal("sent to a server whose certificate nobody trusts")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{User: "mailer", Password: "pw", Cert: &cert, Implicit: true})
		m, _ := NewSMTP(SMTPConfig{URL: "smtps://mailer:nope@" + srv.Addr, From: "auth@example.com", TLSConfig: &tls.Config{RootCAs: pool}})
		err := m.Send(ctx, testMessage)
		if err == nil || strings.Contains(err.Error(), "nope") {
			t.Fatalf("Send with a wrong password = %v, want an error without the password", err)
		}
	})
	t.Run("a refused recipient", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{Refuse: "alice@example.com"})
		m, _ := NewSMTP(SMTPConfig{URL: "smtp://" + srv.Addr, From: "auth@example.com"})
		err := m.Send(ctx, testMessage)
		if err == nil || !strings.Contains(err.Error(), "550") && !strings.Contains(err.Error(), "no such mailbox") {
			t.Fatalf("Send to a refused recipient = %v, want the server's refusal", err)
		}
	})
	t.Run("a server that hangs", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // accepts, and says nothing
			}
		}()
		m, _ := NewSMTP(SMTPConfig{URL: "smtp://" + l.Addr().String(), From: "auth@example.com", Timeout: 300 * time.Millisecond})
		done := make(chan error, 1)
		go func() { done <- m.Send(ctx, testMessage) }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Send to a silent server succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Send to a silent server did not end at its timeout")
		}
		// And the caller's context bounds it too.
		m, _ = NewSMTP(SMTPConfig{URL: "smtp://" + l.Addr().String(), From: "auth@example.com", Timeout: time.Hour})
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		go func() { done <- m.Send(cctx, testMessage) }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Send to a silent server succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Send to a silent server did not end with its context")
		}
	})
}

func TestNewSMTPConfig(t *testing.T) {
	for _, c := range []SMTPConfig{
		{URL: "", From: "a@example.com"},
		{URL: "http://x", From: "a@example.com"},
		{URL: "smtp://", From: "a@example.com"},
		{URL: "smtp://h:99999", From: "a@example.com"},
		{URL: "smtp://h/path", From: "a@example.com"},
		{URL: "smtp://h", From: ""},
		{URL: "smtp://h", From: "not an address"},
		{URL: "smtps://u:hunter2@h", From: "a@example.com", Timeout: -1},
	} {
		_, err := NewSMTP(c)
		if err == nil {
			t.Errorf("NewSMTP(%+v) succeeded", c)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error holds the password: %v", err)
		}
	}
}

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := NewOutbox(OutboxConfig{Dir: dir, From: "auth@localhost"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			m := *testMessage
			m.To = fmt.Sprintf("user%d@example.com", i)
			if err := o.Send(context.Background(), &m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 5 {
		t.Fatalf("%d files (%v), want 5", len(entries), err)
	}
	for _, e := range entries {
		info, _ := e.Info()
		if !strings.HasSuffix(e.Name(), ".eml") || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v", e.Name(), info.Mode())
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text, h := textPart(t, raw)
		if !strings.Contains(text, testLink) || !strings.Contains(string(raw), testLink) || h.Get("From") != "<auth@localhost>" {
			t.Fatalf("%s: from %q, text:\n%s", e.Name(), h.Get("From"), text)
		}
	}
	if _, err := NewOutbox(OutboxConfig{Dir: dir, From: "nope"}); err == nil {
		t.Fatal("NewOutbox with a bad From succeeded")
	}
}
