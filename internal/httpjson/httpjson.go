// Package httpjson writes the JSON answers of the module's HTTP code: the
// library's middleware (in package auth) and the endpoints (authhttp).
package httpjson

import (
	"encoding/json"
	"net/http"
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
