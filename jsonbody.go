package auth

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Strict JSON request bodies.
//
// encoding/json is lenient where an authentication endpoint must not be: it
// matches "Username" to a field tagged "username", lets a repeated member
// silently override the first, and turns an unpaired surrogate escape
// ("\ud800") or invalid UTF-8 into U+FFFD, so that two different byte
// strings become one password. parseJSONObject reads a body the way the
// HTTP contract wants instead: exactly one object (RFC 8259), member names
// compared byte for byte, and a 400 for a duplicate name, an unpaired
// surrogate, invalid UTF-8 or nesting deeper than maxJSONDepth, anywhere in
// the body. Members it is not asked for are ignored.

// maxJSONDepth bounds the nesting of arrays and objects in a request body,
// so that a body cannot make the parser recurse deeply.
const maxJSONDepth = 32

// JSON body errors: each a *RequestError with a fixed reason.
var (
	errJSONSyntax    = badRequest("the body is not valid JSON")
	errJSONNotObject = badRequest("the body is not a JSON object")
	errJSONDuplicate = badRequest("the body repeats a member name")
	errJSONSurrogate = badRequest("the body holds an unpaired UTF-16 surrogate escape")
	errJSONUTF8      = badRequest("the body is not valid UTF-8")
	errJSONDepth     = badRequest("the body is nested too deeply")
)

// jsonKind is the type of a top-level member's value.
type jsonKind uint8

const (
	jsonOther  jsonKind = iota // number, boolean, array or object
	jsonString                 // a string, decoded in jsonValue.str
	jsonNull
)

// jsonValue is a top-level member of a JSON body. Only strings are decoded:
// request bodies of this package hold nothing else.
type jsonValue struct {
	kind jsonKind
	str  string
}

// jsonObject is the top-level members of a JSON body, by exact name.
type jsonObject map[string]jsonValue

// stringField returns the string member name. A member that is absent or
// null is missing: ok is false. A member of another type is an error.
func (o jsonObject) stringField(name string, typeErr error) (s string, ok bool, err error) {
	v, present := o[name]
	switch {
	case !present || v.kind == jsonNull:
		return "", false, nil
	case v.kind != jsonString:
		return "", false, typeErr
	}
	return v.str, true, nil
}

// parseJSONObject parses data, which must be one JSON object with optional
// white space around it, and returns its top-level members. Every error is a
// *RequestError.
func parseJSONObject(data []byte) (jsonObject, error) {
	p := jsonParser{data: data}
	p.space()
	if p.pos >= len(data) || data[p.pos] != '{' {
		// Tell a body that is JSON but not an object from one that is
		// not JSON at all.
		if _, err := p.value(0); err != nil {
			return nil, err
		}
		return nil, errJSONNotObject
	}
	obj := make(jsonObject)
	if err := p.object(0, obj); err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(data) {
		return nil, errJSONSyntax
	}
	return obj, nil
}

// jsonParser is a recursive-descent parser over a byte slice.
type jsonParser struct {
	data []byte
	pos  int
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses any JSON value at depth (the number of arrays and objects
// around it) and returns it, with strings decoded.
func (p *jsonParser) value(depth int) (jsonValue, error) {
	if p.pos >= len(p.data) {
		return jsonValue{}, errJSONSyntax
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return jsonValue{}, p.object(depth, nil)
	case c == '[':
		return jsonValue{}, p.array(depth)
	case c == '"':
		s, err := p.string()
		return jsonValue{kind: jsonString, str: s}, err
	case c == 't':
		return jsonValue{}, p.literal("true")
	case c == 'f':
		return jsonValue{}, p.literal("false")
	case c == 'n':
		return jsonValue{kind: jsonNull}, p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return jsonValue{}, p.number()
	}
	return jsonValue{}, errJSONSyntax
}

// object parses an object. Its members go to into when into is not nil
// (the top level); nested objects are only checked.
func (p *jsonParser) object(depth int, into jsonObject) error {
	if depth++; depth > maxJSONDepth {
		return errJSONDepth
	}
	p.pos++ // '{'
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	seen := into
	if seen == nil {
		seen = make(jsonObject)
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return errJSONSyntax
		}
		name, err := p.string()
		if err != nil {
			return err
		}
		if _, dup := seen[name]; dup {
			return errJSONDuplicate
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return errJSONSyntax
		}
		p.pos++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return err
		}
		if into == nil {
			v = jsonValue{} // nested: only the name matters
		}
		seen[name] = v
		p.space()
		if p.pos >= len(p.data) {
			return errJSONSyntax
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.space()
		case '}':
			p.pos++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (p *jsonParser) array(depth int) error {
	if depth++; depth > maxJSONDepth {
		return errJSONDepth
	}
	p.pos++ // '['
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return nil
	}
	for {
		if _, err := p.value(depth); err != nil {
			return err
		}
		p.space()
		if p.pos >= len(p.data) {
			return errJSONSyntax
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.space()
		case ']':
			p.pos++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return errJSONSyntax
	}
	p.pos += len(word)
	return nil
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() error {
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case p.digits() == 0:
		return errJSONSyntax
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return errJSONSyntax
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return errJSONSyntax
		}
	}
	return nil
}

func (p *jsonParser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

// string parses a string literal and returns its decoded value. It refuses
// control characters, invalid UTF-8, bad escapes and unpaired surrogates.
func (p *jsonParser) string() (string, error) {
	p.pos++ // opening quote
	var buf []byte
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			var s string
			if buf == nil {
				s = string(p.data[start:p.pos])
			} else {
				s = string(append(buf, p.data[start:p.pos]...))
			}
			p.pos++
			return s, nil
		case c == '\\':
			buf = append(buf, p.data[start:p.pos]...)
			var err error
			if buf, err = p.escape(buf); err != nil {
				return "", err
			}
			start = p.pos
		case c < 0x20:
			return "", errJSONSyntax
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", errJSONUTF8
			}
			p.pos += size
		}
	}
	return "", errJSONSyntax
}

// escape decodes the escape sequence at p.pos (a backslash) onto buf.
func (p *jsonParser) escape(buf []byte) ([]byte, error) {
	if p.pos+1 >= len(p.data) {
		return nil, errJSONSyntax
	}
	c := p.data[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return nil, errJSONSyntax
		}
		switch {
		case 0xDC00 <= r && r < 0xE000:
			return nil, errJSONSurrogate // a low half with no high half
		case 0xD800 <= r && r < 0xDC00:
			if p.pos+1 >= len(p.data) || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
				return nil, errJSONSurrogate
			}
			p.pos += 2
			lo, ok := p.hex4()
			if !ok {
				return nil, errJSONSyntax
			}
			if lo < 0xDC00 || lo >= 0xE000 {
				return nil, errJSONSurrogate
			}
			r = utf16.DecodeRune(r, lo)
		}
		return utf8.AppendRune(buf, r), nil
	}
	return nil, errJSONSyntax
}

// hex4 reads four hexadecimal digits.
func (p *jsonParser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
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
	p.pos += 4
	return r, true
}
