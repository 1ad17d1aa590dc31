// Package strictjson is the module's one JSON reader: token headers and
// claims, JWK sets and HTTP request bodies all go through it.
package strictjson

import (
	"bytes"
	"errors"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// It exists because encoding/json is lenient where authentication must not
// be: it matches member names to struct fields case-insensitively (so
// "EXP" fills Exp), keeps the last of duplicate members (so a second "sub"
// silently wins), and turns an unpaired surrogate escape ("\ud800") or
// invalid UTF-8 into U+FFFD (so that two different byte strings decode to
// one password or one subject). And decoding claims with encoding/json
// costs more than everything else in token verification together.
//
// Scan accepts exactly RFC 8259 JSON (FuzzScanObject checks it
// against encoding/json.Valid) and on top of that refuses, anywhere in the
// input, invalid UTF-8, escapes of unpaired UTF-16 surrogates and nesting
// deeper than MaxDepth, and refuses repeated member names as its
// Rules say. It hands its caller each top-level member's name and raw
// value in place: it is on the path of every access-token verification,
// and allocates nothing for member names without escapes in objects of up
// to nameListMax members.

// Rules are what the readers of JSON differ in: how member names are
// checked for duplicates. They combine as bits.
type Rules uint8

const (
	// FoldNames makes top-level member names compare as strings.EqualFold
	// does, so that "exp" and "EXP" are duplicates; otherwise they compare
	// byte for byte. Claim and header names are case-sensitive, so a case
	// variant can only be meant for a verifier that matches names the way
	// encoding/json does.
	FoldNames Rules = 1 << iota
	// NestedNames refuses repeated names (byte for byte) in nested objects
	// too. Without it only the top-level names, the ones the caller reads,
	// are checked.
	NestedNames

	// Token reads JOSE headers, JWT claims and JWK sets, whose nested
	// values (claims the library does not know) it only carries.
	Token = FoldNames
	// Body reads request bodies: names exact, duplicates nowhere.
	Body = NestedNames
)

// MaxDepth bounds the nesting of objects and arrays, the outermost object
// included, so that input cannot make the reader recurse deeply.
const MaxDepth = 32

// Error is why Scan refused its input. The HTTP layer answers each with a
// 400 of its own words; the token path wraps it in ErrTokenMalformed.
type Error uint8

// The errors of Scan.
const (
	ErrSyntax    Error = iota // not RFC 8259 JSON
	ErrNotObject              // JSON, but not an object
	ErrDuplicate              // a repeated member name
	ErrSurrogate              // an escape of an unpaired UTF-16 surrogate
	ErrUTF8                   // invalid UTF-8 in a string
	ErrDepth                  // nested deeper than MaxDepth
	numErrors
)

var errorText = [numErrors]string{
	ErrSyntax:    "invalid JSON",
	ErrNotObject: "not a JSON object",
	ErrDuplicate: "duplicate member name",
	ErrSurrogate: "unpaired UTF-16 surrogate escape",
	ErrUTF8:      "invalid UTF-8",
	ErrDepth:     "JSON nested too deeply",
}

func (e Error) Error() string { return errorText[e] }

// Scan reads data, which must be exactly one JSON object with optional
// white space around it, and calls member with each top-level member in
// order: its name, unescaped, and its raw value, which is valid JSON by
// then. Both alias data unless the name holds escapes. An error from member
// stops the scan and is returned as is; every other error is an Error.
// Duplicate names are refused before member sees them.
func Scan(data []byte, rules Rules, member func(name, value []byte) error) error {
	s := jsonScanner{b: data, nested: noNames}
	if rules&NestedNames != 0 {
		s.nested = exactNames
	}
	top := exactNames
	if rules&FoldNames != 0 {
		top = foldedNames
	}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		// Tell input that is JSON but not an object from input that is
		// not JSON at all.
		if _, err := s.value(i, 0); err != nil {
			return err
		}
		return ErrNotObject
	}
	end, err := s.container(i, 1, top, member)
	if err != nil {
		return err
	}
	if skipSpace(data, end) != len(data) {
		return ErrSyntax
	}
	return nil
}

// nameCheck is how the member names of one object are checked.
type nameCheck uint8

const (
	noNames     nameCheck = iota // not at all
	exactNames                   // refuse a name equal to an earlier one
	foldedNames                  // refuse a name equal up to case (strings.EqualFold)
)

type jsonScanner struct {
	b      []byte
	nested nameCheck // for objects below the top level
}

// value returns the end of the JSON value at b[i], which depth objects and
// arrays enclose.
func (s *jsonScanner) value(i, depth int) (int, error) {
	b := s.b
	if i >= len(b) {
		return 0, ErrSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(b, i)
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			return 0, ErrDepth
		}
		return s.container(i, depth+1, s.nested, nil)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return 0, ErrSyntax
}

// container returns the end of the object or array at b[i], at depth
// (itself included). It checks an object's names as check says, and
// passes its members to member if member is not nil.
func (s *jsonScanner) container(i, depth int, check nameCheck, member func(name, value []byte) error) (int, error) {
	b := s.b
	closer, isObject := byte(']'), b[i] == '{'
	if isObject {
		closer = '}'
	}
	var list [nameListMax]seenName
	seen := nameSet{fold: check == foldedNames, list: list[:0]}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		var name []byte
		if isObject {
			if i >= len(b) || b[i] != '"' {
				return 0, ErrSyntax
			}
			end, escaped, err := scanString(b, i)
			if err != nil {
				return 0, err
			}
			if check != noNames || member != nil {
				if name = b[i+1 : end-1]; escaped {
					name = unescape(name)
				}
			}
			if check != noNames {
				var ok bool
				if seen, ok = seen.add(name); !ok {
					return 0, ErrDuplicate
				}
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, ErrSyntax
			}
			i = skipSpace(b, i+1)
		}
		end, err := s.value(i, depth)
		if err != nil {
			return 0, err
		}
		if member != nil {
			if err := member(name, b[i:end]); err != nil {
				return 0, err
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, ErrSyntax
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closer:
			return i + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

// nameListMax is how many names a nameSet compares one by one before it
// builds a map, so that an object of many members costs linear time.
const nameListMax = 16

// nameSet is the member names of one object seen so far. Its methods take
// and return it by value so that its list can live on the caller's stack.
type nameSet struct {
	fold  bool // compare as bytes.EqualFold does
	list  []seenName
	index map[string]struct{} // by nameKey, once list is full
}

// seenName is a name in a nameSet's list, with its sketch.
type seenName struct {
	name   []byte
	sketch uint32
}

// sketchOf returns a sketch of name under the set's comparison, such that
// two names with different non-zero sketches are never equal: its length
// and its first byte, that byte in lower case when names fold, with the
// top bit set; or 0, which tells nothing, for a name that folds and is not
// all ASCII (whose case variants may have another length, as the Kelvin
// sign's "K"). So most of the names of a token's claims, short and ASCII,
// are told apart without comparing them (bytes.EqualFold is the costly part
// of reading claims: every name is compared with every earlier one).
func (s nameSet) sketchOf(name []byte) uint32 {
	if len(name) == 0 || len(name) > 1<<20 {
		return 0
	}
	first := name[0]
	if s.fold {
		for _, c := range name {
			if c >= utf8.RuneSelf {
				return 0
			}
		}
		if 'A' <= first && first <= 'Z' {
			first += 'a' - 'A'
		}
	}
	return 1<<31 | uint32(len(name))<<8 | uint32(first)
}

// add adds name to the set, and reports false if an equal name is there.
func (s nameSet) add(name []byte) (nameSet, bool) {
	if s.index == nil {
		sk := s.sketchOf(name)
		for _, n := range s.list {
			if sk != 0 && n.sketch != 0 && sk != n.sketch {
				continue
			}
			if bytes.Equal(n.name, name) || s.fold && bytes.EqualFold(n.name, name) {
				return s, false
			}
		}
		if len(s.list) < cap(s.list) {
			s.list = append(s.list, seenName{name, sk})
			return s, true
		}
		s.index = make(map[string]struct{}, 2*len(s.list))
		for _, n := range s.list {
			s.index[s.key(n.name)] = struct{}{}
		}
	}
	k := s.key(name)
	if _, dup := s.index[k]; dup {
		return s, false
	}
	s.index[k] = struct{}{}
	return s, true
}

// key returns name as compared: itself, or with every rune replaced by
// the least rune of its case-folding orbit (unicode.SimpleFold), so that
// two names are equal under bytes.EqualFold exactly when their keys are
// equal.
func (s nameSet) key(name []byte) string {
	if !s.fold {
		return string(name)
	}
	key := make([]byte, 0, len(name))
	for len(name) > 0 {
		r, size := utf8.DecodeRune(name)
		name = name[size:]
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		key = utf8.AppendRune(key, least)
	}
	return string(key)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

// scanNumber returns the end of the number at b[i], per RFC 8259 §6:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return 0, ErrSyntax
	}
	if i < len(b) && b[i] == '.' {
		start := i + 1
		if i = skipDigits(b, start); i == start {
			return 0, ErrSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = skipDigits(b, i); i == start {
			return 0, ErrSyntax
		}
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// plainByte[c] is true for the bytes that stand for themselves in a JSON
// string: printable ASCII but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString returns the end of the string at b[i] (just past its closing
// quote) and whether it holds escapes. It refuses control characters, bad
// escapes, invalid UTF-8 (overlong forms and UTF-8 encoded surrogates
// included) and escapes of unpaired UTF-16 surrogates.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	i++
	for i < len(b) {
		if plainByte[b[i]] {
			i++
			continue
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i, err = scanEscape(b, i); err != nil {
				return 0, false, err
			}
		case c < 0x20:
			return 0, false, ErrSyntax
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, ErrUTF8
			}
			i += size
		}
	}
	return 0, false, ErrSyntax
}

// scanEscape returns the end of the escape at b[i] (a backslash): a
// \uXXXX escape of a high surrogate must be followed by one of a low one.
func scanEscape(b []byte, i int) (int, error) {
	if i+1 >= len(b) {
		return 0, ErrSyntax
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, nil
	case 'u':
		r, ok := hex4(b, i+2)
		if !ok {
			return 0, ErrSyntax
		}
		i += 6
		switch {
		case isLowSurrogate(r):
			return 0, ErrSurrogate
		case utf16.IsSurrogate(r):
			if len(b)-i < 2 || b[i] != '\\' || b[i+1] != 'u' {
				return 0, ErrSurrogate
			}
			lo, ok := hex4(b, i+2)
			if !ok {
				return 0, ErrSyntax
			}
			if !isLowSurrogate(lo) {
				return 0, ErrSurrogate
			}
			i += 6
		}
		return i, nil
	}
	return 0, ErrSyntax
}

func isLowSurrogate(r rune) bool { return 0xDC00 <= r && r < 0xE000 }

// hex4 reads the four hexadecimal digits at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape decodes the escapes in s, the inside of a string scanString
// has accepted, into a new slice.
func unescape(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			return append(out, s...)
		}
		out = append(out, s[:k]...)
		c := s[k+1]
		s = s[k+2:]
		switch c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(s, 0)
			s = s[4:]
			if utf16.IsSurrogate(r) { // a high one: scanString saw its pair
				lo, _ := hex4(s, 2)
				s = s[6:]
				r = utf16.DecodeRune(r, lo)
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, c)
		}
	}
}

// StringValue returns the Go string of raw, a JSON string value (quotes
// included) that Scan has accepted. Without escapes its only allocation is
// the conversion to string.
func StringValue(raw []byte) string {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	return string(unescape(s))
}

// String decodes a value from Scan that must be a JSON string.
func String(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", errors.New("not a string")
	}
	return StringValue(raw), nil
}

// Int decodes a value from Scan that must be a JSON integer.
func Int(raw []byte) (int64, error) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

// Number decodes a value from Scan that must be a JSON number, with a fast
// path for plain non-negative integers (what every NumericDate we issue
// is).
func Number(raw []byte) (float64, error) {
	if len(raw) > 0 && len(raw) <= 15 {
		var n int64
		plain := true
		for _, c := range raw {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if plain {
			return float64(n), nil
		}
	}
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, errors.New("not a number")
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	return f, nil
}
