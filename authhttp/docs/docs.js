"use strict";
// Swagger UI over the server's own OpenAPI document, beside this page
// (/docs reads /openapi.json). Its Authorize dialog logs in with the
// OAuth 2.0 password flow at the document's tokenUrl (/token), and "Try it
// out" then sends the access token as a Bearer token. Nothing is kept in
// storage: a reload forgets the token.
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: false,
  persistAuthorization: false,
  tryItOutEnabled: true,
  validatorUrl: null
});
