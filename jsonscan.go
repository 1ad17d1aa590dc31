package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file holds the strict JSON reader of token headers and claims. It
// exists for two reasons: encoding/json matches member names
// case-insensitively and keeps the last of duplicate members, so "EXP" or a
// second "sub" would silently change what a token means; and decoding
// claims with encoding/json's streaming decoder costs more than everything
// else in verification together. The reader accepts exactly RFC 8259 JSON
// (FuzzScanObject checks it against encoding/json.Valid) and allocates only
// for member names that contain escapes.

var errJSON = errors.New("invalid JSON")

// maxTokenJSONDepth bounds nesting inside claim values.
const maxTokenJSONDepth = 32

// scanObject walks the members of the JSON object raw in order, calling
// member with each name (unescaped) and raw value. It refuses anything that
// is not exactly one object, and any name equal to an earlier one up to
// case: "exp" twice, or "exp" and "EXP".
func scanObject(raw []byte, member func(name string, value []byte) error) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(raw, i+1)
	var seenBuf [16]string
	seen := seenBuf[:0]
	if i < len(raw) && raw[i] == '}' {
		i++
	} else {
		for {
			if i >= len(raw) || raw[i] != '"' {
				return errJSON
			}
			end, escaped, err := scanString(raw, i)
			if err != nil {
				return err
			}
			name, err := stringValue(raw[i:end], escaped)
			if err != nil {
				return err
			}
			for _, s := range seen {
				if strings.EqualFold(s, name) {
					return fmt.Errorf("duplicate member %q", name)
				}
			}
			seen = append(seen, name)
			i = skipSpace(raw, end)
			if i >= len(raw) || raw[i] != ':' {
				return errJSON
			}
			i = skipSpace(raw, i+1)
			vend, err := scanValue(raw, i, 0)
			if err != nil {
				return err
			}
			if err := member(name, raw[i:vend]); err != nil {
				return err
			}
			i = skipSpace(raw, vend)
			if i >= len(raw) {
				return errJSON
			}
			if raw[i] == '}' {
				i++
				break
			}
			if raw[i] != ',' {
				return errJSON
			}
			i = skipSpace(raw, i+1)
		}
	}
	if skipSpace(raw, i) != len(raw) {
		return errors.New("trailing data after the object")
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanValue returns the end of the JSON value starting at b[i].
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errJSON
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '-' || ('0' <= c && c <= '9'):
		return scanNumber(b, i)
	case c == '{' || c == '[':
		if depth >= maxTokenJSONDepth {
			return 0, errors.New("JSON nested too deeply")
		}
		return scanContainer(b, i, depth+1)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return 0, errJSON
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errJSON
	}
	return i + len(lit), nil
}

// scanContainer scans a nested object or array (no duplicate checks inside:
// only top-level names carry meaning here).
func scanContainer(b []byte, i, depth int) (int, error) {
	closer, isObject := byte(']'), b[i] == '{'
	if isObject {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		if isObject {
			if i >= len(b) || b[i] != '"' {
				return 0, errJSON
			}
			end, _, err := scanString(b, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, errJSON
			}
			i = skipSpace(b, i+1)
		}
		end, err := scanValue(b, i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errJSON
		}
		if b[i] == closer {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, errJSON
		}
		i = skipSpace(b, i+1)
	}
}

// scanString returns the end of the string starting at b[i] (just past the
// closing quote) and whether it holds escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c < 0x20:
			return 0, false, errJSON
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return 0, false, errJSON
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 {
					return 0, false, errJSON
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return 0, false, errJSON
					}
				}
				i += 4
			default:
				return 0, false, errJSON
			}
		}
	}
	return 0, false, errJSON
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber returns the end of the number at b[i], per RFC 8259 §6.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0, errJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, errJSON
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, errJSON
		}
	}
	return i, nil
}

// stringValue returns the Go string of a scanned JSON string (quotes
// included in raw).
func stringValue(raw []byte, escaped bool) (string, error) {
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errJSON
	}
	return s, nil
}

// claimString decodes a value that must be a JSON string.
func claimString(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", errors.New("not a string")
	}
	escaped := false
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' {
			escaped = true
			break
		}
	}
	return stringValue(raw, escaped)
}

// claimInt decodes a value that must be a JSON integer.
func claimInt(raw []byte) (int64, error) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

// claimNumber decodes a value that must be a JSON number, with a fast path
// for plain non-negative integers (what every NumericDate we issue is).
func claimNumber(raw []byte) (float64, error) {
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
