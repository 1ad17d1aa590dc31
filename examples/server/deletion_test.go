package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/smtptest"
)

// The v3 rows of account deletion and administration, end to end, on
// every store the server offers: DELETE /users/me, POST /admin/users,
// POST /admin/users/{id}/password-reset and DELETE /admin/users/{id}.

// TestE2EDeleteMe: a user deletes their own account with their password:
// every token of it is refused at once, its mailed links die, and its
// name and email are free again; the last enabled administrator cannot,
// and two of the last two deleting themselves at once leave one.
func TestE2EDeleteMe(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := v3Env(t, db, smtptest.Config{})
			e.verified("alice")
			access, refresh := e.login("alice", "alice's long password")
			other, _ := e.login("alice", "alice's long password")
			e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
			_, reset := e.nextLink("alice@example.com")

			del := func(body, bearer string) resp {
				return e.do(request{method: "DELETE", path: "/users/me", contentType: ctJSON, body: body, bearer: bearer})
			}
			del(`{"password":"wrong password!"}`, access).want(t, 400, "invalid_grant")
			del(`{}`, access).want(t, 400, "invalid_request")
			del(`{"password":"alice's long password"}`, "").want(t, 401, "unauthorized")
			e.me(access).want(t, 200, "")
			del(`{"password":"alice's long password"}`, access).want(t, 204, "")

			// At once: both logins, the refresh token, the mailed link.
			e.me(access).want(t, 401, "invalid_token")
			e.me(other).want(t, 401, "invalid_token")
			e.refresh(refresh).want(t, 400, "invalid_grant")
			e.post("/password/reset", `{"token":"`+reset+`","new_password":"mallory's password"}`, "").want(t, 400, "invalid_grant")
			e.tokenReq("username", "alice", "password", "alice's long password").want(t, 400, "invalid_grant")
			del(`{"password":"alice's long password"}`, access).want(t, 401, "invalid_token")
			// The name and the email are free again.
			e.signupReq2("ALICE", "a new alice's password", "Alice@Example.com").want(t, 201, "")
			e.nextLink("alice@example.com")
			e.login("alice", "a new alice's password")

			// The last enabled administrator.
			e.signup("root", "root's long password")
			e.admin("root")
			root, _ := e.login("root", "root's long password")
			del(`{"password":"root's long password"}`, root).want(t, 409, "last_admin")
			e.me(root).want(t, 200, "")
			// Two of the last two deleting themselves at once: one goes.
			for i := range 5 {
				a, b := fmt.Sprint("last-a", i), fmt.Sprint("last-b", i)
				e.signup(a, "a long password here")
				e.signup(b, "a long password here")
				e.admin(a)
				e.admin(b)
				for _, u := range e.allAdminsBut(a, b) {
					if _, err := e.app.store.ChangeUser(context.Background(), u, auth.UserChange{Roles: &[]string{}}); err != nil {
						t.Fatal(err)
					}
				}
				ta, _ := e.login(a, "a long password here")
				tb, _ := e.login(b, "a long password here")
				var wg sync.WaitGroup
				var ra, rb resp
				wg.Go(func() { ra = del(`{"password":"a long password here"}`, ta) })
				wg.Go(func() { rb = del(`{"password":"a long password here"}`, tb) })
				wg.Wait()
				gone := 0
				for _, r := range []resp{ra, rb} {
					switch {
					case r.status == 204:
						gone++
					case r.status == 409 && r.str("error") == "last_admin":
					default:
						t.Fatalf("trial %d: %d %s", i, r.status, r.raw)
					}
				}
				if gone != 1 || len(e.allAdminsBut()) != 1 {
					t.Fatalf("trial %d: %d deleted, %d admins left; want 1 and 1", i, gone, len(e.allAdminsBut()))
				}
			}
		})
	}
}

// TestE2EAdminAccounts: an administrator creates an account without a
// password, which signs in once a reset link mailed by an administrator
// has set one, and deletes accounts; never the last administrator.
func TestE2EAdminAccounts(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := v3Env(t, db, smtptest.Config{})
			e.signup("root", "root's long password")
			e.signup("carol", "carol's long password")
			e.admin("root")
			root, _ := e.login("root", "root's long password")
			carol, _ := e.login("carol", "carol's long password")
			create := func(body, bearer string) resp {
				return e.do(request{method: "POST", path: "/admin/users", contentType: ctJSON, body: body, bearer: bearer})
			}

			// Created without a password: no password opens it.
			r := create(`{"username":"Dave","email":"Dave@Example.com","roles":["ops"]}`, root)
			r.want(t, 201, "")
			dave := r.str("id")
			if r.str("username") != "dave" || r.str("email") != "dave@example.com" || r.body["disabled"] != false || fmt.Sprint(r.body["roles"]) != "[ops]" || r.body["email_verified"] != false {
				t.Fatalf("created %s", r.raw)
			}
			e.nextLink("dave@example.com") // its verification link
			e.tokenReq("username", "dave", "password", "any password at all").want(t, 400, "invalid_grant")
			create(`{"username":"dave"}`, root).want(t, 409, "user_exists")
			create(`{"username":"erin","email":"dave@example.com"}`, root).want(t, 409, "email_exists")
			create(`{"username":"er"}`, root).want(t, 422, "invalid_username")
			create(`{"username":"erin","password":"short"}`, root).want(t, 422, "invalid_password")
			create(`{"username":"erin","email":"erin@localhost"}`, root).want(t, 422, "invalid_email")
			create(`{"email":"erin@example.com"}`, root).want(t, 400, "invalid_request")
			create(`{"username":"erin"}`, carol).want(t, 403, "insufficient_scope")
			r = create(`{"username":"erin","password":"erin's long password"}`, root)
			r.want(t, 201, "")
			erin := r.str("id")
			e.login("erin", "erin's long password")

			// A reset link mailed by an administrator sets dave's first
			// password.
			reset := func(id, bearer string) resp { return e.post("/admin/users/"+id+"/password-reset", "", bearer) }
			reset(dave, carol).want(t, 403, "insufficient_scope")
			reset("nobody", root).want(t, 404, "not_found")
			reset(erin, root).want(t, 409, "no_email")
			reset(dave, root).wantAccepted(t)
			path, token := e.nextLink("dave@example.com")
			if path != "/reset-password" {
				t.Fatalf("a %s link", path)
			}
			e.post("/password/reset", `{"token":"`+token+`","new_password":"dave's first password"}`, "").want(t, 204, "")
			e.nextNotice("dave@example.com", "Your password was reset")
			daveAccess, _ := e.login("dave", "dave's first password")

			// Deletion: at once, and the name is free again.
			del := func(id, bearer string) resp {
				return e.do(request{method: "DELETE", path: "/admin/users/" + id, bearer: bearer})
			}
			del(dave, carol).want(t, 403, "insufficient_scope")
			del("nobody", root).want(t, 404, "not_found")
			del(dave, root).want(t, 204, "")
			e.me(daveAccess).want(t, 401, "invalid_token")
			del(dave, root).want(t, 404, "not_found")
			e.signupReq2("dave", "a new dave's password", "dave@example.com").want(t, 201, "")
			e.nextLink("dave@example.com")
			del(e.id("root"), root).want(t, 409, "last_admin")
			e.me(root).want(t, 200, "")

			// The audit log names the administrator, and no address.
			logs := e.logs.String()
			for _, want := range []string{
				"event=registered user_id=" + dave + " username=dave client_addr=127.0.0.1 actor=" + e.id("root") + ` change="created, roles=ops"`,
				"event=password_reset_requested user_id=" + dave + " username=dave client_addr=127.0.0.1 actor=" + e.id("root"),
				"event=user_deleted user_id=" + dave + " username=dave client_addr=127.0.0.1 actor=" + e.id("root"),
			} {
				if !strings.Contains(logs, want) {
					t.Errorf("no audit line with %s in:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, "dave@example.com") {
				t.Error("an audit line holds an address")
			}
		})
	}
}
