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
//
// # Mounting on another router
//
// A Route is a method, a path and an http.Handler, to mount in any router.
// Some paths hold a wildcard segment, {id} in DELETE /sessions/{id} and in
// adminhttp's /admin/users/{id}, whose handlers read it with
// Handlers.PathValue, which reads r.PathValue(name): Router, http.ServeMux
// (mux.Handle(rt.Method+" "+rt.Path, rt.Handler)) and chi (v5.0.12 and
// later) set it. For a router that keeps the values elsewhere in the
// request, set Config.PathValue (for gorilla/mux, a func returning
// mux.Vars(r)[name]). gin and echo keep them in their own context and
// write a wildcard ":id": mount each route at Route.ColonPath and copy the
// values onto the request:
//
//	// chi
//	r := chi.NewRouter()
//	for _, rt := range routes {
//		r.Method(rt.Method, rt.Path, rt.Handler)
//	}
//
//	// gin
//	g := gin.New()
//	for _, rt := range routes {
//		h := rt.Handler
//		g.Handle(rt.Method, rt.ColonPath(), func(c *gin.Context) {
//			for _, p := range c.Params {
//				c.Request.SetPathValue(p.Key, p.Value)
//			}
//			h.ServeHTTP(c.Writer, c.Request)
//		})
//	}
//
//	// echo
//	e := echo.New()
//	for _, rt := range routes {
//		h := rt.Handler
//		e.Add(rt.Method, rt.ColonPath(), func(c echo.Context) error {
//			for i, name := range c.ParamNames() {
//				c.Request().SetPathValue(name, c.ParamValues()[i])
//			}
//			h.ServeHTTP(c.Response(), c.Request())
//			return nil
//		})
//	}
//
// A route mounted without its path value (gin.WrapH or echo.WrapHandler
// alone) answers every id as an unknown one, 404 not_found. Other routers
// answer unknown paths and methods, and redirect, as they do; Router
// answers them with JSON.
package authhttp
