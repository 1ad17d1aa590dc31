// Package recoveryhttp serves account recovery (package recovery) over
// HTTP: the endpoints that verify an email address, mail a new
// verification link, change the address, and reset a forgotten password,
// the one with which an administrator (admin.Role) has an account mailed a
// reset link, and the pages that the mailed links open, whose button posts
// the link's token to those endpoints (opening a link spends nothing).
//
// The endpoints are made with authhttp's kit (Handlers.Public and
// Authenticated, ReadJSON, Problem), so they check the method, read the
// body, authenticate the caller, bound the time and answer errors as
// authhttp's own do, through its table of answers; package recovery's
// errors get answers of their own (a link that is invalid, spent or
// expired is 400 invalid_grant; nothing to verify, 409 nothing_to_verify;
// no address to mail a reset link to, 409 no_email).
// Each route carries its OpenAPI Operation, so that authhttp.OpenAPI
// describes it.
//
// A service that mails its users makes a recovery.Recovery of its
// Authenticator, and mounts Handlers.Routes beside authhttp.Handlers.Routes
// in one router, at the root of recovery.Config.PublicURL (where the mailed
// links point):
//
//	rec, err := recovery.New(a, recovery.Config{Mailer: m, PublicURL: "https://auth.example.com"})
//	...
//	h, err := authhttp.New(a, authhttp.Config{})
//	...
//	routes := append(h.Routes(), recoveryhttp.New(h, rec).Routes()...)
//	doc, err := authhttp.OpenAPIRoute(routes) // GET /openapi.json, of both
//	...
//	rt := authhttp.NewRouter()
//	rt.Mount(append(routes, doc))
//
// and calls rec.Shutdown after the HTTP server's own Shutdown, so that the
// mails queued are sent. A service that does not mail its users makes no
// Recovery (recovery.New refuses a Config without a Mailer) and mounts none
// of these routes: their paths are then the router's 404.
package recoveryhttp
