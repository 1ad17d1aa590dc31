package authhttp

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/goauthkit/auth"
)

// Client returns the auth.Client that r comes from, which every call of
// the Authenticator these handlers make carries: ClientAddr's address and
// r's User-Agent.
func (h *Handlers) Client(r *http.Request) auth.Client {
	return auth.Client{Addr: h.ClientAddr(r), UserAgent: r.UserAgent()}
}

// ClientAddr returns the address the login limiter counts r's attempts by:
// the IP of the socket's peer or, when that peer is one of the
// TrustedProxies, the right-most X-Forwarded-For hop that is not a trusted
// proxy (a hop that does not parse ends the walk at the last good one). An
// IPv6 address is reduced to its /64 prefix, which one host usually holds
// whole; an IPv4-mapped IPv6 address counts as the IPv4 address. A peer
// that is not an IP address (a Unix socket) is returned as it is.
func (h *Handlers) ClientAddr(r *http.Request) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	addr := peer
	if h.trusted(peer) {
		addr = forwardedClient(r.Header.Values("X-Forwarded-For"), peer, h.trusted)
	}
	return limiterKey(addr)
}

func (h *Handlers) trusted(a netip.Addr) bool {
	for _, p := range h.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedClient walks the X-Forwarded-For hops (every header line, in
// order) from the right, starting at the trusted peer, and returns the first
// hop that is not trusted; or the last hop that parsed, when one does not
// parse or every hop is trusted.
func forwardedClient(lines []string, peer netip.Addr, trusted func(netip.Addr) bool) netip.Addr {
	addr := peer
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for rest != "" {
			hop := rest
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				hop, rest = rest[j+1:], rest[:j]
			} else {
				rest = ""
			}
			a, ok := parseHop(hop)
			if !ok {
				return addr
			}
			addr = a
			if !trusted(a) {
				return addr
			}
		}
	}
	return addr
}

// parseHop parses an IP address, with or without a port, as RemoteAddr and
// X-Forwarded-For hops hold it. The zone is dropped and an IPv4-mapped
// address becomes IPv4.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

// limiterKey is the string the limiter counts an address by.
func limiterKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
