package breached

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// suffixLen is the length of a suffix in a range: a SHA-1 in hexadecimal
// (40 characters) less the 5 of the prefix.
const suffixLen = 35

// askRange asks the range API for the range of hash's prefix and returns
// how many times hash was seen (0 if not at all).
func (c *Checker) askRange(ctx context.Context, hash *[40]byte) (int64, error) {
	body, err := c.fetchRange(ctx, string(hash[:5]))
	if err != nil {
		return 0, err
	}
	return matchRange(body, (*[suffixLen]byte)(hash[5:]))
}

// fetchRange returns the answer of the range API for prefix, whole: at most
// maxRangeBytes of it, within c.timeout.
func (c *Checker) fetchRange(parent context.Context, prefix string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.rangeURL+prefix, nil)
	if err != nil {
		return nil, errors.New("the range request cannot be made") // not its URL: it holds the prefix
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", c.userAgent)
	res, err := c.client.Do(req)
	if err != nil {
		return nil, c.failure(parent, "the range request", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the range API answered status %d", res.StatusCode)
	}
	// Transport decompresses a gzip answer itself: the bound is on what
	// is read after that.
	body, err := io.ReadAll(io.LimitReader(res.Body, maxRangeBytes+1))
	if err != nil {
		return nil, c.failure(parent, "reading the range", err)
	}
	if len(body) > maxRangeBytes {
		return nil, fmt.Errorf("the range API answered more than %d bytes", maxRangeBytes)
	}
	return body, nil
}

// failure returns err, met doing what, without the *url.Error around it
// (whose text holds the URL, and so the prefix of the hash), and saying
// so when c.timeout ran out (rather than parent, the caller's context).
func (c *Checker) failure(parent context.Context, what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return fmt.Errorf("%s: no answer within %s: %w", what, c.timeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// matchRange reads an answer of the range API, lines of "SUFFIX:COUNT"
// (35 hexadecimal characters, a colon, a count in decimal; LF or CRLF
// line ends; blank lines ignored), and returns the count of suffix in it,
// 0 if it is not there or only as padding (a count of 0). Every line is
// read and compared in constant time, whether suffix was found or not. It
// returns an error for a malformed line, and for an answer without a
// line: no range is empty, so that is not an answer of the range API.
func matchRange(body []byte, suffix *[suffixLen]byte) (int64, error) {
	var found int64
	lines := 0
	var upper [suffixLen]byte
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		lines++
		if len(line) < suffixLen+2 || line[suffixLen] != ':' || !upperHexInto(upper[:], line[:suffixLen]) {
			return 0, fmt.Errorf("line %d of the range is not SUFFIX:COUNT", lines)
		}
		n, ok := parseCount(line[suffixLen+1:])
		if !ok {
			return 0, fmt.Errorf("line %d of the range has a bad count", lines)
		}
		if subtle.ConstantTimeCompare(upper[:], suffix[:]) == 1 && n > found {
			found = n
		}
	}
	if lines == 0 {
		return 0, errors.New("the range is empty")
	}
	return found, nil
}

// upperHexInto copies the hexadecimal digits of src into dst (as long),
// upper case, and reports whether they all were hexadecimal digits.
func upperHexInto(dst, src []byte) bool {
	for i, b := range src {
		switch {
		case '0' <= b && b <= '9', 'A' <= b && b <= 'F':
		case 'a' <= b && b <= 'f':
			b -= 'a' - 'A'
		default:
			return false
		}
		dst[i] = b
	}
	return true
}

// parseCount parses a count: 1 to 18 decimal digits, nothing else (no sign,
// no space), so that it fits an int64.
func parseCount(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for _, b := range s {
		if b < '0' || b > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	return n, err == nil
}
