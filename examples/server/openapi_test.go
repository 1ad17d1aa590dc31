package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestE2EOpenAPIValid validates the document the server serves at
// /openapi.json with a real OpenAPI 3.1 validator (kin-openapi), a
// dependency of this module's tests only: package authhttp checks the
// document's operations against its routes without it. The server is on
// localhost, so that the passkeys' routes are in it too.
func TestE2EOpenAPIValid(t *testing.T) {
	e := newEnv(t, envOptions{publicHost: "localhost"})
	r := e.do(request{method: "GET", path: "/openapi.json"})
	if r.status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", r.status)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(r.raw))
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	scheme := doc.Components.SecuritySchemes["oauth2"]
	if scheme == nil || scheme.Value.Type != "oauth2" || scheme.Value.Flows.Password == nil || scheme.Value.Flows.Password.TokenURL != "/token" {
		t.Fatalf("no OAuth 2.0 password flow with tokenUrl /token: %+v", scheme)
	}
	for _, path := range []string{"/token", "/users/me", "/session/refresh", "/password/forgot", "/passkeys/login/finish", "/passkeys/{id}", "/mfa"} {
		if doc.Paths.Find(path) == nil {
			t.Errorf("%s is not documented", path)
		}
	}
}
