package auth_test

import (
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return auth.NewMemoryStore() })
}
