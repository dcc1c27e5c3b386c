package canonical

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// This file is Roomwire's one detector of card data in text. Every inbound
// surface, every redaction of logs and dead letters and every validation of
// free text asks it, so that a number one of them catches, all catch.

// ContainsCardNumber reports whether s holds a payment card number: a run of
// 13 to 19 digits that passes the Luhn check, written out as a word of its
// own with separators between its groups or not (see FindCardNumber).
func ContainsCardNumber(s string) bool {
	_, _, ok := FindCardNumber(s)
	return ok
}

// ContainsCardData reports whether s holds a card number or a card security
// code written out ("CVV 737"), neither of which Roomwire stores.
func ContainsCardData(s string) bool {
	if ContainsCardNumber(s) {
		return true
	}
	_, _, ok := FindSecurityCode(s)
	return ok
}

// FindCardNumber returns the byte span [start, end) of the first Luhn-valid run
// of 13 to 19 digits in s. Digits are those of any script (full-width digits
// too). Between digit groups a run may have up to four spaces (any Unicode
// space, zero-width characters included), or one of - . _ / (or their
// full-width forms). A run uses one kind of mark throughout, except that
// spaces and dashes mix, so that a date range such as 2027-04-10/2027-04-13
// is not taken for a card. Only a whole run counts: a longer run is an id.
// A run with separators glued to a letter or digit is part of an identifier
// and does not count; nor does a decimal number (two groups joined by one
// dot, as a float in a log line), nor digit groups of a UUID (see inUUID).
func FindCardNumber(s string) (start, end int, ok bool) {
	for i := 0; i < len(s); {
		if _, size := digitAt(s, i); size == 0 {
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
			continue
		}
		run := scanRun(s, i)
		if run.digits >= 13 && run.digits <= 19 && !run.decimal && luhnValid(run.values[:run.digits]) &&
			!(run.separated && (wordRuneBefore(s, i) || wordRuneAt(s, run.end) || inUUID(s, i, run.end))) {
			return i, run.end, true
		}
		i = run.end
	}
	return 0, 0, false
}

// CardDigits returns the ASCII digits of a span FindCardNumber returned,
// without its separators.
func CardDigits(span string) string {
	var out []byte
	for i := 0; i < len(span); {
		if v, size := digitAt(span, i); size > 0 {
			out = append(out, byte('0'+v))
			i += size
			continue
		}
		_, w := utf8.DecodeRuneInString(span[i:])
		i += w
	}
	return string(out)
}

// FindSecurityCode returns the byte span [start, end) of the digits of the
// first card security code written out in s, such as the 737 of "cvv: 737":
// CVV, CVC, CV2, CSC, CVN, "card verification" (value, code, number) or
// "(card) security code", as a word of its own in any case, then marks
// (: = # -), "is", "no", "no.", "number" or "code" and white space, then 3
// or 4 digits that are not part of a longer number.
//
// It runs on every string of every payload stored, so it is a scan by
// hand; the regular expression it stands for, with the same matches, is in
// the tests (securityCodePattern).
func FindSecurityCode(s string) (start, end int, ok bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c != 'c' && c != 's' && s[i] != 0xC5 {
			continue // every keyword starts with c, s or ſ (U+017F)
		}
		if isASCIIWord(s, i-1) == isASCIIWord(s, i) {
			continue // not at a word boundary
		}
		if start, end, ok := securityCodeAt(s, i); ok {
			return start, end, true
		}
	}
	return 0, 0, false
}

// securityCodeAt tries the keywords at s[i] in the order the pattern's
// alternatives are tried, and returns the digits after the first whose
// digits follow.
func securityCodeAt(s string, i int) (start, end int, ok bool) {
	try := func(k int) bool {
		start, end, ok = securityCodeDigits(s, k)
		return ok
	}
	for _, w := range []string{"cvv", "cvc"} {
		if k, found := foldPrefix(s, i, w); found {
			if k < len(s) && s[k] == '2' && try(k+1) || try(k) {
				return start, end, true
			}
		}
	}
	for _, w := range []string{"cv2", "csc", "cvn"} {
		if k, found := foldPrefix(s, i, w); found && try(k) {
			return start, end, true
		}
	}
	if k, found := foldPrefix(s, i, "card"); found {
		if k, found := foldPrefix(s, skipSpaces(s, k), "verification"); found {
			after := skipSpaces(s, k)
			for _, w := range []string{"value", "code", "number"} {
				if e, found := foldPrefix(s, after, w); found && try(e) {
					return start, end, true
				}
			}
			if try(k) {
				return start, end, true
			}
		}
		if k, found := foldPrefix(s, skipSpaces(s, k), "security"); found {
			if k, found := foldPrefix(s, skipSpaces(s, k), "code"); found && try(k) {
				return start, end, true
			}
		}
	}
	if k, found := foldPrefix(s, i, "security"); found {
		if k, found := foldPrefix(s, skipSpaces(s, k), "code"); found && try(k) {
			return start, end, true
		}
	}
	return 0, 0, false
}

// securityCodeDigits reads, from s[k] right after a keyword, the marks and
// words that may stand before a security code, then its 3 or 4 digits,
// which must not go on.
func securityCodeDigits(s string, k int) (start, end int, ok bool) {
	for {
		if _, size := digitAt(s, k); size > 0 {
			break
		}
		// Greedy is exact here: no mark or word holds a digit, "number" is
		// tried before "no", and nothing but "no." takes a dot.
		j := skipSpaces(s, k)
		if j < len(s) && strings.IndexByte(":=#-", s[j]) >= 0 {
			k = skipSpaces(s, j+1)
			continue
		}
		if e, found := foldPrefix(s, j, "is"); found {
			k = skipSpaces(s, e)
			continue
		}
		if e, found := foldPrefix(s, j, "number"); found {
			k = skipSpaces(s, e)
			continue
		}
		if e, found := foldPrefix(s, j, "no"); found {
			if e < len(s) && s[e] == '.' {
				e++
			}
			k = skipSpaces(s, e)
			continue
		}
		if e, found := foldPrefix(s, j, "code"); found {
			k = skipSpaces(s, e)
			continue
		}
		if j == k {
			return 0, 0, false
		}
		k = j
	}
	end, digits := k, 0
	for digits < 5 {
		_, size := digitAt(s, end)
		if size == 0 {
			break
		}
		end += size
		digits++
	}
	if digits < 3 || digits > 4 {
		return 0, 0, false
	}
	return k, end, true
}

// foldPrefix reports whether s[i:] starts with the lower-case ASCII word w
// in any case, as the pattern's (?i) matches it: 's' also matches ſ
// (U+017F) and 'k' the Kelvin sign (U+212A), their other simple case folds.
// It returns the byte after the match.
func foldPrefix(s string, i int, w string) (int, bool) {
	for j := 0; j < len(w); j++ {
		if i >= len(s) {
			return 0, false
		}
		c := w[j]
		switch {
		case s[i] == c || 'a' <= c && c <= 'z' && s[i] == c-'a'+'A':
			i++
		case c == 's' && strings.HasPrefix(s[i:], "\u017F"):
			i += len("\u017F")
		case c == 'k' && strings.HasPrefix(s[i:], "\u212A"):
			i += len("\u212A")
		default:
			return 0, false
		}
	}
	return i, true
}

// skipSpaces returns the first byte at or after s[i] that is not white
// space as the pattern's \s sees it (ASCII \t \n \f \r and space).
func skipSpaces(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '\t', '\n', '\f', '\r', ' ':
			i++
		default:
			return i
		}
	}
	return i
}

// isASCIIWord reports whether the character at s[i] is one the pattern's \b
// takes for a word character: an ASCII letter, digit or '_'. Outside s, and
// in a multi-byte character, it is not.
func isASCIIWord(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// run is a run of digits and separators scanned from a digit.
type run struct {
	values    [19]byte // the digits' values, while at most 19
	digits    int      // how many digits, 20 meaning more than 19
	end       int      // the byte after the last digit
	separated bool
	// decimal is a run of two digit groups joined by one dot, such as
	// 0.30000000000000004: a decimal number, never how a card is written.
	decimal bool
}

// scanRun scans the run of digits starting at s[i]. A separator is up to
// four spaces, or one mark; spaces and dashes are one kind, each other mark
// its own, and a separator of another kind than the run's first ends it.
func scanRun(s string, i int) run {
	var r run
	var kind rune // the kind of the run's separators, once it has one
	for {
		v, size := digitAt(s, i)
		if size == 0 {
			break
		}
		if r.digits < 19 {
			r.values[r.digits] = byte(v)
		}
		if r.digits < 20 {
			r.digits++
		}
		i += size
		r.end = i
		j, spaces, mark := i, 0, rune(0)
		for j < len(s) {
			c, w := utf8.DecodeRuneInString(s[j:])
			if isCardSpace(c) && mark == 0 && spaces < 4 {
				spaces++
			} else if k := cardMark(c); k != 0 && mark == 0 && spaces == 0 {
				mark = k
			} else {
				break
			}
			j += w
		}
		if j == i {
			continue // the digits go on without a separator
		}
		if _, size := digitAt(s, j); size == 0 {
			break
		}
		sepKind := mark
		if mark == 0 || mark == '-' {
			sepKind = ' '
		}
		if kind != 0 && kind != sepKind {
			break
		}
		r.decimal = !r.separated && mark == '.'
		kind, r.separated, i = sepKind, true, j
	}
	return r
}

// digitAt returns the value and byte size of the digit at s[i], or size 0
// when there is none.
func digitAt(s string, i int) (value, size int) {
	if i >= len(s) {
		return 0, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		if c >= '0' && c <= '9' {
			return int(c - '0'), 1
		}
		return 0, 0
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if !unicode.Is(unicode.Nd, r) {
		return 0, 0
	}
	// Decimal digits come in blocks of ten, each starting at its zero.
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, w
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, w
		}
	}
	return 0, 0
}

// isCardSpace reports whether c may stand between digit groups as a space:
// any Unicode space, and invisible format characters such as U+200B.
func isCardSpace(c rune) bool {
	return unicode.IsSpace(c) || unicode.Is(unicode.Zs, c) || unicode.Is(unicode.Cf, c)
}

// cardMark returns the mark c stands for between digit groups (- . _ /), or 0.
func cardMark(c rune) rune {
	switch {
	case c == '-' || c == '\uFF0D' || unicode.Is(unicode.Pd, c):
		return '-'
	case c == '.' || c == '\uFF0E':
		return '.'
	case c == '_' || c == '\uFF3F':
		return '_'
	case c == '/' || c == '\uFF0F':
		return '/'
	}
	return 0
}

// inUUID reports whether s[start:end] lies within a UUID written out
// (8-4-4-4-12 hex digits joined by dashes, such as a correlation id). Its
// groups are glued to letters only when the hex digits around them happen
// to be letters: "…-445b-9616-406865031211" holds the Luhn-valid groups
// 9616-406865031211 with a dash on either side, about one random UUID in
// 20,000. A card number is never written in a UUID's shape.
func inUUID(s string, start, end int) bool {
	const n = len("01234567-89ab-cdef-0123-456789abcdef")
	for p := max(0, end-n); p <= start && p+n <= len(s); p++ {
		// The dash first: Validate builds an error for each window it refuses.
		if s[p+8] == '-' && uuid.Validate(s[p:p+n]) == nil {
			return true
		}
	}
	return false
}

func wordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	c, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(c) || unicode.IsDigit(c)
}

func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(c) || unicode.IsDigit(c)
}

func luhnValid(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// MaskCardData returns s with every card number replaced by what
// replace makes of its digits, and the digits of every card security code
// written out replaced by X's; and whether it found either.
func MaskCardData(s string, replace func(digits string) string) (string, bool) {
	found := false
	// Bounded: each pass removes one number or code.
	for i := 0; i < 128; i++ {
		if start, end, ok := FindCardNumber(s); ok {
			s, found = s[:start]+replace(CardDigits(s[start:end]))+s[end:], true
			continue
		}
		if start, end, ok := FindSecurityCode(s); ok {
			s, found = s[:start]+strings.Repeat("X", utf8.RuneCountInString(s[start:end]))+s[end:], true
			continue
		}
		break
	}
	return s, found
}
