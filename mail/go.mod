module github.com/goauthkit/auth/mail

go 1.25.0

require (
	github.com/goauthkit/auth v0.0.0-00010101000000-000000000000
	github.com/goauthkit/auth/internal/smtptest v0.0.0-00010101000000-000000000000
	github.com/wneessen/go-mail v0.8.1
)

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/emersion/go-smtp v0.25.1 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace github.com/goauthkit/auth => ..

replace github.com/goauthkit/auth/internal/smtptest => ../internal/smtptest
