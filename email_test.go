package auth

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/goauthkit/auth/store/storable"
)

// emailCase is one row of TestEmailRule: an input as a user may type it,
// whether validEmail accepts its normalised form and, if norm is not
// empty, that form.
type emailCase struct {
	name string // the reason
	in   string
	ok   bool
	norm string
}

// asciiOnly reports whether s is all ASCII.
func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// repeatTo returns c repeated n times.
func repeatTo(c string, n int) string { return strings.Repeat(c, n) }

// emailCases are the rows of TestEmailRule.
func emailCases() []emailCase {
	local64 := repeatTo("a", 64)
	label63 := repeatTo("b", 63)
	// 64 + 1 + (63 + 1 + 63 + 1 + 61) = 254 bytes in all.
	total254 := local64 + "@" + label63 + "." + label63 + "." + repeatTo("c", 61)
	total255 := local64 + "@" + label63 + "." + label63 + "." + repeatTo("c", 62)
	return []emailCase{
		// Accepted.
		{"ordinary", "alice@example.com", true, "alice@example.com"},
		{"dots in the local part", "alice.b.smith@example.com", true, ""},
		{"plus tag", "alice+newsletter@example.com", true, "alice+newsletter@example.com"},
		{"apostrophe", "o'brien@example.com", true, "o'brien@example.com"},
		{"underscore and hyphen", "a_b-c@sub-domain.example.org", true, ""},
		{"digits only local part and a digit label", "1234@123.example.com", true, ""},
		{"all specials in the local part", "_'+-@example.com", true, ""},
		{"one-letter labels", "a@b.co", true, ""},
		{"many labels", "a@a.b.c.d.e.example.co.uk", true, ""},
		{"upper case, lower-cased", "ALICE.Smith@EXAMPLE.COM", true, "alice.smith@example.com"},
		{"surrounding white space trimmed", " \t alice@example.com \r\n", true, "alice@example.com"},
		{"non-breaking spaces around trimmed", "\u00a0alice@example.com\u3000", true, "alice@example.com"},
		{"IDN", "Bob@Bücher.DE", true, "bob@xn--bcher-kva.de"},
		{"IDN upper case", "bob@BÜCHER.de", true, "bob@xn--bcher-kva.de"},
		{"IDN decomposed (NFD), composed", "bob@bu\u0308cher.de", true, "bob@xn--bcher-kva.de"},
		{"IDN with a soft hyphen, removed", "bob@bü\u00adcher.de", true, "bob@xn--bcher-kva.de"},
		{"punycode already", "bob@xn--bcher-kva.de", true, "bob@xn--bcher-kva.de"},
		{"punycode upper case", "bob@XN--BCHER-KVA.DE", true, "bob@xn--bcher-kva.de"},
		{"IDN TLD", "user@пример.рф", true, "user@xn--e1afmkfd.xn--p1ai"},
		{"punycode TLD", "user@example.xn--p1ai", true, "user@example.xn--p1ai"},
		{"CJK domain", "user@例え.jp", true, "user@xn--r8jz45g.jp"},
		{"sharp s kept (nontransitional IDNA)", "bob@faß.de", true, "bob@xn--fa-hia.de"},
		{"ideographic full stop as a dot", "bob@example\u3002com", true, "bob@example.com"},
		{"fullwidth letters folded", "bob@ｅｘａｍｐｌｅ.com", true, "bob@example.com"},
		{"KELVIN SIGN in the domain mapped to k by UTS 46", "bob@\u212Aelvin.com", true, "bob@kelvin.com"},
		{"R-LDH label (hyphens 3rd and 4th) allowed by LDH", "a@ab--cd.example", true, "a@ab--cd.example"},
		{"64-character local part", local64 + "@example.com", true, ""},
		{"63-byte label", "a@" + label63 + ".com", true, ""},
		{"254 bytes in all", total254, true, total254},

		// Refused.
		{"empty", "", false, ""},
		{"only white space", "  \t ", false, ""},
		{"no @", "alice.example.com", false, ""},
		{"empty local part", "@example.com", false, ""},
		{"empty domain", "alice@", false, ""},
		{"two @", "a@b@example.com", false, ""},
		{"two @ adjacent", "a@@example.com", false, ""},
		{"one label", "a@b", false, ""},
		{"localhost", "a@localhost", false, ""},
		{"IP literal", "user@[127.0.0.1]", false, ""},
		{"IPv6 literal", "user@[IPv6:::1]", false, ""},
		{"IP-like domain (all-digit TLD)", "user@1.2.3.4", false, ""},
		{"all-digit TLD", "user@example.123", false, ""},
		{"quoted local part", `"quoted"@example.com`, false, ""},
		{"quoted local part with a space", `"a b"@example.com`, false, ""},
		{"quoted local part with @", `"a@b"@example.com`, false, ""},
		{"RFC 2047 encoded word", "=?utf-8?q?x?=@example.com", false, ""},
		{"RFC 2047 base64 encoded word", "=?UTF-8?B?YWxpY2U=?=@example.com", false, ""},
		{"percent routing", "a%b@example.com", false, ""},
		{"bang routing", "a!b@example.com", false, ""},
		{"source route", "@a.example:b@example.com", false, ""},
		{"display name", "Alice <alice@example.com>", false, ""},
		{"angle brackets", "<alice@example.com>", false, ""},
		{"comment in the local part", "alice(comment)@example.com", false, ""},
		{"comment after the domain", "alice@example.com (comment)", false, ""},
		{"group syntax", "undisclosed:;", false, ""},
		{"two addresses", "a@example.com, b@example.com", false, ""},
		{"double dot in the local part", "a..b@example.com", false, ""},
		{"leading dot in the local part", ".a@example.com", false, ""},
		{"trailing dot in the local part", "a.@example.com", false, ""},
		{"only a dot as local part", ".@example.com", false, ""},
		{"label starting with a hyphen", "a@-example.com", false, ""},
		{"label ending with a hyphen", "a@example-.com", false, ""},
		{"TLD ending with a hyphen", "a@example.com-", false, ""},
		{"empty label", "a@example..com", false, ""},
		{"leading dot in the domain", "a@.example.com", false, ""},
		{"trailing dot (root) in the domain", "a@example.com.", false, ""},
		{"underscore in the domain", "a@exa_mple.com", false, ""},
		{"plus in the domain", "a@exa+mple.com", false, ""},
		{"apostrophe in the domain", "a@o'brien.com", false, ""},
		{"space inside the local part", "al ice@example.com", false, ""},
		{"space before @", "alice @example.com", false, ""},
		{"space after @", "alice@ example.com", false, ""},
		{"space inside the domain", "alice@exa mple.com", false, ""},
		{"tab inside", "al\tice@example.com", false, ""},
		{"newline inside", "alice@example.com\nbcc@example.com", false, ""},
		{"NUL in the local part", "a\x00@example.com", false, ""},
		{"NUL at the end", "alice@example.com\x00", false, ""},
		{"control character", "a\x7f@example.com", false, ""},
		{"invalid UTF-8 in the local part", "a\xff@example.com", false, ""},
		{"invalid UTF-8 in the domain", "a@exa\xffmple.com", false, ""},
		{"non-ASCII local part (SMTPUTF8)", "jörg@example.com", false, ""},
		{"KELVIN SIGN in the local part not made k", "\u212Aate@example.com", false, ""},
		{"dotted capital I in the local part not made i", "\u0130@example.com", false, ""},
		{"fullwidth @", "alice＠example.com", false, ""},
		{"fullwidth local part", "ａｌｉｃｅ@example.com", false, ""},
		{"A-label that is not punycode", "a@xn--zz.com", false, ""},
		{"A-label of ASCII only", "a@xn--abc-.com", false, ""},
		{"A-label of a disallowed character (U+FFFD)", "a@xn--example-2e14b.com", false, ""},
		{"A-label of a non-NFC label (bu\u0308cher)", "a@xn--bucher-xyd.de", false, ""},
		{"A-label of an upper-case letter (bÜcher)", "a@xn--bcher-2pa.de", false, ""},
		{"A-label with a ZERO WIDTH SPACE (b\u200bücher)", "a@xn--bcher-kva0776c.de", false, ""},
		{"IDN failing the bidi rule", "a@1\u05d0.com", false, ""},
		{"disallowed character in the domain", "a@exa\u2024mple.com", false, ""},
		{"65-character local part", local64 + "a@example.com", false, ""},
		{"64-byte label", "a@" + label63 + "b.com", false, ""},
		{"255 bytes in all", total255, false, ""},
		{"1025 bytes of soft hyphens (not mapped)", "a@" + repeatTo("\u00ad", 510) + "example.com", false, ""},
	}
}

// TestEmailRule checks validEmail(NormalizeEmail(x)), as Register and
// ChangeEmail use it, on addresses accepted and refused for the reason in
// the row's name; and the normalised form where the row gives it.
func TestEmailRule(t *testing.T) {
	for _, c := range emailCases() {
		t.Run(c.name, func(t *testing.T) {
			e := NormalizeEmail(c.in)
			if got := validEmail(e); got != c.ok {
				t.Errorf("validEmail(NormalizeEmail(%q)) = validEmail(%q) = %v, want %v", c.in, e, got, c.ok)
			}
			if c.norm != "" && e != c.norm {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", c.in, e, c.norm)
			}
			if c.ok && (len(e) > 254 || !storable.Strings(e) || !asciiOnly(e)) {
				t.Errorf("accepted %q, not a storable ASCII address of at most 254 bytes", e)
			}
		})
	}
}

// TestNormalizeEmailIDN checks that the spellings of one internationalised
// domain normalise to one address, its A-label form.
func TestNormalizeEmailIDN(t *testing.T) {
	const want = "bob@xn--bcher-kva.de"
	for _, s := range []string{
		"Bob@Bücher.DE",
		"bob@xn--bcher-kva.de",
		"bob@BÜCHER.de",
		"bob@bü\u00adcher.de",
		"BOB@XN--BCHER-KVA.DE",
		"bob@bu\u0308cher.de",
		"bob@BU\u0308CHER.DE",
		"bob@bücher\u3002de",
		"bob@ｂüｃｈｅｒ.ｄｅ",
		" bob@bücher.de\t",
	} {
		if got := NormalizeEmail(s); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", s, got, want)
		} else if !validEmail(got) {
			t.Errorf("validEmail(%q) = false", got)
		}
	}
}

// TestNormalizeEmailIdempotent checks that normalising an accepted address
// again changes nothing, so stored addresses are their own lookup keys.
func TestNormalizeEmailIdempotent(t *testing.T) {
	for _, c := range emailCases() {
		e := NormalizeEmail(c.in)
		if !validEmail(e) {
			continue
		}
		if again := NormalizeEmail(e); again != e {
			t.Errorf("%s: NormalizeEmail(%q) = %q, then %q", c.name, c.in, e, again)
		}
	}
}

// emailInvisibles are invisible, format and bidirectional characters that
// must not make a second address for one mailbox.
var emailInvisibles = []struct {
	name string
	r    rune
}{
	{"SOFT HYPHEN", '\u00ad'},
	{"COMBINING GRAPHEME JOINER", '\u034f'},
	{"ARABIC LETTER MARK", '\u061c'},
	{"MONGOLIAN VOWEL SEPARATOR", '\u180e'},
	{"ZERO WIDTH SPACE", '\u200b'},
	{"ZERO WIDTH NON-JOINER", '\u200c'},
	{"ZERO WIDTH JOINER", '\u200d'},
	{"LEFT-TO-RIGHT MARK", '\u200e'},
	{"RIGHT-TO-LEFT MARK", '\u200f'},
	{"LEFT-TO-RIGHT EMBEDDING", '\u202a'},
	{"RIGHT-TO-LEFT OVERRIDE", '\u202e'},
	{"WORD JOINER", '\u2060'},
	{"INVISIBLE SEPARATOR", '\u2063'},
	{"RIGHT-TO-LEFT ISOLATE", '\u2067'},
	{"POP DIRECTIONAL ISOLATE", '\u2069'},
	{"ZERO WIDTH NO-BREAK SPACE (BOM)", '\ufeff'},
	{"VARIATION SELECTOR-16", '\ufe0f'},
	{"TAG SPACE", '\U000e0020'},
}

// TestEmailInvisibles puts each invisible or bidirectional character at
// each place of the local part and of the domain of alice@example.com
// (and of bob@bücher.de). In the local part it is refused; in the domain
// it is refused or mapped away (as UTS #46 maps U+00AD, U+200B, U+2060,
// U+FEFF to nothing), so that the address normalises to the one without
// it: never a second address for the same mailbox.
func TestEmailInvisibles(t *testing.T) {
	for _, base := range []string{"alice@example.com", "bob@bücher.de"} {
		want := NormalizeEmail(base)
		at := strings.IndexByte(base, '@')
		for _, inv := range emailInvisibles {
			for i := 0; i <= len(base); i++ {
				if i < len(base) && !utf8.RuneStart(base[i]) {
					continue
				}
				in := base[:i] + string(inv.r) + base[i:]
				e := NormalizeEmail(in)
				if !validEmail(e) {
					continue
				}
				if i <= at {
					t.Errorf("%s in the local part: %q accepted as %q", inv.name, in, e)
				} else if e != want {
					t.Errorf("%s in the domain: %q accepted as %q, a second address for %q", inv.name, in, e, want)
				}
			}
		}
	}
	// The characters the contract names, one by one.
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"al\u200bice@example.com", false},
		{"al\u202eice@example.com", false},
		{"al\ufeffice@example.com", false},
		{"al\u2060ice@example.com", false},
		{"\ufeffalice@example.com", false},
		{"alice\u200b@example.com", false},
		{"alice@exa\u200bmple.com", true},
		{"alice@exa\u202emple.com", false},
		{"alice@exa\ufeffmple.com", true},
		{"alice@exa\u2060mple.com", true},
		{"alice@\u202eexample.com", false},
		{"alice@example.com\u200b", true},
		{"alice@example.com\ufeff", true},
		{"alice@example.com\u202e", false},
	} {
		e := NormalizeEmail(c.in)
		if got := validEmail(e); got != c.ok || got && e != "alice@example.com" {
			t.Errorf("NormalizeEmail(%q) = %q, valid %v; want valid %v and alice@example.com", c.in, e, got, c.ok)
		}
	}
}

// TestNormalizeEmailLowerCase checks the lower-casing of local parts on
// every rune: ASCII letters become lower case, no other rune becomes
// ASCII, and lower-casing twice is lower-casing once.
func TestNormalizeEmailLowerCase(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r)
		l := lowerEmailPart(s)
		switch {
		case r < utf8.RuneSelf:
			if want := strings.ToLower(s); l != want {
				t.Fatalf("lowerEmailPart(%q) = %q, want %q", s, l, want)
			}
		case asciiOnly(l):
			t.Fatalf("lowerEmailPart(%q) = %q, ASCII", s, l)
		}
		if again := lowerEmailPart(l); again != l {
			t.Fatalf("lowerEmailPart(%q) = %q, then %q", s, l, again)
		}
	}
	if got := NormalizeEmail("JÖRG\xff@Example.COM"); got != "jörg\xff@example.com" {
		t.Errorf("NormalizeEmail kept %q", got)
	}
	if got := NormalizeEmail("NOT AN ADDRESS"); got != "not an address" {
		t.Errorf("NormalizeEmail without @ = %q", got)
	}
	// A domain IDNA refuses keeps its non-ASCII characters as they are
	// (U+04C0 is disallowed, its lower case U+04CF is not): normalising
	// again must not turn it into a valid A-label.
	if got := NormalizeEmail("A@\u04c0.COM"); got != "a@\u04c0.com" || NormalizeEmail(got) != got {
		t.Errorf("NormalizeEmail(A@\u04c0.COM) = %q, then %q", got, NormalizeEmail(got))
	}
}

// TestNormalizeEmailLong checks that input over 1024 bytes (after
// trimming) only has its ASCII letters lower-cased, whatever it is, and is
// refused.
func TestNormalizeEmailLong(t *testing.T) {
	for _, s := range []string{
		repeatTo("A", 2000) + "@EXAMPLE.COM",
		"a@" + repeatTo("\u00ad", 600) + "Example.com",
		repeatTo("@", 1025),
		"A@" + repeatTo("Bücher.", 200) + "DE",
		repeatTo("\xff", 1<<20),
	} {
		e := NormalizeEmail("  " + s + "  ")
		if e != asciiLower(s) || validEmail(e) {
			t.Errorf("NormalizeEmail(%d bytes) = %d bytes, valid %v", len(s), len(e), validEmail(e))
		}
	}
}

// BenchmarkNormalizeEmail measures NormalizeEmail on an ordinary address,
// an IDN, and the costliest inputs of 320 bytes (the longest login name)
// and 1024 (the longest mapped through IDNA) found: many distinct
// characters or expanding ones in one label, whose punycode encoding is
// quadratic.
func BenchmarkNormalizeEmail(b *testing.B) {
	fill := func(n int, gen func(i int) string) string {
		var s strings.Builder
		s.WriteString("a@")
		for i := 0; ; i++ {
			g := gen(i)
			if s.Len()+len(g)+len(".com") > n {
				break
			}
			s.WriteString(g)
		}
		s.WriteString(".com")
		return s.String()
	}
	cjk := func(i int) string { return string(rune(0x4e00 + i)) }
	kana := func(i int) string { return string(rune(0x3300 + i%88)) }
	for _, c := range []struct{ name, in string }{
		{"ascii", "Alice.Smith+tag@Example.COM"},
		{"idn", "Bob@Bücher.DE"},
		{"cjk-320", fill(320, cjk)},
		{"squared-kana-320", fill(320, kana)},
		{"cjk-1024", fill(1024, cjk)},
		{"squared-kana-1024", fill(1024, kana)},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				NormalizeEmail(c.in)
			}
		})
	}
}

// emailShape is the accepted shape, written apart from validEmail:
// lower-case local part (NormalizeEmail's), '@', two or more LDH labels.
var emailShape = regexp.MustCompile(`^[a-z0-9._+'-]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// FuzzNormalizeEmail feeds arbitrary strings to NormalizeEmail and
// validEmail. They must never panic; NormalizeEmail is idempotent (on any
// input, so a lookup key is stable); an accepted address is ASCII, at most
// 254 bytes, of the accepted shape (local part without a leading, trailing
// or double dot; a top-level domain not all digits), and storable.
func FuzzNormalizeEmail(f *testing.F) {
	requireSeeds(f, 20)
	f.Fuzz(func(t *testing.T, s string) {
		e := NormalizeEmail(s)
		if again := NormalizeEmail(e); again != e {
			t.Fatalf("NormalizeEmail(%q) = %q, then %q", s, e, again)
		}
		if !validEmail(e) {
			return
		}
		if len(e) > 254 || !asciiOnly(e) || !storable.Strings(e) {
			t.Fatalf("accepted %q as %q (%d bytes)", s, e, len(e))
		}
		if !emailShape.MatchString(e) {
			t.Fatalf("accepted %q as %q, not of the accepted shape", s, e)
		}
		local, domain, _ := strings.Cut(e, "@")
		if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
			t.Fatalf("accepted %q as %q: dots in the local part", s, e)
		}
		if tld := domain[strings.LastIndexByte(domain, '.')+1:]; strings.Trim(tld, "0123456789") == "" {
			t.Fatalf("accepted %q as %q: all-digit top-level domain", s, e)
		}
	})
}
