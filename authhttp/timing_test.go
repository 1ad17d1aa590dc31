package authhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

var serverTimingRE = regexp.MustCompile(`^app;dur=[0-9]+\.[0-9]{3}$`)

func TestServerTiming(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"write": func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") },
		"header": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		},
		"nothing": func(w http.ResponseWriter, r *http.Request) {},
		"flush": func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "late")
			w.Header().Set("Server-Timing", "too late") // ignored: already sent
		},
		"error": func(w http.ResponseWriter, r *http.Request) { WriteErrorFor(w, auth.ErrNotFound) },
		"controller": func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("ResponseController.Flush through the wrapper: %v", err)
			}
		},
	} {
		w := httptest.NewRecorder()
		ServerTiming(h).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if got := w.Result().Header.Get("Server-Timing"); !serverTimingRE.MatchString(got) {
			t.Errorf("%s: Server-Timing %q", name, got)
		}
	}
}

func TestServerTimingDuration(t *testing.T) {
	h := ServerTiming(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(200)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	var ms float64
	if _, err := fmtSscanf(w.Header().Get("Server-Timing"), &ms); err != nil || ms < 20 {
		t.Fatalf("Server-Timing %q: %v", w.Header().Get("Server-Timing"), err)
	}
}

func TestServerTimingUnwrap(t *testing.T) {
	inner := httptest.NewRecorder()
	var got http.ResponseWriter
	ServerTiming(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = w.(interface{ Unwrap() http.ResponseWriter }).Unwrap()
	})).ServeHTTP(inner, httptest.NewRequest("GET", "/", nil))
	if got != inner {
		t.Fatal("Unwrap does not return the underlying writer")
	}
}

// TestServerTimingOverTheWire checks the header on a real connection,
// streamed and informational answers included.
func TestServerTimingOverTheWire(t *testing.T) {
	srv := httptest.NewServer(ServerTiming(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			w.Header().Set("Link", "</x>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
		}
		_, _ = io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "b")
	})))
	defer srv.Close()
	for _, p := range []string{"/", "/early"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "ab" || !serverTimingRE.MatchString(res.Header.Get("Server-Timing")) {
			t.Errorf("%s: %q, Server-Timing %q", p, body, res.Header.Get("Server-Timing"))
		}
	}
}

func fmtSscanf(header string, ms *float64) (int, error) {
	var err error
	*ms, err = strconv.ParseFloat(strings.TrimPrefix(header, "app;dur="), 64)
	return 1, err
}

// rawGet sends a raw request line, which no client library would clean,
// and returns the status.
func rawGet(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
