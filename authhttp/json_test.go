package authhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goauthkit/auth/internal/strictjson"
)

// mustHaveSeedCorpus fails the fuzz test if its committed seed corpus is
// missing, so the corpus can never silently disappear.
func mustHaveSeedCorpus(f *testing.F, min int) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < min {
		f.Fatalf("seed corpus %s: %d files (%v), want at least %d", dir, len(entries), err, min)
	}
}

func TestParseJSONObject(t *testing.T) {
	ok := []struct {
		body string
		want map[string]string // string members
	}{
		{`{}`, map[string]string{}},
		{` {"username":"alice","password":"pw"} `, map[string]string{"username": "alice", "password": "pw"}},
		{`{"a":"\u00e9\ud83d\ude00\n\t\"\\\/"}`, map[string]string{"a": "é😀\n\t\"\\/"}},
		{`{"a":"é😀"}`, map[string]string{"a": "é😀"}},
		{`{"a":"\u0000"}`, map[string]string{"a": "\x00"}},
		{`{"Username":"x","username":"y"}`, map[string]string{"Username": "x", "username": "y"}},
		{`{"n":-0.5e+10,"t":true,"f":false,"z":null,"arr":[1,"x",{"k":[]}],"o":{"a":{"b":null}}}`, map[string]string{}},
		{"{\"a\"\r\n:\t\"b\"}\n", map[string]string{"a": "b"}},
		{`{"x":{"a":1},"y":{"a":2}}`, map[string]string{}}, // same name in different objects
	}
	for _, c := range ok {
		obj, err := parseJSONObject([]byte(c.body))
		if err != nil {
			t.Errorf("parseJSONObject(%q): %v", c.body, err)
			continue
		}
		got := map[string]string{}
		for k, v := range obj {
			if v.kind == jsonString {
				got[k] = v.str
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("parseJSONObject(%q) strings = %q, want %q", c.body, got, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("parseJSONObject(%q)[%q] = %q, want %q", c.body, k, got[k], v)
			}
		}
	}

	bad := []struct {
		body string
		want error
	}{
		{``, errJSONSyntax},
		{`   `, errJSONSyntax},
		{`[]`, errJSONNotObject},
		{`"x"`, errJSONNotObject},
		{`null`, errJSONNotObject},
		{`{"a":"b"} {}`, errJSONSyntax},
		{`{"a":"b"}x`, errJSONSyntax},
		{`{"a":"b",}`, errJSONSyntax},
		{`{"a" "b"}`, errJSONSyntax},
		{`{a:"b"}`, errJSONSyntax},
		{`{"a":'b'}`, errJSONSyntax},
		{`{"a":01}`, errJSONSyntax},
		{`{"a":1.}`, errJSONSyntax},
		{`{"a":.5}`, errJSONSyntax},
		{`{"a":+1}`, errJSONSyntax},
		{`{"a":1e}`, errJSONSyntax},
		{`{"a":tru}`, errJSONSyntax},
		{`{"a":NaN}`, errJSONSyntax},
		{`{"a":"\x"}`, errJSONSyntax},
		{`{"a":"\u12"}`, errJSONSyntax},
		{"{\"a\":\"line\nbreak\"}", errJSONSyntax},
		{`{"a":"unterminated}`, errJSONSyntax},
		{"\ufeff{}", errJSONSyntax},
		{`{"a":"1","a":"2"}`, errJSONDuplicate},
		{`{"a":1,"b":2,"a":3}`, errJSONDuplicate},
		{`{"o":{"k":1,"k":2}}`, errJSONDuplicate},
		{`{"a":"\ud800"}`, errJSONSurrogate},
		{`{"a":"\udc00"}`, errJSONSurrogate},
		{`{"a":"\ud800\u0041"}`, errJSONSurrogate},
		{`{"a":"\ud800\ud800"}`, errJSONSurrogate},
		{`{"a":"\ud800x"}`, errJSONSurrogate},
		{`{"\ud800":"a"}`, errJSONSurrogate},
		{`{"a":["\udfff"]}`, errJSONSurrogate},
		{"{\"a\":\"\xff\"}", errJSONUTF8},
		{"{\"a\":\"\xed\xa0\x80\"}", errJSONUTF8}, // a surrogate encoded in UTF-8
		{"{\"a\":\"\xc0\xaf\"}", errJSONUTF8},     // overlong
		{`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, errJSONDepth},
		{strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), errJSONDepth},
	}
	for _, c := range bad {
		_, err := parseJSONObject([]byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("parseJSONObject(%q) = %v, want %v", c.body, err, c.want)
		}
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("parseJSONObject(%q): %v does not wrap ErrInvalidRequest", c.body, err)
		}
	}
}

func TestJSONStringField(t *testing.T) {
	obj, err := parseJSONObject([]byte(`{"s":"v","e":"","n":null,"i":1,"o":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	typeErr := errors.New("type")
	for _, c := range []struct {
		name   string
		want   string
		wantOK bool
		err    error
	}{
		{"s", "v", true, nil},
		{"e", "", true, nil},
		{"n", "", false, nil},
		{"absent", "", false, nil},
		{"S", "", false, nil},
		{"i", "", false, typeErr},
		{"o", "", false, typeErr},
	} {
		s, ok, err := obj.stringField(c.name, typeErr)
		if s != c.want || ok != c.wantOK || !errors.Is(err, c.err) {
			t.Errorf("stringField(%q) = %q, %v, %v; want %q, %v, %v", c.name, s, ok, err, c.want, c.wantOK, c.err)
		}
	}
}

// FuzzJSONBody checks the body path's decoding of JSON (parseJSONObject, on
// strictjson.Scan with its Body rules) against encoding/json: what it
// accepts must decode alike, and every refusal is a *RequestError that
// says which rule the body broke.
func FuzzJSONBody(f *testing.F) {
	mustHaveSeedCorpus(f, 30)
	f.Fuzz(func(t *testing.T, data []byte) {
		scanErr := strictjson.Scan(data, strictjson.Body, func(_, _ []byte) error { return nil })
		obj, err := parseJSONObject(data)
		if err != nil {
			var re *RequestError
			var se strictjson.Error
			if !errors.As(err, &re) || !errors.As(scanErr, &se) || !errors.Is(err, bodyJSONErrors[se]) {
				t.Fatalf("parseJSONObject(%q) = %v, strictjson.Scan said %v", data, err, scanErr)
			}
			return
		}
		// UseNumber: numbers beyond float64 (1e700) are valid JSON.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		if len(m) != len(obj) {
			t.Fatalf("%q: %d members, encoding/json sees %d", data, len(obj), len(m))
		}
		for name, v := range obj {
			got, ok := m[name]
			if !ok {
				t.Fatalf("%q: member %q unknown to encoding/json", data, name)
			}
			switch v.kind {
			case jsonString:
				if s, _ := got.(string); s != v.str || !utf8.ValidString(v.str) {
					t.Fatalf("%q: member %q = %q, encoding/json says %q", data, name, v.str, got)
				}
			case jsonNull:
				if got != nil {
					t.Fatalf("%q: member %q null, encoding/json says %v", data, name, got)
				}
			}
		}
	})
}
