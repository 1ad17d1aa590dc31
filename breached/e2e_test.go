package breached_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/breached"
	"github.com/goauthkit/auth/store/memory"
)

// service is an Authenticator with a Checker against a fake range API,
// behind authhttp's endpoints.
type service struct {
	a   *auth.Authenticator
	url string
}

func newService(t *testing.T, c breached.Config) *service {
	t.Helper()
	checker, err := breached.New(c)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("a test secret of at least 32 bytes, for HS256"),
		Passwords: auth.PasswordConfig{Breached: checker.Breached},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rt := authhttp.NewRouter()
	rt.Mount(h.Routes())
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return &service{a: a, url: srv.URL}
}

// answer is an HTTP answer: its status and JSON body.
type answer struct {
	status int
	body   map[string]any
}

func (s *service) do(t *testing.T, path, ct, body, bearer string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) want(t *testing.T, what string, status int, code, description string) {
	t.Helper()
	if a.status != status || (code != "" && a.body["error"] != code) ||
		(description != "" && a.body["error_description"] != description) {
		t.Fatalf("%s: %d %v, want %d %s %q", what, a.status, a.body, status, code, description)
	}
}

const breachedDescription = "the password has appeared in a data breach: choose another"

func signupBody(name, password string) string {
	b, _ := json.Marshal(map[string]string{"username": name, "password": password})
	return string(b)
}

// TestEndToEnd: through authhttp's endpoints, signup and a password
// change refuse the breached password with 422 invalid_password, saying
// why, and take a clean one; HashPassword (a reset's, an administrator's)
// refuses it too.
func TestEndToEnd(t *testing.T) {
	h := sha1Hex(breachedPassword)
	f := newFakeRange(t, map[string]string{h[:5]: h[5:] + ":250\r\n"}, nil)
	s := newService(t, breached.Config{BaseURL: f.URL})

	s.do(t, "/signup", "application/json", signupBody("alice", breachedPassword), "").
		want(t, "signup with a breached password", 422, "invalid_password", breachedDescription)
	s.do(t, "/signup", "application/json", signupBody("alice", cleanPassword), "").
		want(t, "signup with a clean password", 201, "", "")

	tok := s.do(t, "/token", "application/x-www-form-urlencoded",
		url.Values{"username": {"alice"}, "password": {cleanPassword}}.Encode(), "")
	tok.want(t, "token", 200, "", "")
	access, _ := tok.body["access_token"].(string)
	change := func(next string) answer {
		b, _ := json.Marshal(map[string]string{"current_password": cleanPassword, "new_password": next})
		return s.do(t, "/users/me/password", "application/json", string(b), access)
	}
	change(breachedPassword).want(t, "change to a breached password", 422, "invalid_password", breachedDescription)
	change("another clean one, long enough").want(t, "change to a clean password", 204, "", "")

	if _, err := s.a.HashPassword(context.Background(), breachedPassword); !errors.Is(err, auth.ErrPasswordBreached) {
		t.Fatalf("HashPassword = %v, want ErrPasswordBreached", err)
	}
	checkRequests(t, f, breachedPassword, cleanPassword, "another clean one, long enough")
	// A breached signup, a clean one, a breached change, a clean one,
	// HashPassword: the login asked nothing.
	if n := len(f.requests()); n != 5 {
		t.Fatalf("%d range requests, want 5", n)
	}
}

// TestEndToEndDown: with the range API down, a signup is refused with 503
// temporarily_unavailable (fail closed), or accepted with FailOpen.
func TestEndToEndDown(t *testing.T) {
	f := newFakeRange(t, nil, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })

	closed := newService(t, breached.Config{BaseURL: f.URL})
	closed.do(t, "/signup", "application/json", signupBody("alice", cleanPassword), "").
		want(t, "signup, fail closed", 503, "temporarily_unavailable", "the service is temporarily unavailable")
	if _, err := closed.a.HashPassword(context.Background(), cleanPassword); !errors.Is(err, auth.ErrStoreUnavailable) || !errors.Is(err, breached.ErrUnavailable) {
		t.Fatalf("HashPassword, fail closed = %v", err)
	}

	open := newService(t, breached.Config{BaseURL: f.URL, FailOpen: true})
	open.do(t, "/signup", "application/json", signupBody("alice", breachedPassword), "").
		want(t, "signup, fail open", 201, "", "")
}
