package authhttp

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseForm(t *testing.T) {
	for _, c := range []struct {
		body string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"grant_type=password&username=alice&password=p%40ss+word", map[string]string{"grant_type": "password", "username": "alice", "password": "p@ss word"}},
		{"username=&password=x", map[string]string{"username": "", "password": "x"}},
		{"a", map[string]string{"a": ""}},
		{"&&a=1&&", map[string]string{"a": "1"}},
		{"Username=x&username=y", map[string]string{"Username": "x", "username": "y"}},
		{"p=%C3%A9", map[string]string{"p": "é"}},
	} {
		got, err := parseForm([]byte(c.body))
		if err != nil {
			t.Errorf("parseForm(%q): %v", c.body, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("parseForm(%q) = %q, want %q", c.body, got, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("parseForm(%q)[%q] = %q, want %q", c.body, k, got[k], v)
			}
		}
	}
	for _, c := range []struct {
		body string
		want error
	}{
		{"a=1&a=2", errFormRepeated},
		{"a=1&a=1", errFormRepeated},
		{"a=&a=", errFormRepeated},
		{"a&a", errFormRepeated},
		{"a=%zz", errFormSyntax},
		{"a=1;b=2", errFormSyntax},
		{"a=%", errFormSyntax},
		{"a=%ff", errFormUTF8},
		{"%ff=a", errFormUTF8},
		{"a=\xff", errFormUTF8},
	} {
		_, err := parseForm([]byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("parseForm(%q) = %v, want %v", c.body, err, c.want)
		}
	}
}

func TestRequestMediaType(t *testing.T) {
	for _, c := range []struct {
		ct   []string
		ok   bool
		want string
	}{
		{[]string{"application/json"}, true, mediaJSON},
		{[]string{"Application/JSON; charset=UTF-8"}, true, mediaJSON},
		{[]string{"application/x-www-form-urlencoded"}, true, mediaForm},
		{[]string{"application/x-www-form-urlencoded; charset=utf-8"}, true, mediaForm},
		{[]string{"application/json; charset=latin1"}, false, ""},
		{[]string{"text/plain"}, false, ""},
		{[]string{"application/jsonx"}, false, ""},
		{[]string{"multipart/form-data; boundary=x"}, false, ""},
		{[]string{"application/json", "application/json"}, false, ""},
		{[]string{"application/json; charset"}, false, ""},
		{nil, false, ""},
		{[]string{""}, false, ""},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header["Content-Type"] = c.ct
		got, err := requestMediaType(r, mediaJSON, mediaForm)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("requestMediaType(%q) = %q, %v", c.ct, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("requestMediaType(%q): %v is not ErrInvalidRequest", c.ct, err)
		}
	}
}

// chunked hides a body's length, as a chunked request does.
type chunked struct{ r *bytes.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestReadBodyLimit(t *testing.T) {
	for _, n := range []int{0, 1, MaxBodyBytes} {
		body := bytes.Repeat([]byte("a"), n)
		r := httptest.NewRequest("POST", "/", chunked{bytes.NewReader(body)})
		got, err := readBody(httptest.NewRecorder(), r)
		if err != nil || len(got) != n {
			t.Errorf("readBody(%d bytes) = %d bytes, %v", n, len(got), err)
		}
	}
	for _, declared := range []bool{true, false} {
		body := bytes.Repeat([]byte("a"), MaxBodyBytes+1)
		var r *http.Request
		if declared {
			r = httptest.NewRequest("POST", "/", bytes.NewReader(body))
		} else {
			r = httptest.NewRequest("POST", "/", chunked{bytes.NewReader(body)})
			r.ContentLength = -1
		}
		if _, err := readBody(httptest.NewRecorder(), r); !errors.Is(err, ErrRequestTooLarge) {
			t.Errorf("readBody(MaxBodyBytes+1, length declared %v) = %v, want ErrRequestTooLarge", declared, err)
		}
	}
}

// FuzzForm checks parseForm against url.ParseQuery: it must never panic;
// what it accepts is exactly what ParseQuery reads, each parameter once and
// valid UTF-8; what it refuses ParseQuery refuses, or reads a parameter
// twice, or holds invalid UTF-8.
func FuzzForm(f *testing.F) {
	mustHaveSeedCorpus(f, 8)
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := parseForm(body)
		values, qerr := url.ParseQuery(string(body))
		switch err {
		case nil:
			if qerr != nil {
				t.Fatalf("accepted %q, which ParseQuery refuses: %v", body, qerr)
			}
			if len(form) != len(values) {
				t.Fatalf("%q: %d parameters, ParseQuery reads %d", body, len(form), len(values))
			}
			for k, v := range form {
				if len(values[k]) != 1 || values[k][0] != v || !utf8.ValidString(k) || !utf8.ValidString(v) {
					t.Fatalf("%q: %q=%q, ParseQuery reads %q", body, k, v, values[k])
				}
			}
		case errFormSyntax:
			if qerr == nil {
				t.Fatalf("refused %q as bad syntax; ParseQuery reads it", body)
			}
		case errFormRepeated:
			repeated := false
			for _, vs := range values {
				repeated = repeated || len(vs) > 1
			}
			if !repeated {
				t.Fatalf("refused %q as repeating a parameter", body)
			}
		case errFormUTF8:
			if utf8.Valid(body) && !strings.Contains(string(body), "%") {
				t.Fatalf("refused %q as invalid UTF-8", body)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
