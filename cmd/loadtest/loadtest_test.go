package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadtest builds the example server once, checks that the bare route
// is off by default, and runs the whole program with tiny durations.
func TestLoadtest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example server: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := buildServer(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("bare route off by default", func(t *testing.T) {
		srv, err := startServer(ctx, serverOptions{bin: bin, dataDir: filepath.Join(t.TempDir(), "data"), db: "memory"})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.stop()
		if err := checkStatus(getBare(ctx, srv.base), 404); err != nil {
			t.Error(err)
		}
		if code, err := srv.stop(); code != 0 || err != nil {
			t.Errorf("server exit %d: %v", code, err)
		}
	})

	t.Run("smoke", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		args := []string{
			"-server-bin", bin,
			"-duration", "300ms", "-warmup", "100ms",
			"-conns", "4", "-login-conns", "2", "-probe-conns", "2",
			"-rounds", "2", "-floods", "8,4", "-flood-runs", "1",
			"-hash-iters", "3", "-hash-parallel", "100ms",
		}
		start := time.Now()
		code := run(ctx, "loadtest", args, &stdout, &stderr)
		out := stdout.String()
		t.Logf("ran in %s", time.Since(start).Round(time.Millisecond))
		if code != 0 {
			t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
		}
		for _, want := range []string{
			"- Command: `loadtest -server-bin",
			"- Machine: ",
			"| GET /users/me | memory | 4 |",
			"| GET /users/me | sqlite | 4 |",
			"| GET /loadtest/bare | memory | 4 |",
			"| **/users/me ÷ bare**, median of 2 rounds (rounds ",
			"| POST /token | memory | 2 |",
			"| **logins ÷ hashing bound",
			"| none (same server, before the flood) |",
			"| **8 logins**, run 1 (2 users) |",
			"| **4 logins**, run 1 (1 user) |",
			"Peak RSS with 8 attackers − with 4 (highest of 1 runs each)",
			"| flood | samples | goroutines | heap live |",
			"| 8 logins, run 1 | ",
			"- Of which live, by the Go runtime's figures",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the report lacks %q", want)
			}
		}
		if strings.Contains(out, "Errors and problems") {
			t.Error("the run reported errors")
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
		}
	})
}

func TestListeningAddr(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`time=2026-01-01T00:00:00Z level=INFO msg="listening on http://127.0.0.1:40123" addr=127.0.0.1:40123` + "\n", "127.0.0.1:40123"},
		{"listening on http://[::1]:8080\n", "[::1]:8080"},
		{`level=INFO msg=starting`, ""},
	} {
		got, ok := listeningAddr(c.line)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("listeningAddr(%q) = %q, %v; want %q", c.line, got, ok, c.want)
		}
	}
}

func TestRoundRatios(t *testing.T) {
	for _, c := range []struct {
		a, b       []float64
		want       []float64
		wantMedian float64
	}{
		{nil, nil, []float64{}, 0},
		{[]float64{8}, []float64{10}, []float64{0.8}, 0.8},
		{[]float64{9, 8, 4}, []float64{10, 10, 10}, []float64{0.4, 0.8, 0.9}, 0.8},
		{[]float64{9, 8, 4, 10}, []float64{10, 10, 10, 10}, []float64{0.4, 0.8, 0.9, 1}, 0.85},
		{[]float64{9, 8}, []float64{10, 0, 10}, []float64{0.9}, 0.9}, // a round without answers counts not
	} {
		got := roundRatios(&result{rounds: c.a}, &result{rounds: c.b})
		if len(got) != len(c.want) {
			t.Errorf("roundRatios(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
			continue
		}
		for i := range got {
			if d := got[i] - c.want[i]; d > 1e-9 || d < -1e-9 {
				t.Errorf("roundRatios(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
				break
			}
		}
		if m := medianOf(got); m-c.wantMedian > 1e-9 || c.wantMedian-m > 1e-9 {
			t.Errorf("medianOf(%v) = %v, want %v", got, m, c.wantMedian)
		}
	}
}
