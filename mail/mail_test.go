package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/goauthkit/auth/internal/smtptest"
	"github.com/goauthkit/auth/recovery"
)

var testMessage = &recovery.Message{
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

// TestSMTPErrMailRefused: a permanent (5xx) refusal of the mail wraps
// recovery.ErrMailRefused; temporary replies, failures to connect, time out or
// log in do not.
func TestSMTPErrMailRefused(t *testing.T) {
	cert, pool := smtptest.Cert(t)
	// down is the address of a closed port: the connection is refused.
	down := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	// silent is a server that accepts connections and says nothing.
	silent := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // when the listener closes
			}
		}()
		return l.Addr().String()
	}
	alice := testMessage.To
	tests := []struct {
		name        string
		cfg         smtptest.Config
		addr        func(t *testing.T) string // if set, the server instead of one started with cfg
		url         string                    // the URL before the address
		wantErr     string                    // in the error's text; "" if Send must succeed
		wantRefused bool
	}{
		{"accepted", smtptest.Config{}, nil, "smtp://", "", false},
		{"550 at RCPT", smtptest.Config{Refuse: alice}, nil, "smtp://", "550", true},
		{"450 at RCPT", smtptest.Config{Refuse: alice, RefuseCode: 450}, nil, "smtp://", "450", false},
		{"552 at RCPT, to be taken as 452", smtptest.Config{Refuse: alice, RefuseCode: 552}, nil, "smtp://", "552", false},
		{"550 at MAIL FROM", smtptest.Config{MailCode: 550}, nil, "smtp://", "550", true},
		{"421 at MAIL FROM", smtptest.Config{MailCode: 421}, nil, "smtp://", "421", false},
		{"530 at MAIL FROM: the server requires a login", smtptest.Config{User: "mailer", Password: "pw"}, nil, "smtp://", "530", false},
		{"554 after DATA", smtptest.Config{DataCode: 554}, nil, "smtp://", "554", true},
		{"451 after DATA", smtptest.Config{DataCode: 451}, nil, "smtp://", "451", false},
		{"554 after DATA, over TLS with AUTH", smtptest.Config{User: "mailer", Password: "pw", Cert: &cert, Implicit: true, DataCode: 554},
			nil, "smtps://mailer:pw@", "554", true},
		{"wrong AUTH password", smtptest.Config{User: "mailer", Password: "pw", Cert: &cert, Implicit: true},
			nil, "smtps://mailer:nope@", "535", false},
		{"server down: connection refused", smtptest.Config{}, down, "smtp://", "connection refused", false},
		{"server silent: timeout", smtptest.Config{}, silent, "smtp://", "dial failed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *smtptest.Server
			addr := ""
			if tt.addr != nil {
				addr = tt.addr(t)
			} else {
				srv = smtptest.Start(t, tt.cfg)
				addr = srv.Addr
			}
			m, err := NewSMTP(SMTPConfig{URL: tt.url + addr, From: "auth@example.com", Timeout: time.Second, TLSConfig: &tls.Config{RootCAs: pool}})
			if err != nil {
				t.Fatal(err)
			}
			err = m.Send(context.Background(), testMessage)
			if tt.wantErr == "" {
				if err != nil || srv == nil || len(srv.Mails()) != 1 {
					t.Fatalf("Send = %v, want the mail accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Send succeeded, want an error with %q", tt.wantErr)
			}
			t.Logf("Send: %v", err)
			if got := errors.Is(err, recovery.ErrMailRefused); got != tt.wantRefused {
				t.Errorf("errors.Is(%v, recovery.ErrMailRefused) = %v, want %v", err, got, tt.wantRefused)
			}
			if !strings.HasPrefix(err.Error(), "mail: sending to 127.0.0.1: ") || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "nope") {
				t.Errorf("Send = %v, want the server's answer %q (and no password)", err, tt.wantErr)
			}
			// go-mail's error stays in the chain.
			var se *gomail.SendError
			if tt.wantRefused && !errors.As(err, &se) {
				t.Errorf("Send = %v (%T), want a *gomail.SendError in its chain", err, err)
			}
			if srv != nil && len(srv.Mails()) != 0 {
				t.Error("the server kept the mail")
			}
		})
	}
}

// atext is RFC 5322 §3.2.3's atext, for parseMsgID.
func atext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// dotAtomText reports whether s is RFC 5322's dot-atom-text:
// 1*atext *("." 1*atext).
func dotAtomText(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return false
		}
		for i := range len(part) {
			if !atext(part[i]) {
				return false
			}
		}
	}
	return true
}

// parseMsgID parses v as RFC 5322's msg-id (§3.6.4), strictly: no CFWS
// around it, and an id-right that is a dot-atom-text (a no-fold-literal
// is refused too).
//
//	msg-id   = "<" id-left "@" id-right ">"
//	id-left  = dot-atom-text
//	id-right = dot-atom-text
func parseMsgID(v string) (left, right string, err error) {
	inner, ok := strings.CutPrefix(v, "<")
	if ok {
		inner, ok = strings.CutSuffix(inner, ">")
	}
	if !ok {
		return "", "", fmt.Errorf("msg-id %q is not in angle brackets", v)
	}
	left, right, ok = strings.Cut(inner, "@")
	if !ok {
		return "", "", fmt.Errorf("msg-id %q has no @", v)
	}
	if !dotAtomText(left) {
		return "", "", fmt.Errorf("msg-id %q: id-left %q is not a dot-atom-text", v, left)
	}
	if !dotAtomText(right) {
		return "", "", fmt.Errorf("msg-id %q: id-right %q is not a dot-atom-text", v, right)
	}
	return left, right, nil
}

func TestParseMsgID(t *testing.T) {
	tests := []struct {
		v           string
		left, right string // "" if v must be refused
	}{
		{"<abc@example.com>", "abc", "example.com"},
		{"<a.b.c@localhost>", "a.b.c", "localhost"},
		{"<a+b_c!#$%&'*-/=?^`{|}~@x.y>", "a+b_c!#$%&'*-/=?^`{|}~", "x.y"},
		{"<.abc@example.com>", "", ""},
		{"<abc.@example.com>", "", ""},
		{"<a..bc@example.com>", "", ""},
		{"<abc@.example.com>", "", ""},
		{"<abc@example..com>", "", ""},
		{"<abc@example.com.>", "", ""},
		{"<abc@[127.0.0.1]>", "", ""},
		{"<abc@def@example.com>", "", ""},
		{"<a bc@example.com>", "", ""},
		{"<a\"bc@example.com>", "", ""},
		{"<@example.com>", "", ""},
		{"<abc@>", "", ""},
		{"<abc>", "", ""},
		{"abc@example.com", "", ""},
		{" <abc@example.com>", "", ""},
		{"<abc@example.com", "", ""},
		{"<abc@exämple.com>", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		left, right, err := parseMsgID(tt.v)
		if tt.left == "" {
			if err == nil {
				t.Errorf("parseMsgID(%q) = %q, %q, want an error", tt.v, left, right)
			}
		} else if err != nil || left != tt.left || right != tt.right {
			t.Errorf("parseMsgID(%q) = %q, %q, %v, want %q, %q", tt.v, left, right, err, tt.left, tt.right)
		}
	}
}

// checkMessageID checks the one Message-ID in header h: a strict msg-id
// whose id-left is at least 22 letters and digits (128 random bits) and
// whose id-right is domain. It returns the msg-id.
func checkMessageID(t *testing.T, h netmail.Header, domain string) string {
	t.Helper()
	if len(h["Message-Id"]) != 1 {
		t.Fatalf("Message-ID headers %q, want one", h["Message-Id"])
	}
	v := h.Get("Message-Id")
	left, right, err := parseMsgID(v)
	if err != nil {
		t.Fatal(err)
	}
	if right != domain {
		t.Fatalf("Message-ID %s: id-right %q, want the sender's domain %q", v, right, domain)
	}
	if len(left) < 22 || strings.Trim(left, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		t.Fatalf("Message-ID %s: id-left is not 22 or more letters and digits", v)
	}
	return v
}

// TestMessageID composes many messages and parses each Message-ID
// strictly: the old go-mail SetMessageID made an invalid id-left in about
// 3% of messages, at the machine's hostname.
func TestMessageID(t *testing.T) {
	tests := []struct {
		from, domain string
		n            int
	}{
		{"Example <auth@example.com>", "example.com", 20000},
		{"auth@example.com", "example.com", 200},
		{"auth@localhost", "localhost", 200},
		{"auth@Mail.Example-1.ORG", "Mail.Example-1.ORG", 200},
		{`"auth@odd"@example.com`, "example.com", 200},
		// Not host names: the Message-IDs fall back to localhost.
		{"auth@[127.0.0.1]", "localhost", 200},
		{"auth@exämple.com", "localhost", 200},
		{"auth@ex!ample.com", "localhost", 200},
	}
	seen := make(map[string]bool)
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			var buf bytes.Buffer
			for range tt.n {
				msg, err := compose(tt.from, msgIDDomain(tt.from), testMessage)
				if err != nil {
					t.Fatal(err)
				}
				buf.Reset()
				if _, err := msg.WriteTo(&buf); err != nil {
					t.Fatal(err)
				}
				m, err := netmail.ReadMessage(&buf)
				if err != nil {
					t.Fatal(err)
				}
				id := checkMessageID(t, m.Header, tt.domain)
				if seen[id] {
					t.Fatalf("Message-ID %s made twice", id)
				}
				seen[id] = true
			}
		})
	}
}

// TestMessageIDSent checks the Message-IDs of mails sent through an SMTP
// server and written to an Outbox.
func TestMessageIDSent(t *testing.T) {
	const n = 20
	// viaSMTP and viaOutbox send n mails from from, and return them as
	// received.
	viaSMTP := func(t *testing.T, from string) [][]byte {
		srv := smtptest.Start(t, smtptest.Config{})
		m, err := NewSMTP(SMTPConfig{URL: "smtp://" + srv.Addr, From: from})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			if err := m.Send(context.Background(), testMessage); err != nil {
				t.Fatal(err)
			}
		}
		var raw [][]byte
		for _, r := range srv.Mails() {
			raw = append(raw, r.Data)
		}
		return raw
	}
	viaOutbox := func(t *testing.T, from string) [][]byte {
		o, err := NewOutbox(OutboxConfig{Dir: t.TempDir(), From: from})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			if err := o.Send(context.Background(), testMessage); err != nil {
				t.Fatal(err)
			}
		}
		files, err := filepath.Glob(filepath.Join(o.Dir(), "*.eml"))
		if err != nil {
			t.Fatal(err)
		}
		var raw [][]byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, b)
		}
		return raw
	}
	tests := []struct {
		name, from, domain string
		send               func(t *testing.T, from string) [][]byte
	}{
		{"SMTP", "Example <auth@example.com>", "example.com", viaSMTP},
		{"SMTP, localhost", "auth@localhost", "localhost", viaSMTP},
		{"Outbox", "auth@localhost", "localhost", viaOutbox},
		{"Outbox, a domain", "Example <auth@example.com>", "example.com", viaOutbox},
		{"Outbox, an address literal", "auth@[127.0.0.1]", "localhost", viaOutbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.send(t, tt.from)
			if len(raw) != n {
				t.Fatalf("%d mails, want %d", len(raw), n)
			}
			seen := make(map[string]bool)
			for _, r := range raw {
				_, h := textPart(t, r)
				id := checkMessageID(t, h, tt.domain)
				if seen[id] {
					t.Fatalf("Message-ID %s sent twice", id)
				}
				seen[id] = true
			}
		})
	}
}
