package httpjson

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestAppendString compares AppendString with encoding/json on strings that
// exercise every escape.
func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "alice", "a\"b\\c", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<script>&amp;</script>",
		"ａｌｉｃｅ", "\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "é\u00e9\U0001F600", "2026-12-01T20:14:19Z",
	} {
		check(t, s)
	}
}

func check(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %s, encoding/json writes %s", s, got, want)
	}
}

// FuzzAppendString: AppendString writes what encoding/json writes, for any
// string.
func FuzzAppendString(f *testing.F) {
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if entries, err := os.ReadDir(dir); err != nil || len(entries) < 5 {
		f.Fatalf("seed corpus %s: %d files (%v), want at least 5", dir, len(entries), err)
	}
	f.Fuzz(func(t *testing.T, s string) { check(t, s) })
}

func TestAppendStringAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendString(buf[:0], "alice@example.com <\u2028>") }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
