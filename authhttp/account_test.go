package authhttp

import (
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/store/memory"
)

// deleteMe is a request to DELETE /users/me: as who ("alice", "root", a
// user without a password "carol", "" for no token; "!down" after it
// with the store down, "!PUT" with another method, "!twice" with the token
// twice, "!again" after the same request once), with a content type and a
// body.
type deleteMe struct{ who, ct, body string }

// deleteMeCase is one answer of DELETE /users/me and how to get it.
type deleteMeCase struct {
	name   string
	env    func(t *testing.T) *htEnv // default newHTEnv
	req    deleteMe
	status int
	code   string
	// then, if set, checks what the answer left.
	then func(t *testing.T, e *htEnv, tokens map[string]string, r htResp)
}

// deleteMeAnswers are the answers TestDeleteMe plays: every status the
// endpoint answers with, which TestDeleteMeDocumented finds documented.
var deleteMeAnswers = []deleteMeCase{
	{name: "deleted", req: deleteMe{"alice", htJSON, `{"password":"correct horse"}`}, status: 204,
		then: func(t *testing.T, e *htEnv, tokens map[string]string, _ htResp) {
			// Its tokens are refused at once, another's work, and the
			// name is free again.
			e.do("GET", "/users/me", "", "", tokens["alice"]).wantError(t, 401, "invalid_token")
			e.do("DELETE", "/users/me", htJSON, `{"password":"correct horse"}`, tokens["alice"]).wantError(t, 401, "invalid_token")
			e.do("GET", "/users/me", "", "", tokens["bob"]).wantStatus(t, 200)
			e.do("POST", "/signup", htJSON, `{"username":"Alice","password":"another horse"}`, "").wantStatus(t, 201)
		}},
	{name: "wrong password", req: deleteMe{"alice", htJSON, `{"password":"wrong horse"}`}, status: 400, code: "invalid_grant",
		then: func(t *testing.T, e *htEnv, tokens map[string]string, r htResp) {
			if r.body["error_description"] != "the password is wrong" {
				t.Errorf("description %v", r.body["error_description"])
			}
			e.do("GET", "/users/me", "", "", tokens["alice"]).wantStatus(t, 200)
		}},
	{name: "no password", req: deleteMe{"alice", htJSON, `{}`}, status: 400, code: "invalid_request"},
	{name: "no body", req: deleteMe{"alice", "", ""}, status: 400, code: "invalid_request"},
	{name: "a password of another type", req: deleteMe{"alice", htJSON, `{"password":7}`}, status: 400, code: "invalid_request"},
	{name: "a form", req: deleteMe{"alice", htForm, `password=correct+horse`}, status: 400, code: "invalid_request"},
	{name: "too large", req: deleteMe{"alice", htJSON, `{"password":"` + strings.Repeat("x", MaxBodyBytes) + `"}`}, status: 413, code: "request_too_large"},
	{name: "no token", req: deleteMe{"", htJSON, `{"password":"correct horse"}`}, status: 401, code: "unauthorized"},
	{name: "an account without a password", req: deleteMe{"carol", "", ""}, status: 401, code: "insufficient_user_authentication",
		then: func(t *testing.T, e *htEnv, tokens map[string]string, r htResp) {
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="insufficient_user_authentication"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
			e.do("DELETE", "/users/me", htJSON, `{"password":"anything at all"}`, tokens["carol"]).wantError(t, 401, "insufficient_user_authentication")
			e.do("GET", "/users/me", "", "", tokens["carol"]).wantStatus(t, 200)
		}},
	{name: "the last admin", req: deleteMe{"root", htJSON, `{"password":"correct horse"}`}, status: 409, code: "last_admin",
		then: func(t *testing.T, e *htEnv, tokens map[string]string, _ htResp) {
			e.do("GET", "/users/me", "", "", tokens["root"]).wantStatus(t, 200)
		}},
	{name: "guessed", env: func(t *testing.T) *htEnv {
		return newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
			Limits: auth.Limits{LoginUserAddress: auth.Rate{Burst: 1, Interval: time.Hour}}}, Config{})
	}, req: deleteMe{"alice!again", htJSON, `{"password":"wrong horse"}`}, status: 429, code: "too_many_attempts",
		then: func(t *testing.T, e *htEnv, _ map[string]string, r htResp) {
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}},
	{name: "a store that cannot delete", env: func(t *testing.T) *htEnv {
		a, err := auth.New(auth.Config{Store: struct{ auth.Store }{memory.New()}, SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
		if err != nil {
			t.Fatal(err)
		}
		h, err := New(a, Config{})
		if err != nil {
			t.Fatal(err)
		}
		rt := NewRouter()
		rt.Mount(h.Routes())
		return &htEnv{t: t, a: a, h: h, router: rt}
	}, req: deleteMe{"alice", htJSON, `{"password":"correct horse"}`}, status: 404, code: "not_found"},
	{name: "store down", req: deleteMe{"alice!down", htJSON, `{"password":"correct horse"}`}, status: 503, code: "temporarily_unavailable"},
	{name: "another method", req: deleteMe{"alice!PUT", htJSON, `{"password":"correct horse"}`}, status: 405, code: "method_not_allowed"},
	{name: "two Authorization headers", req: deleteMe{"alice!twice", htJSON, `{"password":"correct horse"}`}, status: 400, code: "invalid_request"},
}

// TestDeleteMe plays every answer of DELETE /users/me.
func TestDeleteMe(t *testing.T) {
	for _, tc := range deleteMeAnswers {
		t.Run(tc.name, func(t *testing.T) {
			var e *htEnv
			if tc.env != nil {
				e = tc.env(t)
			} else {
				e = newHTEnv(t, authtest.PlainHasher{}, Config{})
			}
			ctx := context.Background()
			for _, n := range []string{"alice", "bob", "root"} {
				e.do("POST", "/signup", htJSON, `{"username":"`+n+`","password":"correct horse"}`, "").wantStatus(t, 201)
			}
			if _, err := e.a.Register(ctx, auth.NewUser{Username: "carol", NoPassword: true}); err != nil {
				t.Fatal(err)
			}
			root, err := e.a.Store().UserByUsername(ctx, "root")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.a.Store().ChangeUser(ctx, root.ID, auth.UserChange{Roles: &[]string{"admin"}}); err != nil {
				t.Fatal(err)
			}
			tokens := map[string]string{}
			for _, n := range []string{"alice", "bob", "root"} {
				tokens[n], _ = e.login(t, n, "correct+horse")
			}
			carol, err := e.a.Store().UserByUsername(ctx, "carol")
			if err != nil {
				t.Fatal(err)
			}
			if tokens["carol"], err = e.a.IssueAccessToken(ctx, carol); err != nil {
				t.Fatal(err)
			}

			who, how, _ := strings.Cut(tc.req.who, "!")
			method := "DELETE"
			var r htResp
			switch how {
			case "down":
				e.store.down.Store(true)
			case "PUT":
				method = "PUT"
			case "again":
				e.do("DELETE", "/users/me", tc.req.ct, tc.req.body, tokens[who]).wantError(t, 400, "invalid_grant")
			case "twice":
				req := httptest.NewRequest("DELETE", "/users/me", strings.NewReader(tc.req.body))
				req.Header.Set("Content-Type", tc.req.ct)
				req.Header.Add("Authorization", "Bearer "+tokens[who])
				req.Header.Add("Authorization", "Bearer "+tokens[who])
				w := httptest.NewRecorder()
				e.router.ServeHTTP(w, req)
				r = htResp{status: w.Code, header: w.Header(), raw: w.Body.String()}
				_ = json.Unmarshal(w.Body.Bytes(), &r.body)
			}
			if how != "twice" {
				r = e.do(method, "/users/me", tc.req.ct, tc.req.body, tokens[who])
			}
			if tc.code == "" {
				r.wantStatus(t, tc.status)
			} else {
				r.wantError(t, tc.status, tc.code)
			}
			if tc.then != nil {
				tc.then(t, e, tokens, r)
			}
		})
	}
}

// TestDeleteMeDocumented: the operation of DELETE /users/me documents the
// statuses TestDeleteMe plays (deleteMeAnswers), and no other.
func TestDeleteMeDocumented(t *testing.T) {
	f, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	var op struct {
		Responses map[string]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(f.Operations["DELETE /users/me"], &op); err != nil {
		t.Fatal(err)
	}
	var documented []int
	for code := range maps.Keys(op.Responses) {
		n, err := strconv.Atoi(code)
		if err != nil {
			t.Fatalf("a response %q", code)
		}
		documented = append(documented, n)
	}
	slices.Sort(documented)
	var want []int
	for _, c := range deleteMeAnswers {
		if !slices.Contains(want, c.status) {
			want = append(want, c.status)
		}
	}
	slices.Sort(want)
	if !slices.Equal(documented, want) {
		t.Fatalf("DELETE /users/me documents %v; it answers %v (TestDeleteMe)", documented, want)
	}
}
