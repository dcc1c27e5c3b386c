package connectors

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/roomwire/roomwire/canonical"
)

// Redacted replaces a secret wherever Roomwire would otherwise write it.
const Redacted = canonical.Redacted

// IsSecretName reports whether a field, header or parameter called name holds
// a value that must never be logged.
func IsSecretName(name string) bool { return canonical.IsSecretName(name) }

// RedactText removes secrets and card numbers from text that may be logged:
// JSON or form values of secret-named fields, bearer and basic credentials,
// and any run of digits that passes as a card number.
func RedactText(s string) string {
	s, _ = canonical.RedactText(s)
	return s
}

// MaskCardNumbers replaces every card number in s, and every card security
// code written out, by Redacted.
func MaskCardNumbers(s string) string {
	s, _ = canonical.RedactCards(s)
	return s
}

// RedactHeaders returns a copy of h fit to log: secret-named headers are
// replaced, other values have card numbers masked.
func RedactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		val := strings.Join(v, ", ")
		if IsSecretName(k) {
			val = Redacted
		} else {
			val = MaskCardNumbers(val)
		}
		out[k] = val
	}
	return out
}

// RedactURL returns u as a string fit to log: user info and secret-named
// query parameters are replaced.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(Redacted)
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			if IsSecretName(k) {
				q[k] = []string{Redacted}
			}
		}
		c.RawQuery = q.Encode()
	}
	return MaskCardNumbers(c.String())
}

// safeText shortens s to n bytes (on a rune boundary) for an error message or
// log line, after redacting it.
func safeText(s string, n int) string {
	s = RedactText(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// SafeText redacts s and shortens it to at most n bytes, for error messages
// that reach logs and dead-letter records.
func SafeText(s string, n int) string { return safeText(s, n) }

// ValidPartnerID reports whether s can be a partner's id of a message or
// entity: 1 to 128 characters of valid UTF-8 without control characters
// (a NUL byte would reach PostgreSQL, which refuses it).
func ValidPartnerID(s string) bool {
	if s == "" || len(s) > canonical.MaxIDLen || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}
