package mfa

// CodeAt is codeAt, for the tests of package mfa_test, which compute the
// codes an authenticator app would show.
func CodeAt(secret []byte, step int64) (string, error) { return codeAt(secret, step) }
