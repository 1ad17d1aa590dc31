// Package mail sends the library's mails (email verification, password
// reset: see recovery.Mailer) over SMTP, or writes them to a directory as .eml
// files for development. Both compose the messages with
// github.com/wneessen/go-mail.
//
// SMTP URLs say how the connection is protected:
//
//	smtp://HOST:PORT            a local relay or development sink: no TLS, no login
//	smtp://USER:PASS@HOST:587   STARTTLS required (the mail is never sent in clear), then AUTH
//	smtps://USER:PASS@HOST:465  implicit TLS, then AUTH
//
// A login is never sent without TLS: smtp:// with credentials requires
// STARTTLS, and a server that does not offer it fails the send.
//
// The parts are written without transfer encoding (8bit), so that the links
// in them stay whole and readable in the raw message: quoted-printable would
// write the "=" of "?token=" as "=3D" and break long lines. Templates should
// keep their lines under 998 bytes, as SMTP requires.
//
// Every message gets a Message-ID of random letters and digits at the
// domain of the From address, or at "localhost" when that domain is not a
// plain host name (an address literal such as [192.0.2.1], or an
// internationalized domain).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/goauthkit/auth/recovery"
)

// SMTPConfig configures an SMTP Mailer.
type SMTPConfig struct {
	// URL is the server (see the package documentation): smtp:// or
	// smtps://, with a user and password for AUTH. Required.
	URL string
	// From is the sender's address, as "auth@example.com" or
	// "Example <auth@example.com>". Required.
	From string
	// Timeout bounds one delivery: connecting, TLS, AUTH and the whole SMTP
	// conversation. Default 15 seconds.
	Timeout time.Duration
	// TLSConfig, if set, is the TLS configuration (its ServerName is set to
	// the URL's host if empty); nil uses the system's roots.
	TLSConfig *tls.Config
}

// SMTP is a recovery.Mailer that sends over SMTP. It is safe for concurrent
// use: each Send makes its own connection.
type SMTP struct {
	from    string
	domain  string // of the Message-IDs
	host    string
	opts    []gomail.Option
	timeout time.Duration
}

var _ recovery.Mailer = (*SMTP)(nil)

// NewSMTP returns an SMTP Mailer, or an error naming what is wrong with c.
// The error never holds the URL's password.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, errors.New("mail: SMTPConfig.URL does not parse as a URL")
	}
	if c.From == "" {
		return nil, errors.New("mail: SMTPConfig.From is required")
	}
	if err := gomail.NewMsg().From(c.From); err != nil {
		return nil, fmt.Errorf("mail: SMTPConfig.From is not an address: %v", err)
	}
	if c.Timeout < 0 {
		return nil, errors.New("mail: SMTPConfig.Timeout must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	host := u.Hostname()
	if host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, errors.New("mail: SMTPConfig.URL must be smtp://[USER:PASS@]HOST[:PORT] or smtps://[USER:PASS@]HOST[:PORT]")
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSConfig != nil {
		tlsConfig = c.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = host
	}
	opts := []gomail.Option{gomail.WithTimeout(c.Timeout), gomail.WithTLSConfig(tlsConfig)}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, errors.New("mail: SMTPConfig.URL has a bad port")
		}
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	switch u.Scheme {
	case "smtp":
		if user == "" {
			opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
			port = cmpOr(port, 25)
		} else {
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
			port = cmpOr(port, 587)
		}
	case "smtps":
		opts = append(opts, gomail.WithSSL())
		port = cmpOr(port, 465)
	default:
		return nil, errors.New("mail: SMTPConfig.URL must start with smtp:// or smtps://")
	}
	opts = append(opts, gomail.WithPort(port))
	if user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("mail: SMTPConfig.URL: %v", err)
	}
	return &SMTP{from: c.From, domain: msgIDDomain(c.From), host: host, opts: opts, timeout: c.Timeout}, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Send implements recovery.Mailer: one connection, one message, within the
// Timeout and ctx's deadline (each read and write of the conversation is
// bounded by the nearer of the two).
//
// When the server refuses the mail for good, with a 5xx reply to MAIL
// FROM, RCPT TO or the message's data, the error wraps recovery.ErrMailRefused
// as well as go-mail's error. Temporary (4xx) replies, network errors,
// timeouts, and TLS or AUTH failures do not: they may pass, or are the
// configuration's fault rather than the mail's.
func (s *SMTP) Send(ctx context.Context, m *recovery.Message) error {
	msg, err := compose(s.from, s.domain, m)
	if err != nil {
		return err
	}
	timeout := s.timeout
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left <= 0 {
			return fmt.Errorf("mail: %w", context.DeadlineExceeded)
		} else if left < timeout {
			timeout = left
		}
	}
	client, err := gomail.NewClient(s.host, append(s.opts[:len(s.opts):len(s.opts)], gomail.WithTimeout(timeout))...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if refused(err) {
			return fmt.Errorf("mail: sending to %s: %w: %w", s.host, recovery.ErrMailRefused, err)
		}
		return fmt.Errorf("mail: sending to %s: %w", s.host, err)
	}
	return nil
}

// refused reports whether err, from go-mail's DialAndSend, is the server's
// permanent refusal of the mail. go-mail reports the replies to MAIL FROM,
// RCPT TO, DATA and the end of the data as a *gomail.SendError whose
// ErrorCode is the reply's code (0 for an error that is no reply, such as
// a broken connection); the connection, STARTTLS and AUTH fail before, as
// other errors.
func refused(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() || se.ErrorCode()/100 != 5 {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPMailFrom:
		// 530: authentication required (RFC 4954), a configuration
		// problem like a failed AUTH, not a refusal of this mail.
		return se.ErrorCode() != 530
	case gomail.ErrSMTPRcptTo:
		// A 552 (storage exceeded) to RCPT is to be taken as a 452
		// (RFC 5321 §4.5.3.1.10).
		return se.ErrorCode() != 552
	case gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return true
	}
	return false
}

// compose makes the MIME message of m, with a Message-ID at domain.
func compose(from, domain string, m *recovery.Message) (*gomail.Msg, error) {
	// 8bit: the parts as they are (go-mail writes "7bit" parts as
	// quoted-printable).
	enc := gomail.NoEncoding
	msg := gomail.NewMsg(gomail.WithEncoding(enc), gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	// go-mail adds the angle brackets. rand.Text is base32: letters and
	// digits only, 128 bits of randomness.
	msg.SetMessageIDWithValue(rand.Text() + "@" + domain)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text, gomail.WithPartEncoding(enc))
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML, gomail.WithPartEncoding(enc))
	}
	return msg, nil
}

// msgIDDomain returns the domain of the sender's address from, for the
// Message-IDs, or "localhost" if it is not a host name of ASCII letters,
// digits and hyphens, such as an address literal or an internationalized
// domain: the msg-id's right part is then a plain dot-atom (RFC 5322
// §3.6.4) that every mail program reads.
func msgIDDomain(from string) string {
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return "localhost"
	}
	domain := a.Address[strings.LastIndexByte(a.Address, '@')+1:]
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return "localhost"
		}
	}
	return domain
}

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	// Dir is the directory the mails are written to; it is created (mode
	// 0700) if missing. Required.
	Dir string
	// From is the sender's address. Required.
	From string
}

// Outbox is a recovery.Mailer that writes each mail as an RFC 5322 message to
// a file DIR/<time>-<random>.eml with mode 0600, for development: open it
// in any mail program. It is safe for concurrent use.
type Outbox struct {
	dir, from string
	domain    string // of the Message-IDs
}

var _ recovery.Mailer = (*Outbox)(nil)

// NewOutbox returns an Outbox writing to c.Dir, which it creates if
// missing.
func NewOutbox(c OutboxConfig) (*Outbox, error) {
	if c.Dir == "" {
		return nil, errors.New("mail: OutboxConfig.Dir is required")
	}
	if err := gomail.NewMsg().From(c.From); err != nil {
		return nil, fmt.Errorf("mail: OutboxConfig.From is not an address: %v", err)
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return &Outbox{dir: c.Dir, from: c.From, domain: msgIDDomain(c.From)}, nil
}

// Send implements recovery.Mailer: the message is written under a temporary
// name and then renamed, so that a reader of the directory never sees half
// a mail.
func (o *Outbox) Send(ctx context.Context, m *recovery.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, err := compose(o.from, o.domain, m)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + rand.Text()[:8] + ".eml"
	tmp, err := os.CreateTemp(o.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(buf.Bytes())
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(o.dir, name))
	}
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

// Dir returns the directory the Outbox writes to.
func (o *Outbox) Dir() string { return o.dir }
