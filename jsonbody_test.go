package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// mustHaveSeedCorpus is requireSeeds, by the name the handler tests use.
func mustHaveSeedCorpus(f *testing.F, min int) {
	f.Helper()
	requireSeeds(f, min)
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
		if err != c.want {
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
		if s != c.want || ok != c.wantOK || err != c.err {
			t.Errorf("stringField(%q) = %q, %v, %v; want %q, %v, %v", c.name, s, ok, err, c.want, c.wantOK, c.err)
		}
	}
}

// TestScanObjectRules pins down what the token and body rules differ in,
// and what they share.
func TestScanObjectRules(t *testing.T) {
	many := func(last string) string { // more names than nameSet lists
		var b strings.Builder
		b.WriteString("{")
		for i := range 3 * nameListMax {
			fmt.Fprintf(&b, `"n%d":%d,`, i, i)
		}
		return b.String() + last + ":0}"
	}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, c := range []struct {
		data        string
		token, body error
	}{
		{`{"exp":1,"EXP":2}`, jsonErrDuplicate, nil},
		{`{"exp":1,"exp":2}`, jsonErrDuplicate, jsonErrDuplicate},
		{`{"s\u0075b":1,"sub":2}`, jsonErrDuplicate, jsonErrDuplicate},
		{`{"k":1,"\u212a":2}`, jsonErrDuplicate, nil}, // KELVIN SIGN folds to k
		{`{"o":{"k":1,"k":2}}`, nil, jsonErrDuplicate},
		{`{"o":{"k":1,"K":2}}`, nil, nil},
		{`{"o":[{"k":1},{"k":2}]}`, nil, nil},
		{many(`"n5"`), jsonErrDuplicate, jsonErrDuplicate},
		{many(`"N5"`), jsonErrDuplicate, nil},
		{strings.Replace(many(`"S"`), `"n0"`, `"\u017f"`, 1), jsonErrDuplicate, nil}, // LONG S folds to s
		{many(`"x"`), nil, nil},
		{`{"a":"\ud800"}`, jsonErrSurrogate, jsonErrSurrogate},
		{`{"a":{"b":["\udfff"]}}`, jsonErrSurrogate, jsonErrSurrogate},
		{"{\"a\":\"\xff\"}", jsonErrUTF8, jsonErrUTF8},
		{"{\"\xc0\xaf\":1}", jsonErrUTF8, jsonErrUTF8},
		{`{"a":` + deep(maxJSONDepth-1) + `}`, nil, nil},
		{`{"a":` + deep(maxJSONDepth) + `}`, jsonErrDepth, jsonErrDepth},
		{deep(maxJSONDepth + 1), jsonErrDepth, jsonErrDepth},
		{`[1] x`, jsonErrNotObject, jsonErrNotObject},
		{`{"a":1} x`, jsonErrSyntax, jsonErrSyntax},
	} {
		for _, r := range []struct {
			rules jsonRules
			want  error
		}{{tokenJSON, c.token}, {bodyJSON, c.body}} {
			if err := scanObject([]byte(c.data), r.rules, func(_, _ []byte) error { return nil }); err != r.want {
				t.Errorf("scanObject(%.60q, %+v) = %v, want %v", c.data, r.rules, err, r.want)
			}
		}
	}
}

// TestScanObjectMembers checks the names and values scanObject hands over,
// and that an error of the callback stops it and comes back as is.
func TestScanObjectMembers(t *testing.T) {
	var got []string
	err := scanObject([]byte(` {"a" : "x\n" , "b\u00e9":[1, {"c":null}],"":-1.5e3} `), tokenJSON, func(name, value []byte) error {
		got = append(got, string(name)+"="+string(value))
		return nil
	})
	want := []string{`a="x\n"`, `bé=[1, {"c":null}]`, `=-1.5e3`}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scanObject = %q, %v; want %q", got, err, want)
	}
	stop := errors.New("stop")
	calls := 0
	err = scanObject([]byte(`{"a":1,"b":2}`), bodyJSON, func(_, _ []byte) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("scanObject = %v after %d calls, want stop after 1", err, calls)
	}
}

// TestStringValueAllocs checks that a string without escapes costs one
// allocation, the conversion to string, and that member names without
// escapes cost none.
func TestStringValueAllocs(t *testing.T) {
	raw := []byte(`"user-1234567890abcdefghijklmnopqrstuvwxyz"`)
	if n := testing.AllocsPerRun(100, func() { _ = stringValue(raw) }); n != 1 {
		t.Errorf("stringValue: %v allocations, want 1", n)
	}
	obj := []byte(`{"iss":"i","sub":"s","aud":["a","b"],"exp":1,"iat":1,"jti":"j","x":{"y":[true,null]}}`)
	member := func(_, _ []byte) error { return nil }
	if n := testing.AllocsPerRun(100, func() { _ = scanObject(obj, tokenJSON, member) }); n != 0 {
		t.Errorf("scanObject: %v allocations, want 0", n)
	}
}
