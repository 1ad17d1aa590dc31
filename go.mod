module github.com/goauthkit/auth

go 1.25.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/rs/cors v1.11.1
	golang.org/x/crypto v0.55.0
	golang.org/x/net v0.58.0
	golang.org/x/text v0.41.0
)

require golang.org/x/sys v0.47.0 // indirect
