package auth_test

import (
	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/memory"
)

// The tests of package auth get their store from store/memory through
// this package (see export_test.go).
func init() { auth.SetMemoryStore(memory.New) }
