// Command server is the goauthkit example authentication server: the
// library's HTTP handlers over SQLite (default), PostgreSQL or memory, as
// the HTTP contract in README.md describes.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-data ./data] [-db sqlite|sqlite-shared|memory|postgres://...]
//
// Run it with -h for every setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// go-redis writes its connection pool's dial retries to the standard
	// logger. The server says itself when Redis does not answer: at start
	// in one line (and stops), later with each request that fails. So
	// those are dropped.
	redis.SetLogger(quietRedis{})
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// quietRedis is a go-redis logger that drops what it is given.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// Server timeouts: long enough for a login queued behind others for a
// hashing slot (the handlers give up after 15 s), short enough that slow
// clients cannot hold connections open.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 30 * time.Second
)

// run runs the server until ctx ends and returns the exit code: 0 after a
// clean shutdown; 2 when it cannot start, after one line saying why (naming
// the setting at fault, if one is); 1 for a failure while serving.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	s, err := loadSettings(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, usageText)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	logger.Info("starting", "data", s.dataDir, "alg", s.signingAlg,
		"access_ttl", s.accessTTL.String(), "refresh_ttl", s.refreshTTL.String(),
		"refresh_grace", s.refreshGrace.String(), "trusted_proxies", len(s.proxies))

	// Listen first: a port in use is said at once, before the store or a
	// key is touched. Connections wait in the backlog until Serve.
	ln, err := listen(s)
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 2
	}
	if s.publicURL == "" {
		s.publicURL = "http://" + ln.Addr().String()
	}
	a, err := newApp(ctx, s, logger, nil)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 2
	}
	closeStore := func() int {
		if err := a.close(); err != nil {
			logger.Error("closing the store", "error", err)
			return 1
		}
		return 0
	}

	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening on http://"+ln.Addr().String(), "addr", ln.Addr().String(), "public_url", s.publicURL)

	var metricsSrv *http.Server
	if a.metrics != nil {
		mln, err := net.Listen("tcp", s.metricsAddr)
		if err != nil {
			ln.Close()
			closeStore()
			fmt.Fprintf(stderr, "server: bad setting AUTH_METRICS_ADDR: cannot listen on %s: %v\n", s.metricsAddr, err)
			return 2
		}
		metricsSrv = &http.Server{Handler: a.metrics, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
		logger.Info("metrics on http://"+mln.Addr().String()+"/metrics", "addr", mln.Addr().String())
		go func() { _ = metricsSrv.Serve(mln) }()
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		logger.Error("serving failed", "error", err)
		closeStore()
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down: no new connections, finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	code := 0
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("requests still running at the shutdown deadline; closing them", "error", err)
		_ = srv.Close()
		code = 1
	}
	if closeStore() != 0 {
		code = 1
	}
	logger.Info("stopped", "exit_code", code)
	return code
}

// listen opens the listening socket of s.addr. An address in use is said
// as such (another server, most likely); other failures blame the setting.
func listen(s settings) (net.Listener, error) {
	ln, err := net.Listen("tcp", s.addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, startupError("cannot listen on %s: the address is in use, by another server perhaps; stop it, or choose another address with -addr or AUTH_ADDR", s.addr)
	case err != nil:
		return nil, badSetting(s.addrSetting, "cannot listen: %v", err)
	}
	return ln, nil
}

// logRequests logs one line per request: method, path, status and
// duration. Never the query string (it could hold a token someone put
// there), nor a header or a body.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		path := r.URL.Path
		if len(path) > 200 {
			path = path[:200] + "..."
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", path),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)))
	})
}

// statusWriter records the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
