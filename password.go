package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hasher hashes new passwords and verifies passwords against stored hashes.
// Implementations must be safe for concurrent use.
//
// The two built-in hashers (Argon2id and Bcrypt) both verify either format,
// whichever one is configured, and report through NeedsRehash when a stored
// hash should be replaced by one of their own.
type Hasher interface {
	// Hash returns an encoded hash of password with a fresh random salt.
	Hash(password string) (string, error)
	// Verify returns nil if password matches encoded, ErrPasswordMismatch if
	// it does not, and ErrUnsupportedHash if encoded cannot be checked.
	Verify(password, encoded string) error
	// NeedsRehash reports whether encoded uses another algorithm or weaker
	// parameters than the hasher's own.
	NeedsRehash(encoded string) bool
}

// HashLimits bounds the cost that a stored hash may demand of Verify, so
// that a tampered or hostile hash string in the store cannot make one login
// take gigabytes of memory or minutes of CPU. Zero fields take the defaults.
type HashLimits struct {
	// Argon2MaxMemoryKiB bounds argon2's m. Default 262144 (256 MiB).
	Argon2MaxMemoryKiB uint32
	// Argon2MaxTime bounds argon2's t. Default 16.
	Argon2MaxTime uint32
	// Argon2MaxThreads bounds argon2's p. Default 16.
	Argon2MaxThreads uint8
	// BcryptMaxCost bounds bcrypt's cost. Default 16.
	BcryptMaxCost int
}

func (l HashLimits) withDefaults() HashLimits {
	if l.Argon2MaxMemoryKiB == 0 {
		l.Argon2MaxMemoryKiB = 256 << 10
	}
	if l.Argon2MaxTime == 0 {
		l.Argon2MaxTime = 16
	}
	if l.Argon2MaxThreads == 0 {
		l.Argon2MaxThreads = 16
	}
	if l.BcryptMaxCost == 0 {
		l.BcryptMaxCost = 16
	}
	return l
}

// Argon2id hashes with argon2id (RFC 9106), the default. Zero fields take
// the defaults, which are OWASP's minimum: m=19 MiB, t=2, p=1, a 16-byte
// salt and a 32-byte key. Hashes are encoded in the PHC form that
// argon2-cffi, pwdlib and passlib also write:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
type Argon2id struct {
	MemoryKiB  uint32
	Time       uint32
	Threads    uint8
	SaltLength uint32
	KeyLength  uint32
	// Limits bounds what a stored hash may demand of Verify.
	Limits HashLimits
}

func (a Argon2id) params() argon2Params {
	p := argon2Params{memory: a.MemoryKiB, time: a.Time, threads: a.Threads, saltLen: a.SaltLength, keyLen: a.KeyLength}
	if p.memory == 0 {
		p.memory = 19 * 1024
	}
	if p.time == 0 {
		p.time = 2
	}
	if p.threads == 0 {
		p.threads = 1
	}
	if p.saltLen == 0 {
		p.saltLen = 16
	}
	if p.keyLen == 0 {
		p.keyLen = 32
	}
	return p
}

func (a Argon2id) validate() error {
	p := a.params()
	l := a.Limits.withDefaults()
	switch {
	case p.memory < 19*1024:
		return errors.New("Argon2id.MemoryKiB below OWASP's minimum of 19456")
	case p.time < 2 && p.memory < 46*1024:
		return errors.New("Argon2id.Time below OWASP's minimum of 2 for this memory")
	case p.saltLen < 16:
		return errors.New("Argon2id.SaltLength below 16 bytes")
	case p.keyLen < 16:
		return errors.New("Argon2id.KeyLength below 16 bytes")
	case p.saltLen > argon2MaxSalt || p.keyLen > argon2MaxKey:
		// Verify refuses longer ones: every login would fail.
		return errors.New("Argon2id.SaltLength above 64 bytes or KeyLength above 128 bytes")
	case p.memory > l.Argon2MaxMemoryKiB || p.time > l.Argon2MaxTime || p.threads > l.Argon2MaxThreads:
		return errors.New("Argon2id parameters above its own Limits: its hashes could not be verified")
	}
	return nil
}

// Hash implements Hasher.
func (a Argon2id) Hash(password string) (string, error) {
	p := a.params()
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, p.keyLen)
	// The PHC string format, as the reference implementation, passlib and
	// pwdlib write it; parseArgon2id reads it back.
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify implements Hasher. It also verifies bcrypt hashes.
func (a Argon2id) Verify(password, encoded string) error {
	return verifyAny(password, encoded, a.Limits.withDefaults())
}

// NeedsRehash implements Hasher: true for a non-argon2id hash, or one with
// less memory, fewer passes, a shorter salt or a shorter key than a's.
func (a Argon2id) NeedsRehash(encoded string) bool {
	got, err := parseArgon2id(encoded)
	if err != nil {
		return true
	}
	want := a.params()
	return got.memory < want.memory || got.time < want.time ||
		uint32(len(got.salt)) < want.saltLen || uint32(len(got.key)) < want.keyLen
}

// Bcrypt hashes with bcrypt. Cost 0 means 12. bcrypt reads at most 72
// bytes of a password; this hasher never truncates: Hash refuses longer
// passwords with ErrPasswordTooLong, and Verify reports a mismatch for them,
// so two passwords that share their first 72 bytes never both verify.
// Prefer Argon2id, which has no such limit.
type Bcrypt struct {
	Cost int
	// Limits bounds what a stored hash may demand of Verify.
	Limits HashLimits
}

// bcryptMaxPassword is bcrypt's input limit in bytes.
const bcryptMaxPassword = 72

func (b Bcrypt) cost() int {
	if b.Cost == 0 {
		return 12
	}
	return b.Cost
}

func (b Bcrypt) validate() error {
	c := b.cost()
	if c < 10 {
		return errors.New("Bcrypt.Cost below 10")
	}
	if c > b.Limits.withDefaults().BcryptMaxCost || c > bcrypt.MaxCost {
		return errors.New("Bcrypt.Cost above its own Limits: its hashes could not be verified")
	}
	return nil
}

// Hash implements Hasher.
func (b Bcrypt) Hash(password string) (string, error) {
	if len(password) > bcryptMaxPassword {
		return "", &PasswordError{ErrPasswordTooLong, fmt.Sprintf("the password must be at most %d bytes long (bcrypt's limit)", bcryptMaxPassword)}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), b.cost())
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// Verify implements Hasher. It also verifies argon2id hashes.
func (b Bcrypt) Verify(password, encoded string) error {
	return verifyAny(password, encoded, b.Limits.withDefaults())
}

// NeedsRehash implements Hasher: true for a bcrypt hash of a lower cost,
// or a hash it cannot read; never for an argon2id hash, which stays as it
// is. So with Bcrypt a stored hash never changes scheme: a service that
// shares its users table with a passlib one (which reads bcrypt, and
// argon2id only with argon2-cffi) hashes new passwords with bcrypt and
// leaves every hash passlib could read readable.
func (b Bcrypt) NeedsRehash(encoded string) bool {
	if strings.HasPrefix(encoded, "$argon2id$") {
		_, err := parseArgon2id(encoded)
		return err != nil
	}
	cost, err := parseBcrypt(encoded)
	return err != nil || cost < b.cost()
}

// verifyAny recognises the encoding of a stored hash and verifies against it,
// within limits l. It never truncates the password.
func verifyAny(password, encoded string, l HashLimits) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, err := parseArgon2id(encoded)
		if err != nil {
			return err
		}
		if p.memory > l.Argon2MaxMemoryKiB || p.time > l.Argon2MaxTime || p.threads > l.Argon2MaxThreads {
			return fmt.Errorf("%w: argon2id parameters above the configured limits", ErrUnsupportedHash)
		}
		key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		if subtle.ConstantTimeCompare(key, p.key) != 1 {
			return ErrPasswordMismatch
		}
		return nil
	case isBcrypt(encoded):
		cost, err := parseBcrypt(encoded)
		if err != nil {
			return err
		}
		if cost > l.BcryptMaxCost {
			return fmt.Errorf("%w: bcrypt cost above the configured limit", ErrUnsupportedHash)
		}
		if len(password) > bcryptMaxPassword {
			// bcrypt would silently compare only the first 72 bytes.
			return ErrPasswordMismatch
		}
		err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		switch {
		case err == nil:
			return nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return ErrPasswordMismatch
		default:
			return fmt.Errorf("%w: %v", ErrUnsupportedHash, err)
		}
	default:
		return ErrUnsupportedHash
	}
}

type argon2Params struct {
	memory, time, saltLen, keyLen uint32
	threads                       uint8
	salt, key                     []byte
}

// parseArgon2id parses $argon2id$v=19$m=M,t=T,p=P$salt$key strictly:
// decimal numbers without sign or leading zeros, canonical unpadded base64,
// salt of 8 to 64 bytes, key of 16 to 128 bytes.
func parseArgon2id(s string) (argon2Params, error) {
	var p argon2Params
	bad := func(what string) (argon2Params, error) {
		return argon2Params{}, fmt.Errorf("%w: argon2id %s", ErrUnsupportedHash, what)
	}
	if len(s) > 512 {
		return bad("hash too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("format")
	}
	if parts[2] != "v=19" {
		return bad("version")
	}
	ps := strings.Split(parts[3], ",")
	if len(ps) != 3 {
		return bad("parameters")
	}
	m, ok1 := decimalParam(ps[0], "m=")
	t, ok2 := decimalParam(ps[1], "t=")
	th, ok3 := decimalParam(ps[2], "p=")
	if !ok1 || !ok2 || !ok3 || t < 1 || th < 1 || th > 255 || m < 8*th {
		return bad("parameters")
	}
	p.memory, p.time, p.threads = m, t, uint8(th)
	var ok bool
	if p.salt, ok = decodeCanonical(parts[4]); !ok || len(p.salt) < 8 || len(p.salt) > argon2MaxSalt {
		return bad("salt")
	}
	if p.key, ok = decodeCanonical(parts[5]); !ok || len(p.key) < 16 || len(p.key) > argon2MaxKey {
		return bad("key")
	}
	p.saltLen, p.keyLen = uint32(len(p.salt)), uint32(len(p.key))
	return p, nil
}

// Longest salt and key that parseArgon2id accepts, in bytes.
const (
	argon2MaxSalt = 64
	argon2MaxKey  = 128
)

// decodeCanonical decodes unpadded standard base64 that is in its one
// canonical form. Strict mode alone still ignores CR and LF anywhere in
// the input, so the result is also checked to re-encode to s.
func decodeCanonical(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// decimalParam parses "<prefix><decimal>" into a uint32, refusing signs,
// leading zeros and overflow.
func decimalParam(s, prefix string) (uint32, bool) {
	d, ok := strings.CutPrefix(s, prefix)
	if !ok || d == "" || len(d) > 10 || (d[0] == '0' && len(d) > 1) {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(d, 10, 32)
	return uint32(n), err == nil
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks $2[aby]$CC$<53 chars> and returns the cost.
func parseBcrypt(s string) (int, error) {
	if len(s) != 60 || !isBcrypt(s) || s[6] != '$' ||
		s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return 0, fmt.Errorf("%w: bcrypt format", ErrUnsupportedHash)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return 0, fmt.Errorf("%w: bcrypt format", ErrUnsupportedHash)
		}
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return 0, fmt.Errorf("%w: bcrypt cost", ErrUnsupportedHash)
	}
	return cost, nil
}

// PasswordPolicy holds the rules a new password must meet (at signup and
// on change; never at login, so imported hashes keep verifying). It follows
// NIST SP 800-63B: a length floor, a generous ceiling, a blocklist of
// common passwords, and no composition rules. Passwords are taken exactly as given: no trimming, no
// case change, no Unicode normalisation.
type PasswordPolicy struct {
	// MinLength is the minimum length in characters (code points).
	// Default 8.
	MinLength int
	// MaxBytes is the maximum length in bytes. Default 1024.
	MaxBytes int
	// Blocklist lists passwords to refuse besides the library's own list of
	// common ones (the most common passwords of eight characters or more
	// from public breach corpora), which always applies: the service's
	// name, say. Both are compared case-insensitively (equal once
	// strings.ToLower has been applied to each side), and only to the whole
	// password. New copies the list.
	Blocklist []string
}

func (p PasswordPolicy) withDefaults() PasswordPolicy {
	if p.MinLength == 0 {
		p.MinLength = 8
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = 1024
	}
	return p
}

// Check returns nil if password meets the policy, or a *PasswordError that
// says which rule it breaks (wrapping ErrInvalidPassword and the rule's
// sentinel, such as ErrPasswordTooShort).
func (p PasswordPolicy) Check(password string) error {
	p = p.withDefaults()
	switch {
	case len(password) > p.MaxBytes:
		return &PasswordError{ErrPasswordTooLong, fmt.Sprintf("the password must be at most %d bytes long", p.MaxBytes)}
	case !utf8.ValidString(password):
		return &PasswordError{ErrPasswordEncoding, "the password must be valid UTF-8"}
	case strings.IndexByte(password, 0) >= 0:
		return &PasswordError{ErrPasswordNUL, "the password must not contain a NUL character"}
	case utf8.RuneCountInString(password) < p.MinLength:
		return &PasswordError{ErrPasswordTooShort, fmt.Sprintf("the password must be at least %d characters long", p.MinLength)}
	case isCommon(password, p.Blocklist):
		return &PasswordError{ErrPasswordCommon, "the password is too common: choose one that is harder to guess"}
	}
	return nil
}

// checkBreached asks Config.Passwords.Breached, if set, about a new
// password that met the policy: a *PasswordError wrapping
// ErrPasswordBreached if it was breached, its error wrapped in
// ErrStoreUnavailable if it failed.
func (a *Authenticator) checkBreached(ctx context.Context, password string) error {
	if a.breached == nil {
		return nil
	}
	found, err := a.breached(ctx, password)
	switch {
	case err != nil:
		return storeDown("breached-password check", err)
	case found:
		return &PasswordError{ErrPasswordBreached, "the password has appeared in a data breach: choose another"}
	}
	return nil
}

// isCommon reports whether password is in the library's list of common
// passwords or in extra, compared case-insensitively.
func isCommon(password string, extra []string) bool {
	lower := strings.ToLower(password)
	if _, ok := commonPasswords[lower]; ok {
		return true
	}
	for _, w := range extra {
		if strings.ToLower(w) == lower {
			return true
		}
	}
	return false
}

// commonPasswords is the library's list of common passwords, lower case:
// the most common passwords of eight characters or more from public breach
// corpora. It is deliberately small (a service adds its own words with
// PasswordPolicy.Blocklist), and never modified after initialisation.
var commonPasswords = wordSet(
	"password", "12345678", "123456789", "1234567890", "12345678910", "qwerty123",
	"password1", "password12", "password123", "iloveyou", "iloveyou1", "11111111",
	"00000000", "88888888", "87654321", "987654321", "123123123", "12341234",
	"11223344", "123456789a", "a123456789", "qwertyuiop", "qwertyui", "qwerty12",
	"qwerty1234", "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "zaq12wsx", "q1w2e3r4",
	"q1w2e3r4t5", "1234qwer", "qwer1234", "abc12345", "abcd1234", "asdfghjkl",
	"asdf1234", "passw0rd", "p@ssw0rd", "p@ssword", "sunshine", "princess",
	"football", "baseball", "welcome1", "welcome123", "admin123", "administrator",
	"superman", "trustno1", "starwars", "whatever", "letmein1", "liverpool",
	"computer", "michelle", "jennifer", "1234567a", "changeme", "secret123",
	"iloveyou2", "aaaaaaaa", "qazwsxedc", "123qweasd", "zxcvbnm1", "zxcvbnm123",
)

// wordSet returns the set of words.
func wordSet(words ...string) map[string]struct{} {
	s := make(map[string]struct{}, len(words))
	for _, w := range words {
		s[w] = struct{}{}
	}
	return s
}
