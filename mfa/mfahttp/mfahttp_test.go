package mfahttp

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/store/memory"
)

// TestAnswer: each error of package mfa has the HTTP contract's answer,
// wrapped or not; the core's are left to authhttp's table.
func TestAnswer(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{&mfa.Challenge{Token: "t", Methods: []string{"otp", "recovery_code"}}, http.StatusForbidden, "mfa_required"},
		{mfa.ErrInvalidCode, http.StatusBadRequest, "invalid_grant"},
		{mfa.ErrInvalidChallenge, http.StatusBadRequest, "invalid_grant"},
		{mfa.ErrEnabled, http.StatusConflict, "mfa_enabled"},
		{mfa.ErrNothingToConfirm, http.StatusConflict, "nothing_to_confirm"},
		{mfa.ErrNotEnabled, http.StatusConflict, "mfa_not_enabled"},
		{auth.ErrInvalidCredentials, 0, ""},
		{auth.ErrSecondFactorRequired, 0, ""},
	} {
		for _, err := range []error{tt.err, fmt.Errorf("wrapped: %w", tt.err)} {
			p := answer(err)
			switch {
			case tt.status == 0 && p != nil:
				t.Errorf("%v: answered %+v, want the table's", err, p)
			case tt.status != 0 && (p == nil || p.Status != tt.status || p.Code != tt.code || p.Description == ""):
				t.Errorf("%v: %+v, want %d %s", err, p, tt.status, tt.code)
			}
		}
	}
	var ch *mfa.Challenge
	p := answer(fmt.Errorf("login: %w", &mfa.Challenge{Token: "tok", Methods: []string{"otp"}}))
	if !errors.As(&mfa.Challenge{}, &ch) || p.Members["mfa_token"] != "tok" || fmt.Sprint(p.Members["mfa_methods"]) != "[otp]" {
		t.Fatalf("the challenge's members: %v", p.Members)
	}
}

// TestRoutes: every route is described (Routes panics otherwise) at the
// contract's method and path.
func TestRoutes(t *testing.T) {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("mfahttp-tests-secret-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mfa.New(a, mfa.Config{Key: []byte("mfahttp-tests-key-0123456789abcdef-xyz")})
	if err != nil {
		t.Fatal(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /mfa", "POST /mfa/totp", "POST /mfa/totp/confirm", "POST /mfa/recovery-codes", "DELETE /mfa/totp",
		"POST /session/mfa", "DELETE /admin/users/{id}/mfa"}
	routes := New(h, m).Routes()
	if len(routes) != len(want) {
		t.Fatalf("%d routes", len(routes))
	}
	for i, r := range routes {
		if r.Method+" "+r.Path != want[i] || len(r.Operation) == 0 || r.Handler == nil {
			t.Errorf("route %d: %s %s (%d bytes of operation)", i, r.Method, r.Path, len(r.Operation))
		}
	}
	if _, err := authhttp.OpenAPI(append(h.Routes(), routes...)); err != nil {
		t.Fatalf("OpenAPI: %v", err)
	}
}
