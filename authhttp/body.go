package authhttp

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes is the largest request body the handlers read: 64 KiB. A
// larger body is answered with 413 request_too_large.
const MaxBodyBytes = 64 << 10

// Media types the handlers read.
const (
	mediaJSON = "application/json"
	mediaForm = "application/x-www-form-urlencoded"
)

var (
	errFormSyntax   = badRequest("the body is not valid form data")
	errFormRepeated = badRequest("a parameter is sent more than once")
	errFormUTF8     = badRequest("the form data is not valid UTF-8")
	errBodyRead     = badRequest("the body could not be read")
)

// requestMediaType returns the media type of r's body, lower case, if it is
// one of allowed and its charset, if any, is UTF-8; otherwise a
// *RequestError.
func requestMediaType(r *http.Request, allowed ...string) (string, error) {
	values := r.Header.Values("Content-Type")
	if len(values) == 1 {
		mt, params, err := mime.ParseMediaType(values[0])
		if err == nil {
			cs, hasCharset := params["charset"]
			for _, a := range allowed {
				if mt == a && (!hasCharset || strings.EqualFold(cs, "utf-8")) {
					return mt, nil
				}
			}
		}
	}
	if len(allowed) == 1 {
		return "", badRequest("the Content-Type must be " + allowed[0])
	}
	return "", badRequest("the Content-Type must be " + strings.Join(allowed, " or "))
}

// readBody reads r's whole body, at most MaxBodyBytes of it. A larger body
// is ErrRequestTooLarge; the connection is then closed after the answer
// rather than drained.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, ErrRequestTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, ErrRequestTooLarge
		}
		return nil, errBodyRead
	}
	return body, nil
}

// readJSON reads a strict JSON object body (see parseJSONObject).
func readJSON(w http.ResponseWriter, r *http.Request) (jsonObject, error) {
	if _, err := requestMediaType(r, mediaJSON); err != nil {
		return nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return parseJSONObject(body)
}

// readForm reads a strict form body (see parseForm). The query string is
// never read.
func readForm(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	if _, err := requestMediaType(r, mediaForm); err != nil {
		return nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return parseForm(body)
}

// parseForm parses an application/x-www-form-urlencoded body strictly: a
// parameter sent more than once is refused (RFC 6749 §3.1), and so are
// invalid escapes, a ';' separator and names or values that are not valid
// UTF-8. Empty values are kept; callers treat them as missing. Every error
// is a *RequestError.
func parseForm(body []byte) (map[string]string, error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errFormSyntax
	}
	form := make(map[string]string, len(values))
	for name, vs := range values {
		if len(vs) != 1 {
			return nil, errFormRepeated
		}
		if !utf8.ValidString(name) || !utf8.ValidString(vs[0]) {
			return nil, errFormUTF8
		}
		form[name] = vs[0]
	}
	return form, nil
}
