package strictjson

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// requireSeeds fails the fuzz test if its committed seed corpus is missing,
// so the corpus can never silently disappear.
func requireSeeds(f *testing.F, min int) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < min {
		f.Fatalf("seed corpus %s: %d files (%v), want at least %d", dir, len(entries), err, min)
	}
}

// FuzzScanObject checks Scan, under the rules of tokens and of request
// bodies, against encoding/json: it must never panic; what it accepts must
// be one valid JSON object, of valid UTF-8, without repeated names, whose
// members are valid JSON; what it refuses as bad syntax must be invalid
// JSON; and the two rules may differ only on duplicates. (authhttp's
// FuzzJSONBody checks the body path's decoding on top of it.)
func FuzzScanObject(f *testing.F) {
	requireSeeds(f, 30)
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data)
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		isObject := valid && len(trimmed) > 0 && trimmed[0] == '{'
		var errs [2]error
		for k, rules := range []Rules{Token, Body} {
			var names [][]byte
			err := Scan(data, rules, func(name, value []byte) error {
				if !json.Valid(value) {
					t.Fatalf("%+v: member %q has invalid value %q", rules, name, value)
				}
				for _, n := range names {
					if bytes.Equal(n, name) || rules&FoldNames != 0 && bytes.EqualFold(n, name) {
						t.Fatalf("%+v: %q: repeated name %q", rules, data, name)
					}
				}
				names = append(names, name)
				return nil
			})
			errs[k] = err
			switch {
			case err == nil && !isObject:
				t.Fatalf("%+v: accepted %q, which is not a JSON object", rules, data)
			case err == nil && !utf8.Valid(data):
				t.Fatalf("%+v: accepted invalid UTF-8 %q", rules, data)
			case err == nil:
			case err == ErrSyntax && valid:
				t.Fatalf("%+v: refused valid JSON %q as bad syntax", rules, data)
			case err == ErrNotObject && isObject:
				t.Fatalf("%+v: refused the object %q as not an object", rules, data)
			case err == ErrUTF8 && utf8.Valid(data):
				t.Fatalf("%+v: refused valid UTF-8 %q as invalid", rules, data)
			case err == ErrSurrogate && !bytes.Contains(data, []byte(`\u`)):
				t.Fatalf("%+v: refused %q for a surrogate escape", rules, data)
			}
			if _, ok := err.(Error); err != nil && !ok {
				t.Fatalf("%+v: error %v is not a Error", rules, err)
			}
		}
		if errs[0] != errs[1] && errs[0] != ErrDuplicate && errs[1] != ErrDuplicate {
			t.Fatalf("%q: token rules say %v, body rules %v", data, errs[0], errs[1])
		}

	})
}
