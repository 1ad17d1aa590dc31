package strictjson

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

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
		{`{"exp":1,"EXP":2}`, ErrDuplicate, nil},
		{`{"exp":1,"exp":2}`, ErrDuplicate, ErrDuplicate},
		{`{"s\u0075b":1,"sub":2}`, ErrDuplicate, ErrDuplicate},
		{`{"k":1,"\u212a":2}`, ErrDuplicate, nil}, // KELVIN SIGN folds to k
		{`{"o":{"k":1,"k":2}}`, nil, ErrDuplicate},
		{`{"o":{"k":1,"K":2}}`, nil, nil},
		{`{"o":[{"k":1},{"k":2}]}`, nil, nil},
		{many(`"n5"`), ErrDuplicate, ErrDuplicate},
		{many(`"N5"`), ErrDuplicate, nil},
		{strings.Replace(many(`"S"`), `"n0"`, `"\u017f"`, 1), ErrDuplicate, nil}, // LONG S folds to s
		{many(`"x"`), nil, nil},
		{`{"a":"\ud800"}`, ErrSurrogate, ErrSurrogate},
		{`{"a":{"b":["\udfff"]}}`, ErrSurrogate, ErrSurrogate},
		{"{\"a\":\"\xff\"}", ErrUTF8, ErrUTF8},
		{"{\"\xc0\xaf\":1}", ErrUTF8, ErrUTF8},
		{`{"a":` + deep(MaxDepth-1) + `}`, nil, nil},
		{`{"a":` + deep(MaxDepth) + `}`, ErrDepth, ErrDepth},
		{deep(MaxDepth + 1), ErrDepth, ErrDepth},
		{`[1] x`, ErrNotObject, ErrNotObject},
		{`{"a":1} x`, ErrSyntax, ErrSyntax},
	} {
		for _, r := range []struct {
			rules Rules
			want  error
		}{{Token, c.token}, {Body, c.body}} {
			if err := Scan([]byte(c.data), r.rules, func(_, _ []byte) error { return nil }); err != r.want {
				t.Errorf("Scan(%.60q, %+v) = %v, want %v", c.data, r.rules, err, r.want)
			}
		}
	}
}

// TestScanObjectMembers checks the names and values Scan hands over,
// and that an error of the callback stops it and comes back as is.
func TestScanObjectMembers(t *testing.T) {
	var got []string
	err := Scan([]byte(` {"a" : "x\n" , "b\u00e9":[1, {"c":null}],"":-1.5e3} `), Token, func(name, value []byte) error {
		got = append(got, string(name)+"="+string(value))
		return nil
	})
	want := []string{`a="x\n"`, `bé=[1, {"c":null}]`, `=-1.5e3`}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Scan = %q, %v; want %q", got, err, want)
	}
	stop := errors.New("stop")
	calls := 0
	err = Scan([]byte(`{"a":1,"b":2}`), Body, func(_, _ []byte) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("Scan = %v after %d calls, want stop after 1", err, calls)
	}
}

// TestStringValueAllocs checks that a string without escapes costs one
// allocation, the conversion to string, and that member names without
// escapes cost none.
func TestStringValueAllocs(t *testing.T) {
	raw := []byte(`"user-1234567890abcdefghijklmnopqrstuvwxyz"`)
	if n := testing.AllocsPerRun(100, func() { _ = StringValue(raw) }); n != 1 {
		t.Errorf("StringValue: %v allocations, want 1", n)
	}
	obj := []byte(`{"iss":"i","sub":"s","aud":["a","b"],"exp":1,"iat":1,"jti":"j","x":{"y":[true,null]}}`)
	member := func(_, _ []byte) error { return nil }
	if n := testing.AllocsPerRun(100, func() { _ = Scan(obj, Token, member) }); n != 0 {
		t.Errorf("Scan: %v allocations, want 0", n)
	}
}

// TestNameSetFolds: under FoldNames a name is a duplicate of an earlier one
// exactly when bytes.EqualFold says so, whatever their lengths and scripts
// (the sketches that skip most comparisons must never skip an equal pair).
func TestNameSetFolds(t *testing.T) {
	names := []string{"exp", "EXP", "eXp", "exq", "ex", "expp", "k", "K", "\u212a", "kk", "K\u212a", "s", "S", "\u017f",
		"sub", "SUB", "\u017fub", "é", "É", "a", "A", "aud", "auth_time", "AUTH_TIME", "amr", "AMR", "", "x\u212a", "Xk"}
	for _, a := range names {
		for _, b := range names {
			for _, fold := range []bool{true, false} {
				s := nameSet{fold: fold, list: make([]seenName, 0, nameListMax)}
				s, _ = s.add([]byte(a))
				_, ok := s.add([]byte(b))
				want := !bytes.Equal([]byte(a), []byte(b)) && !(fold && bytes.EqualFold([]byte(a), []byte(b)))
				if ok != want {
					t.Errorf("fold %v: %q then %q: added %v, want %v", fold, a, b, ok, want)
				}
			}
		}
	}
}
