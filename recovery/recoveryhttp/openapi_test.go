package recoveryhttp

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
)

// scenario prepares env for a request (an account, a mailed link) and
// returns the request.
type scenario func(t *testing.T, e *env) (request func() resp)

// answers is, for every route, each status its handler can answer with,
// and a scenario that gets it from a new env (for 429, one whose
// Limits.Address budget is a single request). TestOperationsDocumentAnswers
// plays every one of them, and checks that the route's Operation
// documents exactly these statuses.
var answers = map[string]map[int]scenario{
	"POST /email/verify": {
		204: func(t *testing.T, e *env) func() resp {
			_, token := e.account(t, "alice", "alice@example.com")
			return func() resp { return e.do("POST", "/email/verify", jsonType, `{"token":"`+token+`"}`, "") }
		},
		400: invalidLink("/email/verify", ""),
		405: wrongMethod("GET", "/email/verify"),
		409: verifyTaken,
		413: tooLarge("/email/verify", false),
		429: twice(invalidLink("/email/verify", "")),
		503: storeDown(invalidLink("/email/verify", "")),
	},
	"POST /email/verify/resend": {
		202: func(t *testing.T, e *env) func() resp {
			access, _ := e.account(t, "alice", "alice@example.com")
			return func() resp {
				r := e.do("POST", "/email/verify/resend", "", "", access)
				e.mail.link(t, "alice@example.com")
				return r
			}
		},
		400: func(t *testing.T, e *env) func() resp {
			access, _ := e.account(t, "alice", "")
			return func() resp {
				r, err := http.NewRequest("POST", e.srv.URL+"/email/verify/resend", nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Add("Authorization", "Bearer "+access)
				r.Header.Add("Authorization", "Bearer "+access)
				return e.send(r)
			}
		},
		401: func(t *testing.T, e *env) func() resp {
			return func() resp { return e.do("POST", "/email/verify/resend", "", "", "") }
		},
		405: wrongMethod("GET", "/email/verify/resend"),
		409: resendNothing,
		429: twice(resendNothing),
		503: storeDown(resendNothing),
	},
	"POST /email/change": {
		202: func(t *testing.T, e *env) func() resp {
			access, _ := e.account(t, "alice", "")
			return func() resp {
				r := e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"alice@example.com"}`, access)
				e.mail.link(t, "alice@example.com")
				return r
			}
		},
		400: changeEmail(`{"password":"wrong horse","new_email":"alice@example.com"}`),
		401: func(t *testing.T, e *env) func() resp {
			return func() resp {
				return e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"alice@example.com"}`, "")
			}
		},
		405: wrongMethod("GET", "/email/change"),
		409: func(t *testing.T, e *env) func() resp {
			e.account(t, "bob@example.com", "")
			return changeEmail(`{"password":"correct horse","new_email":"bob@example.com"}`)(t, e)
		},
		413: tooLarge("/email/change", true),
		422: changeEmail(`{"password":"correct horse","new_email":"not an address"}`),
		429: twice(changeEmail(`{"password":"correct horse","new_email":"not an address"}`)),
		503: storeDown(changeEmail(`{"password":"correct horse","new_email":"alice@example.com"}`)),
	},
	"POST /password/forgot": {
		202: forgotNobody,
		400: func(t *testing.T, e *env) func() resp {
			return func() resp { return e.do("POST", "/password/forgot", jsonType, `{}`, "") }
		},
		405: wrongMethod("GET", "/password/forgot"),
		413: tooLarge("/password/forgot", false),
		429: twice(forgotNobody),
		// A store that is down is 202 (the account is looked up off the
		// request path); a shared limiter that is down is 503.
		503: func(t *testing.T, e *env) func() resp {
			return func() resp {
				e.limiter.down.Store(true)
				return e.do("POST", "/password/forgot", jsonType, `{"email":"nobody@example.com"}`, "")
			}
		},
	},
	"POST /password/reset": {
		204: resetWith("another horse"),
		400: invalidLink("/password/reset", `,"new_password":"another horse"`),
		405: wrongMethod("GET", "/password/reset"),
		413: tooLarge("/password/reset", false),
		422: resetWith("short"),
		429: twice(invalidLink("/password/reset", `,"new_password":"another horse"`)),
		503: storeDown(invalidLink("/password/reset", `,"new_password":"another horse"`)),
	},
	"POST /admin/users/{id}/password-reset": {
		202: func(t *testing.T, e *env) func() resp {
			root := e.admin(t)
			e.account(t, "alice", "alice@example.com")
			return func() resp {
				r := e.do("POST", "/admin/users/"+e.id(t, "alice")+"/password-reset", "", "", root)
				e.mail.link(t, "alice@example.com")
				return r
			}
		},
		400: func(t *testing.T, e *env) func() resp {
			root := e.admin(t)
			return func() resp {
				r, err := http.NewRequest("POST", e.srv.URL+"/admin/users/"+e.id(t, "root")+"/password-reset", nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Add("Authorization", "Bearer "+root)
				r.Header.Add("Authorization", "Bearer "+root)
				return e.send(r)
			}
		},
		401: func(t *testing.T, e *env) func() resp {
			return func() resp { return e.do("POST", "/admin/users/x/password-reset", "", "", "") }
		},
		403: func(t *testing.T, e *env) func() resp {
			access, _ := e.account(t, "alice", "")
			return func() resp { return e.do("POST", "/admin/users/"+e.id(t, "alice")+"/password-reset", "", "", access) }
		},
		404: func(t *testing.T, e *env) func() resp {
			root := e.admin(t)
			return func() resp { return e.do("POST", "/admin/users/nobody/password-reset", "", "", root) }
		},
		405: wrongMethod("GET", "/admin/users/x/password-reset"),
		409: adminResetNoEmail,
		503: storeDown(adminResetNoEmail),
	},
	"GET /verify-email":         {200: page("/verify-email?token=" + strings.Repeat("A", 43)), 405: wrongMethod("POST", "/verify-email")},
	"GET /reset-password":       {200: page("/reset-password?token=" + strings.Repeat("A", 43)), 405: wrongMethod("POST", "/reset-password")},
	"GET /assets/link-page.js":  {200: page("/assets/link-page.js"), 405: wrongMethod("POST", "/assets/link-page.js")},
	"GET /assets/link-page.css": {200: page("/assets/link-page.css"), 405: wrongMethod("PUT", "/assets/link-page.css")},
}

// account signs name up (with email, if not ""), reads the verification
// link mailed to email, and logs in: the access token, and the link's
// token.
func (e *env) account(t *testing.T, name, email string) (access, verify string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"username": name, "password": "correct horse", "email": email})
	if err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/signup", jsonType, string(body), "").wantStatus(t, 201)
	if email != "" {
		_, verify = e.mail.link(t, email)
	}
	access, _ = e.login(t, name, "correct+horse")
	return access, verify
}

func wrongMethod(method, path string) scenario {
	return func(t *testing.T, e *env) func() resp {
		return func() resp {
			r := e.do(method, path, jsonType, `{}`, "")
			if r.header.Get("Allow") == "" {
				t.Errorf("%s %s: %d without Allow", method, path, r.status)
			}
			return r
		}
	}
}

// tooLarge posts a body over authhttp.MaxBodyBytes to path, signed in if
// authenticated.
func tooLarge(path string, authenticated bool) scenario {
	return func(t *testing.T, e *env) func() resp {
		var access string
		if authenticated {
			access, _ = e.account(t, "alice", "")
		}
		return func() resp {
			return e.do("POST", path, jsonType, `{"token":"`+strings.Repeat("A", authhttp.MaxBodyBytes)+`"}`, access)
		}
	}
}

// invalidLink posts a token no link has (and the rest of the body) to path.
func invalidLink(path, rest string) scenario {
	return func(t *testing.T, e *env) func() resp {
		return func() resp {
			return e.do("POST", path, jsonType, `{"token":"`+strings.Repeat("A", 43)+`"`+rest+`}`, "")
		}
	}
}

// changeEmail posts body to /email/change as a new account's.
func changeEmail(body string) scenario {
	return func(t *testing.T, e *env) func() resp {
		access, _ := e.account(t, "alice", "")
		return func() resp { return e.do("POST", "/email/change", jsonType, body, access) }
	}
}

// resendNothing asks for a verification mail for an account without an
// email.
func resendNothing(t *testing.T, e *env) func() resp {
	access, _ := e.account(t, "alice", "")
	return func() resp { return e.do("POST", "/email/verify/resend", "", "", access) }
}

// admin signs root up, makes root an administrator (as a tool on the
// server does), and returns root's access token.
func (e *env) admin(t *testing.T) string {
	t.Helper()
	access, _ := e.account(t, "root", "")
	if _, err := e.a.Store().ChangeUser(context.Background(), e.id(t, "root"), auth.UserChange{Roles: &[]string{admin.Role}}); err != nil {
		t.Fatal(err)
	}
	return access
}

// id is the account name's id.
func (e *env) id(t *testing.T, name string) string {
	t.Helper()
	u, err := e.a.Store().UserByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// adminResetNoEmail has an administrator ask for a reset link for an
// account without an email.
func adminResetNoEmail(t *testing.T, e *env) func() resp {
	root := e.admin(t)
	e.account(t, "alice", "")
	target := "/admin/users/" + e.id(t, "alice") + "/password-reset"
	return func() resp { return e.do("POST", target, "", "", root) }
}

// forgotNobody asks for a reset link for an address no account has.
func forgotNobody(t *testing.T, e *env) func() resp {
	return func() resp {
		r := e.do("POST", "/password/forgot", jsonType, `{"email":"nobody@example.com"}`, "")
		if r.status == http.StatusAccepted {
			e.events.Wait(t, recovery.EventPasswordResetRequested, authtest.About("nobody@example.com"))
		}
		return r
	}
}

// resetWith resets a new account's password to password with a mailed
// link.
func resetWith(password string) scenario {
	return func(t *testing.T, e *env) func() resp {
		e.account(t, "alice", "alice@example.com")
		e.do("POST", "/password/forgot", jsonType, `{"email":"alice@example.com"}`, "").wantAccepted(t)
		_, token := e.mail.link(t, "alice@example.com")
		return func() resp {
			return e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"`+password+`"}`, "")
		}
	}
}

// verifyTaken verifies an address that another account took (as its
// username) after the link was mailed.
func verifyTaken(t *testing.T, e *env) func() resp {
	access, _ := e.account(t, "alice", "")
	e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"taken@example.com"}`, access).wantAccepted(t)
	_, token := e.mail.link(t, "taken@example.com")
	e.account(t, "taken@example.com", "")
	return func() resp { return e.do("POST", "/email/verify", jsonType, `{"token":"`+token+`"}`, "") }
}

func page(target string) scenario {
	return func(t *testing.T, e *env) func() resp {
		return func() resp { return e.do("GET", target, "", "", "") }
	}
}

// twice makes s's request twice, for the answer of the second: the first
// spent the budget of recovery requests of env (a single one).
func twice(s scenario) scenario {
	return func(t *testing.T, e *env) func() resp {
		request := s(t, e)
		return func() resp {
			if first := request(); first.status == http.StatusTooManyRequests {
				t.Fatalf("the first request: %d %s", first.status, first.raw)
			}
			return request()
		}
	}
}

// storeDown makes s's request with the store switched off.
func storeDown(s scenario) scenario {
	return func(t *testing.T, e *env) func() resp {
		request := s(t, e)
		return func() resp {
			e.store.down.Store(true)
			return request()
		}
	}
}

// TestOperationsDocumentAnswers: every route has an Operation, a JSON
// object whose responses are exactly the statuses its handler can answer
// with (answers), and the handler does answer each of them.
func TestOperationsDocumentAnswers(t *testing.T) {
	e := newEnv(t)
	routes := e.x.Routes()
	var got []string
	for _, r := range routes {
		key := r.Method + " " + r.Path
		got = append(got, key)
		if r.Handler == nil {
			t.Errorf("%s has no handler", key)
		}
		if r.Operation == nil {
			t.Errorf("%s has no Operation", key)
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r.Operation, &obj); err != nil || obj == nil {
			t.Errorf("%s: the Operation is not a JSON object: %v", key, err)
			continue
		}
		documented := slices.Sorted(maps.Keys(documentedStatuses(t, r.Operation)))
		want := slices.Sorted(maps.Keys(answers[key]))
		if !slices.Equal(documented, want) {
			t.Errorf("%s documents %v; its handler answers %v", key, documented, want)
		}
	}
	if want := slices.Sorted(maps.Keys(answers)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("Routes() = %v, want %v", got, want)
	}
	// Every description in openapi.json belongs to a route: none is stale.
	var spec struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(openapiSpec, &spec); err != nil {
		t.Fatal(err)
	}
	if ops := slices.Sorted(maps.Keys(spec.Operations)); !slices.Equal(ops, slices.Sorted(slices.Values(got))) {
		t.Errorf("openapi.json describes %v, the routes are %v", ops, got)
	}

	for key, byStatus := range answers {
		for status, s := range byStatus {
			t.Run(strings.ReplaceAll(key, "/", "_")+"_"+http.StatusText(status), func(t *testing.T) {
				c := envConfig{}
				if status == http.StatusTooManyRequests {
					c.limits.Address = auth.Rate{Burst: 1, Interval: time.Hour}
				}
				e := newEnvConfig(t, c)
				if r := s(t, e)(); r.status != status {
					t.Fatalf("%s answered %d %s, want %d", key, r.status, r.raw, status)
				}
			})
		}
	}
}

// TestOpenAPIDocument: authhttp.OpenAPI takes this package's routes beside
// authhttp's, and the document has each of them with its Operation as it
// is, a security requirement on those that need a token, and no reference
// that points at nothing. (That the document is valid OpenAPI 3.1 is
// checked with a real validator, kin-openapi, by the example server's
// tests, which keep that dependency out of this module.)
func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	routes := e.x.Routes()
	raw, err := authhttp.OpenAPI(append(e.h.Routes(), routes...))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	authenticated := map[string]bool{"POST /email/verify/resend": true, "POST /email/change": true, "POST /admin/users/{id}/password-reset": true}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		op, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("the document lacks %s", key)
			continue
		}
		if !jsonEqual(t, op, r.Operation) {
			t.Errorf("%s is documented as\n%s\nnot as its Operation\n%s", key, op, r.Operation)
		}
		var o struct {
			Security []map[string][]string `json:"security"`
		}
		if err := json.Unmarshal(op, &o); err != nil {
			t.Fatal(err)
		}
		if authenticated[key] != (len(o.Security) > 0) {
			t.Errorf("%s: security %v, but it needs a token: %v", key, o.Security, authenticated[key])
		}
	}
	if len(doc.Paths["/token"]) == 0 {
		t.Error("authhttp's routes are gone from the document")
	}

	// Every $ref resolves within the document.
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	refs := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					refs++
					if !resolves(tree, ref) {
						t.Errorf("$ref %q points at nothing", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(tree)
	if refs == 0 {
		t.Fatal("no $ref in the document")
	}

	// The same routes twice are refused: the document would not describe
	// what is mounted.
	if _, err := authhttp.OpenAPI(append(e.h.Routes(), append(routes, routes[0])...)); err == nil {
		t.Error("OpenAPI with a route twice succeeded")
	}
}

// resolves reports whether ref, a local JSON pointer "#/a/b", names a
// value of tree.
func resolves(tree any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	v := tree
	for _, name := range strings.Split(path, "/") {
		name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[name]; !ok {
			return false
		}
	}
	return true
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
