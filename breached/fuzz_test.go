package breached

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// requireSeeds fails the fuzz test if its committed seed corpus is missing,
// so the corpus can never silently disappear.
func requireSeeds(f *testing.F, min int) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < min {
		f.Fatalf("seed corpus %s: %d files (%v), want at least %d", dir, len(entries), err, min)
	}
}

// upperSHA1 returns password's SHA-1 in upper-case hexadecimal.
func upperSHA1(password string) [hashLen]byte {
	sum := sha1.Sum([]byte(password))
	var h [hashLen]byte
	copy(h[:], strings.ToUpper(hex.EncodeToString(sum[:])))
	return h
}

// rangeLine and fileLine are the lines of a range and of the file, as
// the readers below must take them (an independent statement of it).
var (
	rangeLine = regexp.MustCompile(`^([0-9A-Fa-f]{35}):([0-9]{1,18})$`)
	fileLine  = regexp.MustCompile(`^([0-9A-Fa-f]{40}):([0-9]{1,18})$`)
)

// lines returns the lines of b without their line ends (LF or CRLF), and
// without the blank ones if skipBlank.
func lines(b []byte, skipBlank bool) []string {
	var out []string
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		if l != "" || !skipBlank {
			out = append(out, l)
		}
	}
	return out
}

// FuzzMatchRange compares matchRange, on any answer and the suffix of any
// password, with a plain reading of the range: the same error or not, and
// the same count (the greatest of the suffix's lines, 0 for none).
func FuzzMatchRange(f *testing.F) {
	requireSeeds(f, 8)
	f.Fuzz(func(t *testing.T, body []byte, password string) {
		h := upperSHA1(password)
		got, err := matchRange(body, (*[suffixLen]byte)(h[5:]))

		var want int64
		ok := true
		ls := lines(body, true)
		for _, l := range ls {
			m := rangeLine.FindStringSubmatch(l)
			if m == nil {
				ok = false
				break
			}
			n, _ := strconv.ParseInt(m[2], 10, 64)
			if strings.ToUpper(m[1]) == string(h[5:]) && n > want {
				want = n
			}
		}
		ok = ok && len(ls) > 0
		if (err == nil) != ok || got != want && ok || err != nil && got != 0 {
			t.Fatalf("matchRange = %d, %v; want %d, ok %v", got, err, want, ok)
		}
	})
}

// FuzzSearchFile searches any file for the hash of any password: the
// search ends, and in a file of well-formed lines strictly ordered by
// hash it finds what a linear reading finds.
func FuzzSearchFile(f *testing.F) {
	requireSeeds(f, 6)
	f.Fuzz(func(t *testing.T, file []byte, password string) {
		h := upperSHA1(password)
		got, err := searchSorted(bytes.NewReader(file), int64(len(file)), &h)

		var hashes []string
		var want int64
		for _, l := range lines(file, false) {
			m := fileLine.FindStringSubmatch(l)
			if m == nil {
				return // malformed: any answer but a hang or a panic
			}
			hashes = append(hashes, strings.ToUpper(m[1]))
			if strings.ToUpper(m[1]) == string(h[:]) {
				want, _ = strconv.ParseInt(m[2], 10, 64)
			}
		}
		if len(hashes) == 0 || !slices.IsSorted(hashes) || len(slices.Compact(slices.Clone(hashes))) != len(hashes) {
			return // unordered, or repeated hashes: any answer
		}
		if err != nil || got != want {
			t.Fatalf("searchSorted = %d, %v; want %d", got, err, want)
		}
	})
}
