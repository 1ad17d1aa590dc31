package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"sync"
)

// macPool hands out HMAC states already keyed with one key's secret, so that
// signing and verifying with an HMAC key skip hmac.New's key schedule (two
// hash blocks and three allocations per call, which golang-jwt pays on every
// token). A state is used by one goroutine at a time and is reset before each
// use, so nothing of one token's input can reach another's MAC.
type macPool struct {
	pool sync.Pool
}

// macState is one pooled HMAC state with scratch space for the input and
// the sum, so that a MAC over a string costs no allocation.
type macState struct {
	h   hash.Hash
	in  []byte
	sum [sha512.Size]byte
}

// maxPooledInput bounds the scratch buffer a pooled state keeps; a longer
// input is still MACed, through a buffer that is not kept.
const maxPooledInput = 4 << 10

func newMACPool(alg string, secret []byte) *macPool {
	var fn func() hash.Hash
	switch alg {
	case "HS256":
		fn = sha256.New
	case "HS384":
		fn = sha512.New384
	case "HS512":
		fn = sha512.New
	default:
		return nil
	}
	// secret is the Key's own copy, never modified.
	p := &macPool{}
	p.pool.New = func() any { return &macState{h: hmac.New(fn, secret)} }
	return p
}

// sum returns the MAC of input, appended to dst.
func (p *macPool) sum(dst []byte, input string) []byte {
	s := p.pool.Get().(*macState)
	s.h.Reset()
	s.in = append(s.in[:0], input...)
	s.h.Write(s.in)
	dst = append(dst, s.h.Sum(s.sum[:0])...)
	if cap(s.in) > maxPooledInput {
		s.in = nil
	}
	p.pool.Put(s)
	return dst
}

var errMACMismatch = errors.New("auth: MAC mismatch")

// verify checks mac against the MAC of input in constant time.
func (p *macPool) verify(input string, mac []byte) error {
	var buf [sha512.Size]byte
	if !hmac.Equal(mac, p.sum(buf[:0], input)) {
		return errMACMismatch
	}
	return nil
}
