// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options of package passkey (or of any relying party) with
// credentials in the JSON form that browsers' PublicKeyCredential.toJSON
// writes, as a platform authenticator with discoverable credentials
// (ES256 keys, "none" attestation) does, and it can be told to misbehave
// (no user verification, a bad signature, a counter gone back) so that a
// test sees the relying party refuse.
//
// It is what a service's own tests of its passkey endpoints use where a
// browser is too heavy; the example server's browser tests use Chromium's
// virtual authenticator instead.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator is a software authenticator bound to one origin. Its
// exported fields shape the next responses; set them between calls. It is
// safe for concurrent use.
type Authenticator struct {
	// Origin is the page's origin the browser would report, such as
	// "http://localhost:8080".
	Origin string
	// NoUserVerification and NoUserPresence clear the UV and UP flags.
	NoUserVerification bool
	NoUserPresence     bool
	// BackupEligible and BackupState set the BE and BS flags.
	BackupEligible bool
	BackupState    bool
	// BadSignature corrupts the signature of assertions.
	BadSignature bool
	// Counting makes the sign counter advance by one at every use; by
	// default it stays 0, as synced passkeys' does.
	Counting bool
	// NextID, if set, is the id of the next credential Create makes
	// (random by default): a test registers one id twice with it.
	NextID []byte

	mu    sync.Mutex
	creds []*credential
}

// credential is a resident credential.
type credential struct {
	id     []byte
	rpID   string
	handle []byte
	key    *ecdsa.PrivateKey
	count  uint32
}

// New returns an authenticator for pages of origin.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

var b64 = base64.RawURLEncoding

// creationOptions is what Create reads of the options.
type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	ExcludeCredentials []struct {
		ID string `json:"id"`
	} `json:"excludeCredentials"`
}

// ErrExcluded is Create's answer to options that exclude a credential
// the authenticator has (the browser's InvalidStateError).
var ErrExcluded = errors.New("passkeytest: the authenticator has an excluded credential")

// ErrNoCredential is Get's answer when it has no credential for the
// relying party (the browser's NotAllowedError).
var ErrNoCredential = errors.New("passkeytest: no credential for the relying party")

// Create answers creation options (the "publicKey" member, as JSON) with
// a new resident credential, and returns it as toJSON writes it.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil || o.RP.ID == "" {
		return nil, errors.New("passkeytest: creation options without rp.id or a base64url user.id")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range o.ExcludeCredentials {
		for _, c := range a.creds {
			if b64.EncodeToString(c.id) == x.ID {
				return nil, ErrExcluded
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &credential{id: random(32), rpID: o.RP.ID, handle: handle, key: key}
	if a.NextID != nil {
		c.id, a.NextID = a.NextID, nil
	}
	if a.Counting {
		c.count = 1
	}
	// A new credential replaces the relying party's for the same user, as
	// platform authenticators do.
	for i, old := range a.creds {
		if old.rpID == c.rpID && string(old.handle) == string(handle) {
			a.creds = append(a.creds[:i], a.creds[i+1:]...)
			break
		}
	}
	a.creds = append(a.creds, c)
	pub, err := key.PublicKey.Bytes() // 0x04, X, Y
	if err != nil {
		return nil, err
	}
	x, y := pub[1:33], pub[33:65]
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, XCoord: x, YCoord: y,
	})
	if err != nil {
		return nil, err
	}
	auth := a.authData(c, 0x40)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(c.id)))
	auth = append(auth, c.id...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal", "hybrid"},
		},
	})
}

// requestOptions is what Get reads of the options.
type requestOptions struct {
	Challenge string `json:"challenge"`
	RPID      string `json:"rpId"`
}

// Get answers request options (the "publicKey" member, as JSON) with an
// assertion of the relying party's newest credential, as toJSON writes
// it.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var c *credential
	for _, x := range a.creds {
		if x.rpID == o.RPID {
			c = x
		}
	}
	if c == nil {
		return nil, ErrNoCredential
	}
	if a.Counting {
		c.count++
	}
	auth := a.authData(c, 0)
	cdj := a.clientData("webauthn.get", o.Challenge)
	h := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	if a.BadSignature {
		sig[len(sig)-1] ^= 0x01
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cdj),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.handle),
		},
	})
}

// SetSignCount sets the sign counter of the credential id (base64url)
// for the next use: Get answers it plus one when Counting, else as set.
func (a *Authenticator) SetSignCount(id string, n uint32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if b64.EncodeToString(c.id) == id {
			c.count = n
			return nil
		}
	}
	return ErrNoCredential
}

// authData is the authenticator data of c's next response, with the
// flags of a and extra.
func (a *Authenticator) authData(c *credential, extra byte) []byte {
	rp := sha256.Sum256([]byte(c.rpID))
	flags := extra
	if !a.NoUserPresence {
		flags |= 0x01
	}
	if !a.NoUserVerification {
		flags |= 0x04
	}
	if a.BackupEligible {
		flags |= 0x08
	}
	if a.BackupState {
		flags |= 0x10
	}
	b := append(rp[:], flags)
	return binary.BigEndian.AppendUint32(b, c.count)
}

// clientData is the client data JSON of a ceremony of type typ.
func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
