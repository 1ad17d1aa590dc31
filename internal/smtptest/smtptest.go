// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback for tests: plain, STARTTLS or implicit TLS, with or without
// AUTH PLAIN, and able to refuse a sender, a recipient or a message's data
// with a permanent (5xx) or temporary (4xx) reply. It keeps every mail it
// accepts.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Cert returns a self-signed certificate for 127.0.0.1 and localhost, and
// a pool that trusts it.
func Cert(t testing.TB) (tls.Certificate, *x509.CertPool) {
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

// Config says how a Server behaves. The zero value is a local relay: no
// TLS, no login.
type Config struct {
	// Cert, if set, is offered with STARTTLS, or from the first byte if
	// Implicit.
	Cert     *tls.Certificate
	Implicit bool
	// User and Password, if set, are the AUTH PLAIN credentials required
	// before MAIL.
	User, Password string
	// Refuse is a recipient refused at RCPT, with RefuseCode.
	Refuse string
	// RefuseCode is the reply code refusing Refuse: a 5xx for good, a 4xx
	// for now. 0 means 550 "no such mailbox".
	RefuseCode int
	// MailCode, if set, is the reply to every MAIL FROM (after the login,
	// if one is required): the sender is refused.
	MailCode int
	// DataCode, if set, is the reply to the end of every message's data:
	// the mail is refused after DATA, and not kept.
	DataCode int
}

// Mail is one message the server accepted.
type Mail struct {
	From string
	To   []string
	Data []byte // the message as received
	TLS  bool   // whether it came over TLS
	User string // who logged in, if anyone
}

// Server is a running SMTP server.
type Server struct {
	// Addr is its host:port.
	Addr string
	cfg  Config
	mu   sync.Mutex
	all  []Mail
	next chan Mail
}

// Start starts a server, stopped when t ends.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	srv := &Server{cfg: c, next: make(chan Mail, 1000)}
	s := smtp.NewServer(smtp.BackendFunc(func(conn *smtp.Conn) (smtp.Session, error) {
		return &session{srv: srv, conn: conn}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*c.Cert}}
		if c.Implicit {
			l = tls.NewListener(l, s.TLSConfig)
		}
	}
	srv.Addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

// Mails returns every mail accepted so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.all...)
}

// Next waits up to timeout for the next mail not returned by Next before.
func (s *Server) Next(timeout time.Duration) (Mail, bool) {
	select {
	case m := <-s.next:
		return m, true
	case <-time.After(timeout):
		return Mail{}, false
	}
}

type session struct {
	srv  *Server
	conn *smtp.Conn
	cur  Mail
}

func (se *session) AuthMechanisms() []string {
	if se.srv.cfg.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != se.srv.cfg.User || password != se.srv.cfg.Password {
			return smtp.ErrAuthFailed // 535 5.7.8, as RFC 4954 says
		}
		se.cur.User = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.srv.cfg.User != "" && se.cur.User == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	if c := se.srv.cfg.MailCode; c != 0 {
		return &smtp.SMTPError{Code: c, Message: "sender refused"}
	}
	se.cur.From = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == se.srv.cfg.Refuse {
		if c := se.srv.cfg.RefuseCode; c != 0 {
			return &smtp.SMTPError{Code: c, Message: "recipient refused"}
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	se.cur.To = append(se.cur.To, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if c := se.srv.cfg.DataCode; c != 0 {
		return &smtp.SMTPError{Code: c, Message: "message refused"}
	}
	se.cur.Data = b
	_, se.cur.TLS = se.conn.TLSConnectionState()
	se.srv.mu.Lock()
	se.srv.all = append(se.srv.all, se.cur)
	se.srv.mu.Unlock()
	se.srv.next <- se.cur
	return nil
}

func (se *session) Reset()        { se.cur = Mail{User: se.cur.User} }
func (se *session) Logout() error { return nil }

// TextPart returns the text/plain part of a raw RFC 5322 message (as it
// was written: the library sends 8bit parts) and the message's header.
func TextPart(raw []byte) (string, netmail.Header, error) {
	m, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return "", nil, err
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return "", nil, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(m.Body)
		return string(b), m.Header, err
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return "", nil, fmt.Errorf("no text/plain part: %w", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(p)
			return string(b), m.Header, err
		}
	}
}
