package auth

// Client is what the library knows of the client a call is made for, as
// the service's HTTP layer found it (authhttp's Handlers.Client): the one
// value every flow's request carries, for the per-address limits, the
// sessions a login opens and the events a call emits.
type Client struct {
	// Addr is the client's network address (the IP of the socket, or of
	// the first untrusted proxy hop). Empty turns the per-address limits
	// off for the call, and its events carry no address.
	Addr string
	// UserAgent is the client's User-Agent header, kept (cleaned and cut
	// to 256 bytes) in the session a login opens, so that a user
	// can tell their devices apart.
	UserAgent string
}
