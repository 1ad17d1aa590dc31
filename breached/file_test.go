package breached_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goauthkit/auth/breached"
)

// writeHashFile writes the SHA-1s of passwords with their counts as Have
// I Been Pwned's file ordered by hash, with lineEnd after each line (but
// the last, unless finalEnd), and returns its path.
func writeHashFile(t *testing.T, counts map[string]int64, lineEnd string, finalEnd bool) string {
	t.Helper()
	var lines []string
	for p, n := range counts {
		lines = append(lines, fmt.Sprintf("%s:%d", sha1Hex(p), n))
	}
	slices.Sort(lines)
	text := strings.Join(lines, lineEnd)
	if finalEnd {
		text += lineEnd
	}
	path := filepath.Join(t.TempDir(), "pwned-passwords-sha1-ordered-by-hash.txt")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFile checks the search of the offline file against a map, over
// files of many sizes and both line ends: every password in the file is
// found (with its count against MinCount), no other is; and the range API
// is never asked.
func TestFile(t *testing.T) {
	f := newFakeRange(t, nil, nil)
	rng := rand.New(rand.NewPCG(20, 1))
	for _, size := range []int{1, 2, 3, 7, 100, 2000} {
		for _, lineEnd := range []string{"\r\n", "\n"} {
			for _, finalEnd := range []bool{true, false} {
				name := fmt.Sprintf("%d lines, %q, final line end %v", size, lineEnd, finalEnd)
				t.Run(name, func(t *testing.T) {
					counts := map[string]int64{}
					var absent []string
					for i := range 2 * size {
						p := fmt.Sprintf("password %d of %d", i, size)
						if i%2 == 1 {
							absent = append(absent, p)
							continue
						}
						// Counts of 1 to 18 digits, so lines differ in length.
						counts[p] = rng.Int64N(int64(1) << rng.IntN(60))
					}
					path := writeHashFile(t, counts, lineEnd, finalEnd)
					ch, err := breached.New(breached.Config{File: path, BaseURL: f.URL, MinCount: 2})
					if err != nil {
						t.Fatal(err)
					}
					ctx := context.Background()
					for p, n := range counts {
						if got, err := ch.Breached(ctx, p); err != nil || got != (n >= 2) {
							t.Fatalf("Breached(%q, seen %d times) = %v, %v", p, n, got, err)
						}
					}
					for _, p := range absent {
						if got, err := ch.Breached(ctx, p); err != nil || got {
							t.Fatalf("Breached(%q, not in the file) = %v, %v", p, got, err)
						}
					}
				})
			}
		}
	}
	if r := f.requests(); len(r) != 0 {
		t.Fatalf("with a file, %d requests reached the range API", len(r))
	}
}

// TestFileBreached: the password of the issue, in a file as the
// downloader writes it.
func TestFileBreached(t *testing.T) {
	path := writeHashFile(t, map[string]int64{breachedPassword: 250, "another": 3, "and another": 1}, "\r\n", true)
	ch, err := breached.New(breached.Config{File: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		password string
		want     bool
	}{{breachedPassword, true}, {cleanPassword, false}, {"Password123456", false}} {
		if got, err := ch.Breached(context.Background(), c.password); err != nil || got != c.want {
			t.Fatalf("Breached(%q) = %v, %v; want %v", c.password, got, err, c.want)
		}
	}
}

// TestFileFailures: a file that cannot be read or is malformed where the
// search goes is an error wrapping ErrUnavailable, or "not breached" with
// FailOpen; the error tells neither the path nor where in the file.
func TestFileFailures(t *testing.T) {
	good := sha1Hex(cleanPassword) + ":1\r\n"
	for _, c := range []struct {
		name string
		rest string // after a good first line
		gone bool   // the file removed after New
	}{
		{"removed", "", true},
		{"a line too long", strings.Repeat("F", 300) + ":1\r\n", false},
		{"a line of garbage", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF;1\r\n", false},
		{"a bad count", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:x\r\n", false},
		{"blank lines", "\r\n\r\n\r\n\r\n", false},
	} {
		for _, failOpen := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/FailOpen=%v", c.name, failOpen), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "secret-location.txt")
				if err := os.WriteFile(path, []byte(good+c.rest), 0o600); err != nil {
					t.Fatal(err)
				}
				var seen error
				ch, err := breached.New(breached.Config{File: path, FailOpen: failOpen, OnError: func(err error) { seen = err }})
				if err != nil {
					t.Fatal(err)
				}
				if c.gone {
					if err := os.Remove(path); err != nil {
						t.Fatal(err)
					}
				}
				// The search's first step reads the second line, whatever the password.
				got, err := ch.Breached(context.Background(), breachedPassword)
				if failOpen {
					if got || err != nil {
						t.Fatalf("fail open: Breached = %v, %v", got, err)
					}
				} else if got || !errors.Is(err, breached.ErrUnavailable) {
					t.Fatalf("fail closed: Breached = %v, %v", got, err)
				}
				if !errors.Is(seen, breached.ErrUnavailable) || strings.Contains(seen.Error(), "secret-location") || strings.Contains(seen.Error(), "at byte") {
					t.Fatalf("OnError saw %v", seen)
				}
			})
		}
	}
}
