package authhttp

import (
	"net/http"
	"strconv"
	"time"
)

// ServerTiming returns middleware that adds a Server-Timing header (W3C
// Server Timing) to every answer of next: "app;dur=<milliseconds>", the time
// from the request reaching the middleware to the handler starting its
// answer (its first WriteHeader, Write or Flush), or to its return if it
// wrote nothing. The header must precede the status line, so the
// ResponseWriter is wrapped; the wrapper keeps http.Flusher and has an
// Unwrap method, so http.ResponseController reaches the underlying writer's
// other capabilities. Informational (1xx) answers are passed through
// unstamped.
//
// The duration tells a client how long the request took on the server,
// which for a login is roughly the cost of the password hash; it does not
// tell an unknown user from a known one, since the library verifies a dummy
// hash for unknown users.
func ServerTiming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &timingWriter{ResponseWriter: w, start: time.Now()}
		next.ServeHTTP(tw, r)
		tw.stamp()
	})
}

// timingWriter sets the Server-Timing header just before the answer starts.
type timingWriter struct {
	http.ResponseWriter
	start   time.Time
	stamped bool
}

func (t *timingWriter) stamp() {
	if t.stamped {
		return
	}
	t.stamped = true
	ms := float64(time.Since(t.start)) / float64(time.Millisecond)
	t.Header().Set("Server-Timing", "app;dur="+strconv.FormatFloat(ms, 'f', 3, 64))
}

// WriteHeader implements http.ResponseWriter.
func (t *timingWriter) WriteHeader(code int) {
	if code >= 200 || code < 100 {
		t.stamp()
	}
	t.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (t *timingWriter) Write(b []byte) (int, error) {
	t.stamp()
	return t.ResponseWriter.Write(b)
}

// Flush implements http.Flusher. It does nothing if the underlying writer
// cannot flush.
func (t *timingWriter) Flush() {
	t.stamp()
	_ = http.NewResponseController(t.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (t *timingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
