package mfa

import (
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/memory"
	"github.com/goauthkit/auth/store/mfastore"
)

// BenchmarkTOTPCheck is the check of one code: the sealed secret opened
// (AES-256-GCM) and the codes of the three steps of the window computed
// (pquerna/otp's HOTP) and compared, for a wrong code (every step
// computed, as for any code).
func BenchmarkTOTPCheck(b *testing.B) {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("bench-secret-0123456789abcdef-0123456789")})
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(a, Config{Key: []byte("bench-key-0123456789abcdef-0123456789")})
	if err != nil {
		b.Fatal(err)
	}
	t := &mfastore.TOTP{UserID: "u1", ID: "e1", Confirmed: true}
	if t.Sealed, err = m.seal(t.UserID, t.ID, []byte("12345678901234567890")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.match(t, "000000"); err != ErrInvalidCode {
			b.Fatal(err)
		}
	}
}
