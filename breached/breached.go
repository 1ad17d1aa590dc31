// Package breached refuses new passwords that have appeared in data
// breaches, as NIST SP 800-63B asks: a Checker's Breached method is an
// auth.Config.Passwords.Breached hook, asked about every new password that
// meets the policy (at signup, on a change, on a reset), never at login.
//
//	checker, err := breached.New(breached.Config{})
//	...
//	cfg.Passwords.Breached = checker.Breached
//
// It asks the Pwned Passwords range API of Have I Been Pwned
// (https://api.pwnedpasswords.com, or a mirror at Config.BaseURL) by
// k-anonymity: the password's SHA-1 is computed here, and only its first 5
// hexadecimal characters are sent (GET {BaseURL}/range/{prefix}); the
// service answers with the remaining 35 characters of every hash it holds
// under that prefix, each with the number of times it was seen, and the
// password is breached if its own suffix is among them, seen at least
// Config.MinCount times. Neither the password nor its full hash ever
// leaves the process, nor appears in an error. Each request asks for
// padding (Add-Padding: true: random suffixes with a count of 0, which
// never match), so that someone watching the encrypted traffic cannot
// tell the prefix by the size of the answer; the suffixes are compared in
// constant time, every line of the answer read.
//
// With Config.File it asks nothing of the network: it searches a local
// copy of the data, the single file ordered by hash that Have I Been
// Pwned publishes (see Config.File).
//
// When the service fails (unreachable, slow, an unexpected answer, a
// file that cannot be read), Breached fails closed by default: it
// returns an error wrapping ErrUnavailable, and the core refuses the new
// password with a 503 temporarily_unavailable, so that a breached
// password never gets through an outage. Config.FailOpen lets every
// password through instead (as if none were breached), for a service
// that would rather not depend on the range API; Config.OnError sees
// every failure either way.
package breached

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultBaseURL is Have I Been Pwned's Pwned Passwords API.
const DefaultBaseURL = "https://api.pwnedpasswords.com"

// DefaultTimeout bounds a range request when Config.Timeout is zero: the
// service answers within a fraction of a second (its answers are cached
// at the edge), and a signup should not hang for longer on it.
const DefaultTimeout = 3 * time.Second

// maxRangeBytes bounds an answer of the range API: real ones, padded, are
// 30 to 40 KB; a longer one is refused, not truncated.
const maxRangeBytes = 1 << 20

// ErrUnavailable is wrapped by every error of Checker.Breached: the check
// could not be made (the range API unreachable, slow or answering
// something else than a range; the file unreadable or malformed), so the
// password is neither known to be breached nor known not to be. The
// error's text never holds the password, its hash or its prefix.
var ErrUnavailable = errors.New("breached: the breached-password check failed")

// Config configures a Checker. Zero fields take the documented defaults;
// New refuses unsafe values with an error naming the field.
type Config struct {
	// BaseURL is where the range API is, without the /range/ path: a
	// mirror of the service, or a fake one in tests. An http or https URL
	// without user, query or fragment; https is what keeps anyone on the
	// way from changing the answers. Default DefaultBaseURL.
	BaseURL string
	// Client makes the range requests. Default: a client of its own on
	// http.DefaultTransport that follows no redirect (the range API never
	// redirects).
	Client *http.Client
	// UserAgent is sent with every range request, as the service asks of
	// its clients. Default "goauthkit-breached".
	UserAgent string
	// Timeout bounds each range request, on top of the caller's context.
	// Default DefaultTimeout; negative values are refused.
	Timeout time.Duration
	// MinCount is how many times a password must have been seen in
	// breaches to be refused. Default 1 (seen once is enough); negative
	// values are refused.
	MinCount int
	// File, if set, is searched instead of the range API, which is then
	// never asked: the path of a copy of the Pwned Passwords data as Have
	// I Been Pwned publishes it for download, one file of "HASH:COUNT"
	// lines (the 40 hexadecimal characters of the SHA-1, upper case, a
	// colon, the count in decimal; LF or CRLF line ends) ordered by hash,
	// as the PwnedPasswordsDownloader writes it by default (some 40 GB).
	// Each check opens it and binary-searches it, reading a few kilobytes;
	// it may be replaced by a newer copy while the service runs. New
	// checks that it is a regular file whose first line has that form;
	// an unsorted file gives wrong answers.
	File string
	// FailOpen makes Breached answer "not breached" (false, nil) when the
	// check fails, rather than an error: a service that prefers accepting
	// a breached password during an outage to refusing every new password
	// then. Default false: fail closed.
	FailOpen bool
	// OnError, if set, is called with every failure of a check, fail open
	// or not, for a log or a metric. The error wraps ErrUnavailable and
	// holds no password, hash or prefix. It must be safe for concurrent
	// use and must not block.
	OnError func(err error)
}

// Checker checks passwords against breached ones. It is safe for
// concurrent use.
type Checker struct {
	rangeURL  string // BaseURL + "/range/"
	client    *http.Client
	userAgent string
	timeout   time.Duration
	minCount  int64
	file      string
	failOpen  bool
	onError   func(error)
}

// New returns a Checker configured by c, or an error naming the field of
// c that is unsafe or unusable.
func New(c Config) (*Checker, error) {
	if c.Timeout < 0 {
		return nil, errors.New("breached: Config.Timeout must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MinCount < 0 {
		return nil, errors.New("breached: Config.MinCount must not be negative")
	}
	if c.MinCount == 0 {
		c.MinCount = 1
	}
	if c.UserAgent == "" {
		c.UserAgent = "goauthkit-breached"
	}
	for _, b := range []byte(c.UserAgent) {
		if b < ' ' || b == 0x7f {
			return nil, errors.New("breached: Config.UserAgent must not hold control characters")
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("breached: Config.BaseURL must be an http or https URL without user, query or fragment, such as " + DefaultBaseURL)
	}
	if c.Client == nil {
		c.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.File != "" {
		if err := checkFile(c.File); err != nil {
			return nil, fmt.Errorf("breached: Config.File: %w", err)
		}
	}
	return &Checker{
		rangeURL: strings.TrimRight(c.BaseURL, "/") + "/range/", client: c.Client, userAgent: c.UserAgent,
		timeout: c.Timeout, minCount: int64(c.MinCount), file: c.File, failOpen: c.FailOpen, onError: c.OnError,
	}, nil
}

// Breached reports whether password has been seen in data breaches at
// least Config.MinCount times, by the range API or Config.File. When the
// check fails it returns an error wrapping ErrUnavailable or, with
// Config.FailOpen, false and no error. Its signature is that of
// auth.PasswordConfig.Breached.
func (c *Checker) Breached(ctx context.Context, password string) (bool, error) {
	sum := sha1.Sum([]byte(password))
	var hash [40]byte
	const upperHex = "0123456789ABCDEF"
	for i, b := range sum {
		hash[2*i], hash[2*i+1] = upperHex[b>>4], upperHex[b&0x0f]
	}
	var count int64
	var err error
	if c.file != "" {
		count, err = searchFile(ctx, c.file, &hash)
	} else {
		count, err = c.askRange(ctx, &hash)
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		if c.onError != nil {
			c.onError(err)
		}
		if c.failOpen {
			return false, nil
		}
		return false, err
	}
	return count >= c.minCount, nil
}

// checkFile checks that path is a regular file whose first line is a
// "HASH:COUNT" line.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	line, _, err := readLine(f, 0)
	if err != nil {
		return err
	}
	if _, _, err := parseFileLine(line); err != nil {
		return fmt.Errorf("the first line: %w", err)
	}
	return nil
}
