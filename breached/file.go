package breached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// hashLen is the length of a SHA-1 in hexadecimal.
const hashLen = 40

// maxFileLine bounds a line of the file: 40 characters of hash, a colon,
// at most 18 digits and a CR take 60 bytes; a longer line is malformed.
const maxFileLine = 128

// errLongLine is a line too long for the file's form. The errors of the
// search never say where in the file they were met: in a file ordered by
// hash, that would tell much of the hash.
var errLongLine = fmt.Errorf("the file of breached hashes has a line longer than %d bytes", maxFileLine)

// searchFile binary-searches the file at path, "HASH:COUNT" lines ordered
// by hash (see Config.File), for hash, and returns its count (0 if it is
// not there). It reads one or two short pieces of the file for each step,
// some 35 steps for the whole data set.
func searchFile(ctx context.Context, path string, hash *[hashLen]byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, errors.New("the file of breached hashes cannot be opened") // not err: it names the path
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, errors.New("the file of breached hashes cannot be read")
	}
	return searchSorted(f, st.Size(), hash)
}

// searchSorted binary-searches the size bytes of r, "HASH:COUNT" lines
// ordered by hash, for hash, and returns its count (0 if it is not there).
func searchSorted(r io.ReaderAt, size int64, hash *[hashLen]byte) (int64, error) {
	var err error
	// lo is the start of a line, and every line before it has a smaller
	// hash; every line starting at hi or after has a greater one.
	lo, hi := int64(0), size
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo
		if mid > lo {
			if start, err = nextLineStart(r, mid); err != nil {
				return 0, err
			}
			if start >= hi { // no line starts in [mid, hi)
				hi = mid
				continue
			}
		}
		line, next, err := readLine(r, start)
		if err != nil {
			return 0, err
		}
		h, n, err := parseFileLine(line)
		if err != nil {
			return 0, fmt.Errorf("the file of breached hashes: %w", err)
		}
		switch c := bytes.Compare(h[:], hash[:]); {
		case c == 0:
			return n, nil
		case c < 0:
			lo = next
		default:
			hi = start
		}
	}
	return 0, nil
}

// nextLineStart returns where the first line starting at pos or after
// starts (pos > 0), or the file's size if none does.
func nextLineStart(r io.ReaderAt, pos int64) (int64, error) {
	var buf [maxFileLine]byte
	n, err := r.ReadAt(buf[:], pos-1)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, errors.New("the file of breached hashes cannot be read")
	}
	if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
		return pos + int64(i), nil
	}
	if n == len(buf) {
		return 0, errLongLine
	}
	return pos - 1 + int64(n), nil // the last line, without a line end
}

// readLine returns the line starting at start, without its line end, and
// where the next one starts.
func readLine(r io.ReaderAt, start int64) (line []byte, next int64, err error) {
	buf := make([]byte, maxFileLine)
	n, err := r.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, errors.New("the file of breached hashes cannot be read")
	}
	line = buf[:n]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	} else if n == len(buf) {
		return nil, 0, errLongLine
	}
	next = start + int64(len(line))
	if next < start+int64(n) {
		next++ // the '\n'
	}
	return bytes.TrimSuffix(line, []byte("\r")), next, nil
}

// parseFileLine parses a "HASH:COUNT" line of the file, and returns the
// hash in upper case.
func parseFileLine(line []byte) (hash [hashLen]byte, count int64, err error) {
	if len(line) < hashLen+2 || line[hashLen] != ':' || !upperHexInto(hash[:], line[:hashLen]) {
		return hash, 0, errors.New("a line is not HASH:COUNT (40 hexadecimal characters of SHA-1, a colon, a count)")
	}
	count, ok := parseCount(line[hashLen+1:])
	if !ok {
		return hash, 0, errors.New("a line has a bad count")
	}
	return hash, count, nil
}
