package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits of the email rule (RFC 5321 sections 4.5.3.1.1 to 4.5.3.1.3,
// with its errata: a path of 256 octets holds an address of 254).
const (
	maxEmailLen       = 254 // the whole address, in bytes
	maxEmailLocalLen  = 64  // the local part
	maxEmailDomainLen = 253 // the domain, without a trailing dot
	maxEmailLabelLen  = 63  // one label of the domain

	// maxNormalizeEmailInput bounds the input NormalizeEmail maps through
	// IDNA. A longer one (after trimming) cannot be a valid address but for
	// a great many ignorable characters; only its ASCII letters are
	// lower-cased.
	maxNormalizeEmailInput = 1024
)

// NormalizeEmail returns the form of an email address the library stores
// and compares, so that one mailbox is one address:
//
//   - surrounding white space is trimmed (strings.TrimSpace);
//   - the address is split at its last '@' into local part and domain;
//   - the local part is lower-cased: A–Z become a–z; any other character
//     (which makes the address invalid) is lower-cased by Unicode simple
//     case mapping only if its lower case is not ASCII too (so that no
//     non-ASCII spelling such as U+212A KELVIN SIGN normalises into a valid
//     address), and bytes that are not UTF-8 are kept as they are;
//   - the domain is mapped to its ASCII form by IDNA, with the lookup
//     profile of UTS #46 (nontransitional processing: case folding, NFC,
//     ignorable characters such as U+00AD SOFT HYPHEN or U+200B ZERO WIDTH
//     SPACE removed, ideographic full stops made dots, every label that
//     is not ASCII converted to its "xn--" A-label, an A-label given
//     re-encoded from what it decodes to), so Bücher.DE, BÜCHER.de,
//     bü<U+00AD>cher.de and xn--bcher-kva.de all become xn--bcher-kva.de.
//     A domain IDNA refuses (disallowed or bidirectional-override
//     characters, joiners out of context, a bad A-label, bytes that are
//     not UTF-8...) is kept with only its ASCII letters lower-cased;
//     validEmail refuses it.
//
// Input without '@' is lower-cased as a local part. Input longer than 1024
// bytes after trimming only has its ASCII letters lower-cased, without
// IDNA, so the work is bounded. NormalizeEmail never fails nor panics:
// what it returns is only a key for lookups unless validEmail accepts it.
// It is idempotent: normalising its result again changes nothing.
//
// An address is accepted (at registration and email change) only if its
// normalised form is valid as validEmail says: a local part of 1 to 64
// characters from A–Z a–z 0–9 . _ + - ' (no leading or trailing dot, no
// two dots together), '@', and a domain of at least two dot-separated
// LDH labels (letters, digits, hyphens; 1 to 63 bytes; no hyphen first
// or last), the last not all digits, any "xn--" label a valid A-label;
// at most 254 bytes in all. Quoted local parts, comments, display names,
// IP literals, encoded words and source routes are not addresses.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxNormalizeEmailInput {
		return asciiLower(s)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return lowerEmailPart(s)
	}
	return lowerEmailPart(s[:at]) + "@" + normalizeEmailDomain(s[at+1:])
}

// normalizeEmailDomain maps a domain to its IDNA ASCII form (UTS #46
// lookup profile), lower-cased; if it is not UTF-8 or IDNA refuses it,
// only its ASCII letters are lower-cased (asciiLower).
func normalizeEmailDomain(d string) string {
	if !utf8.ValidString(d) {
		// idna (with the Unicode 15 tables Go before 1.27 uses) would
		// map the bad bytes to U+FFFD without an error, and encode that.
		return asciiLower(d)
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return asciiLower(d)
	}
	return asciiLower(a)
}

// asciiLower returns s with its ASCII letters in lower case, every other
// byte unchanged, and so its length. IDNA lower-cases ASCII letters before
// anything else, so it refuses a domain exactly when it refuses the domain
// asciiLower makes of it: the domain NormalizeEmail keeps is mapped to
// itself again.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// lowerEmailPart lower-cases s for NormalizeEmail: ASCII letters to ASCII
// lower case; any other rune to its Unicode lower case unless that is
// ASCII (U+212A KELVIN SIGN stays, it does not become 'k'; U+0130 stays,
// it does not become 'i'); bytes that are not UTF-8 are copied unchanged.
// It is deterministic and idempotent.
func lowerEmailPart(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteByte(c)
			i++
			continue
		}
		if l := unicode.ToLower(r); l >= utf8.RuneSelf {
			r = l
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// validEmail reports whether e, normalised by NormalizeEmail, is an
// address the library accepts: at most 254 bytes, exactly one '@'; a
// local part of 1 to 64 bytes from A–Z a–z 0–9 . _ + - ' that neither
// starts nor ends with '.' and has no ".."; a domain of at most 253 bytes
// made of at least two labels separated by single dots (so no empty label
// and no trailing dot), each label following the LDH rule of RFC 1034 and
// RFC 5890 (1 to 63 letters, digits and hyphens, not starting or ending
// with a hyphen), the last label (the top-level domain) not all digits,
// so that 1.2.3.4 is not taken for a host name. A domain with an "xn--"
// label must be what IDNA (UTS #46 lookup profile) makes of it, so that
// an A-label is the one encoding of a valid internationalised label.
//
// Being ASCII only, an accepted address has no quoted string, comment,
// display name, IP literal ([...]), RFC 2047 encoded word, '%' or '!'
// routing, white space, control, invisible or bidirectional character.
func validEmail(e string) bool {
	if len(e) > maxEmailLen {
		return false
	}
	at := strings.IndexByte(e, '@')
	if at < 0 {
		return false
	}
	return validEmailLocal(e[:at]) && validEmailDomain(e[at+1:])
}

// validEmailLocal reports whether s is a local part validEmail accepts.
func validEmailLocal(s string) bool {
	if len(s) == 0 || len(s) > maxEmailLocalLen || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '+', c == '-', c == '\'':
		default:
			return false
		}
	}
	return true
}

// validEmailDomain reports whether s is a domain validEmail accepts.
func validEmailDomain(s string) bool {
	if len(s) == 0 || len(s) > maxEmailDomainLen {
		return false
	}
	labels, ace := 0, false
	for rest := s; ; {
		label, tail, more := strings.Cut(rest, ".")
		if !ldhLabel(label) {
			return false
		}
		labels++
		ace = ace || hasACEPrefix(label)
		if !more {
			if labels < 2 || allDigits(label) {
				return false
			}
			break
		}
		rest = tail
	}
	if ace {
		a, err := idna.Lookup.ToASCII(s)
		return err == nil && a == strings.ToLower(s)
	}
	return true
}

// ldhLabel reports whether s is a label of 1 to 63 ASCII letters, digits
// and hyphens that neither starts nor ends with a hyphen.
func ldhLabel(s string) bool {
	if len(s) == 0 || len(s) > maxEmailLabelLen || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		default:
			return false
		}
	}
	return true
}

// hasACEPrefix reports whether label starts with "xn--", in any case.
func hasACEPrefix(label string) bool {
	return len(label) >= 4 && strings.EqualFold(label[:4], "xn--")
}

// allDigits reports whether s is made of ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
