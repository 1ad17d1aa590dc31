// Package httpjson writes the JSON answers of the module's HTTP code: the
// library's middleware (in package auth) and the endpoints (authhttp).
package httpjson

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"
)

// Write writes v as the JSON body of an answer that no cache may keep
// (every answer of this module concerns credentials or a user).
func Write(w http.ResponseWriter, status int, v any) {
	// The keys are canonical already; one array holds the three values
	// (each slice capped, so an append by anyone copies rather than
	// overwrites its neighbour), where three Sets would allocate three.
	vals := [...]string{"application/json", "no-store", "nosniff"}
	h := w.Header()
	h["Content-Type"] = vals[0:1:1]
	h["Cache-Control"] = vals[1:2:2]
	h["X-Content-Type-Options"] = vals[2:3:3]
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ErrorBody is the JSON body of every error answer: the OAuth 2.0 shape
// (RFC 6749 §5.2).
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Error writes an error answer with the OAuth 2.0 JSON body.
func Error(w http.ResponseWriter, status int, code, description string) {
	Write(w, status, ErrorBody{Error: code, Description: description})
}

// WriteBody is Write for a body already encoded as JSON (by the Append
// functions, on a hot path where encoding/json's reflection and
// allocations are a fifth of the request).
func WriteBody(w http.ResponseWriter, status int, body []byte) {
	vals := [...]string{"application/json", "no-store", "nosniff"}
	h := w.Header()
	h["Content-Type"] = vals[0:1:1]
	h["Cache-Control"] = vals[1:2:2]
	h["X-Content-Type-Options"] = vals[2:3:3]
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// AppendString appends s to dst as a JSON string, byte for byte as
// encoding/json writes it (with its default HTML escaping): '"', '\\' and
// control characters escaped, '<', '>' and '&' as \u003c, \u003e and
// \u0026, U+2028 and U+2029 escaped, and invalid UTF-8 as \ufffd.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// safe holds the ASCII bytes AppendString copies as they are.
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := byte(' '); b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()
