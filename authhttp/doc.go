// Package authhttp is the HTTP side of package auth: the ready-made
// endpoints of the core of the HTTP contract (Handlers: the OAuth 2.0
// token endpoint, signup, logout, the current user, password change,
// account deletion, the browser session with its HttpOnly cookie, the list
// of one's devices, a health check), the JWKS endpoint, the OpenAPI document, a Router that
// answers unknown paths and methods with JSON, CORS, and the one table
// from the library's errors to HTTP answers (ErrorStatus, WriteErrorFor).
//
// A feature package's endpoints (recovery/recoveryhttp, admin/adminhttp)
// are built on the same Handlers with the helpers of this package
// (Handlers.Public, Authenticated, WithRole; ReadJSON; BadRequest; Problem
// for the feature's own errors; WriteJSON, WriteAccepted), so that they
// read bodies and answer errors exactly as the core's endpoints do, and
// carry their OpenAPI descriptions in Route.Operation. Swagger UI, which a
// service imports only if it serves /docs, is package authhttp/docs.
package authhttp
