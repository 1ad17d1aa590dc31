module github.com/goauthkit/auth/internal/testreport

go 1.25.0
