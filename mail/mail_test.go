package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/goauthkit/auth"
)

// testCert is a self-signed certificate for 127.0.0.1, and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// received is one mail the test server accepted.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback.
type smtpServer struct {
	addr     string
	mu       sync.Mutex
	mails    []received
	refuse   string // a recipient refused at RCPT
	user     string // AUTH PLAIN credentials the server accepts, if set
	password string
}

func (s *smtpServer) got() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	cur  received
}

func (se *session) AuthMechanisms() []string {
	if se.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != se.srv.user || password != se.srv.password {
			return errors.New("invalid credentials")
		}
		se.cur.user = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.srv.user != "" && se.cur.user == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	se.cur.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == se.srv.refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	se.cur.to = append(se.cur.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.cur.data = b
	_, se.cur.tls = se.conn.TLSConnectionState()
	se.srv.mu.Lock()
	se.srv.mails = append(se.srv.mails, se.cur)
	se.srv.mu.Unlock()
	return nil
}

func (se *session) Reset()        { se.cur = received{user: se.cur.user} }
func (se *session) Logout() error { return nil }

// startSMTP starts a server: implicit is TLS from the first byte (smtps);
// otherwise STARTTLS is offered when cert is set.
func startSMTP(t *testing.T, srv *smtpServer, cert *tls.Certificate, implicit bool) *smtpServer {
	t.Helper()
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: srv, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
		if implicit {
			l = tls.NewListener(l, s.TLSConfig)
		}
	}
	srv.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

var testMessage = &auth.Message{
	To:      "alice@example.com",
	Subject: "Reset your password",
	Text:    "Hello alice,\n\nopen this link:\n\nhttp://127.0.0.1:8080/reset-password?token=AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB\n\nThe link works for 1 hour.\n",
	HTML:    `<p><a href="http://127.0.0.1:8080/reset-password?token=AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB">reset</a></p>`,
}

const testLink = "http://127.0.0.1:8080/reset-password?token=AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB"

// textPart returns the decoded text/plain part of a raw message.
func textPart(t *testing.T, raw []byte) (string, netmail.Header) {
	t.Helper()
	m, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(m.Body)
		return string(b), m.Header
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p)
			return string(b), m.Header
		}
	}
}

func TestSMTP(t *testing.T) {
	cert, pool := testCert(t)
	tests := []struct {
		name     string
		srv      *smtpServer
		cert     *tls.Certificate
		implicit bool
		url      func(addr string) string
		wantTLS  bool
		wantUser string
	}{
		{"local relay: no TLS, no login", &smtpServer{}, nil, false, func(a string) string { return "smtp://" + a }, false, ""},
		{"STARTTLS and AUTH", &smtpServer{user: "mailer", password: "s3cret pass"}, &cert, false,
			func(a string) string { return "smtp://mailer:s3cret%20pass@" + a }, true, "mailer"},
		{"implicit TLS and AUTH", &smtpServer{user: "mailer", password: "pw"}, &cert, true,
			func(a string) string { return "smtps://mailer:pw@" + a }, true, "mailer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, tt.srv, tt.cert, tt.implicit)
			m, err := NewSMTP(SMTPConfig{URL: tt.url(srv.addr), From: "Auth <auth@example.com>", TLSConfig: &tls.Config{RootCAs: pool}})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Send(context.Background(), testMessage); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.got()
			if len(got) != 1 {
				t.Fatalf("%d mails received", len(got))
			}
			r := got[0]
			if r.tls != tt.wantTLS || r.user != tt.wantUser || r.from != "auth@example.com" || len(r.to) != 1 || r.to[0] != "alice@example.com" {
				t.Fatalf("received %+v", r)
			}
			text, h := textPart(t, r.data)
			if !strings.Contains(text, testLink+"\n") && !strings.Contains(text, testLink+"\r\n") {
				t.Fatalf("the text part lacks the link whole:\n%s", text)
			}
			if !strings.Contains(string(r.data), testLink) {
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
	cert, pool := testCert(t)
	ctx := context.Background()

	t.Run("a login is never sent without TLS", func(t *testing.T) {
		srv := startSMTP(t, &smtpServer{user: "mailer", password: "pw"}, nil, false) // no STARTTLS offered
		m, err := NewSMTP(SMTPConfig{URL: "smtp://mailer:pw@" + srv.addr, From: "auth@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Send(ctx, testMessage); err == nil {
			t.Fatal("sent over a server without STARTTLS, with a password")
		}
		if len(srv.got()) != 0 {
			t.Fatal("the mail arrived")
		}
	})
	t.Run("an untrusted certificate", func(t *testing.T) {
		srv := startSMTP(t, &smtpServer{user: "mailer", password: "pw"}, &cert, true)
		m, err := NewSMTP(SMTPConfig{URL: "smtps://mailer:pw@" + srv.addr, From: "auth@example.com"}) // system roots only
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Send(ctx, testMessage); err == nil {
			t.Fatal("sent to a server whose certificate nobody trusts")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := startSMTP(t, &smtpServer{user: "mailer", password: "pw"}, &cert, true)
		m, _ := NewSMTP(SMTPConfig{URL: "smtps://mailer:nope@" + srv.addr, From: "auth@example.com", TLSConfig: &tls.Config{RootCAs: pool}})
		err := m.Send(ctx, testMessage)
		if err == nil || strings.Contains(err.Error(), "nope") {
			t.Fatalf("Send with a wrong password = %v, want an error without the password", err)
		}
	})
	t.Run("a refused recipient", func(t *testing.T) {
		srv := startSMTP(t, &smtpServer{refuse: "alice@example.com"}, nil, false)
		m, _ := NewSMTP(SMTPConfig{URL: "smtp://" + srv.addr, From: "auth@example.com"})
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
