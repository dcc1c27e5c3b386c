package canonical

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a secret value or a card number wherever Roomwire would
// otherwise write it: logs, dead letters, timeline entries and API answers.
const Redacted = "[redacted]"

// secretNames are the words that make a field, header or parameter name a
// secret's: a name containing one of them (ignoring case, '_' and '-') holds
// a credential or card data. "client_secret", "X-Api-Key",
// "Stripe-Signature" and "MessagePassword" all do.
var secretNames = []string{
	"authorization", "authorisation", "password", "passwd", "secret", "token",
	"api_key", "cookie", "credential", "assertion", "signature",
	"cvv", "cvc", "cv2", "security_code", "series_code", "card_number", "account_number",
}

// wholeSecretNames are secret only as the whole name: "company" holds no
// primary account number, "shipping" no PIN.
var wholeSecretNames = []string{"pan", "pin"}

// secretWords are secretNames as IsSecretName compares them (without
// '_'), by their first byte: a name is searched for the few words that
// start at each of its bytes.
var secretWords = func() (byFirst [256][][]byte) {
	for _, w := range secretNames {
		b := []byte(strings.ReplaceAll(w, "_", ""))
		byFirst[b[0]] = append(byFirst[b[0]], b)
	}
	return byFirst
}()

// IsSecretName reports whether a field, header or parameter called name
// holds a value that must never be logged or stored in the clear. It runs
// for every key of every payload stored, so an ASCII name is compared
// without allocating.
func IsSecretName(name string) bool {
	var buf [64]byte
	n, ascii := normalizeASCIIName(buf[:0], name)
	if !ascii {
		n = []byte(strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(name)))
	}
	for _, w := range wholeSecretNames {
		if string(n) == w {
			return true
		}
	}
	for i, c := range n {
		for _, w := range secretWords[c] {
			if bytes.HasPrefix(n[i:], w) {
				return true
			}
		}
	}
	return false
}

// normalizeASCIIName appends name to dst lower-cased and without '_' and
// '-', and reports whether name was ASCII (otherwise dst is incomplete:
// Unicode lower-casing is strings.ToLower's).
func normalizeASCIIName(dst []byte, name string) ([]byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= utf8.RuneSelf:
			return dst, false
		case c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

// secretNamePattern matches a name IsSecretName accepts, inside text.
var secretNamePattern = func() string {
	alts := make([]string, len(secretNames))
	for i, w := range secretNames {
		alts[i] = strings.ReplaceAll(w, "_", "[-_]?")
	}
	return `[a-z0-9_\-]*(?:` + strings.Join(alts, "|") + `)[a-z0-9_\-]*|(?:` + strings.Join(wholeSecretNames, "|") + `)`
}()

// The shapes a secret value takes in text, each with its name in group 1.
var (
	// "name": "value" or "name": 123 (JSON).
	jsonSecret = regexp.MustCompile(`(?i)("(?:` + secretNamePattern + `)"\s*:\s*)("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)`)
	// name="value" (an XML attribute).
	attributeSecret = regexp.MustCompile(`(?i)((?:^|[\s<])(?:` + secretNamePattern + `)\s*=\s*")([^"]*)`)
	// <name>value (an XML element).
	elementSecret = regexp.MustCompile(`(?i)(<(?:[a-z0-9]+:)?(?:` + secretNamePattern + `)>)([^<]*)`)
	// name=value or name: value (a form, a query, a header line).
	fieldSecret = regexp.MustCompile(`(?i)((?:^|[&?\s;,{(])(?:` + secretNamePattern + `)\s*[:=]\s*)([^&\s,;}"<]+)`)
	// Bearer and Basic credentials.
	credentialSecret = regexp.MustCompile(`(?i)((?:bearer|basic)\s+)[a-z0-9._~+/=\-]+`)
)

// RedactText removes secrets and card data from text that is to be logged
// or stored: the values of secret-named JSON fields, XML attributes and
// elements, form and header fields, Bearer and Basic credentials, every card
// number and written-out card security code. It reports whether it removed
// anything.
func RedactText(s string) (string, bool) {
	if s == "" {
		return s, false
	}
	out := jsonSecret.ReplaceAllString(s, `${1}"`+Redacted+`"`)
	out = attributeSecret.ReplaceAllString(out, `${1}`+Redacted)
	out = elementSecret.ReplaceAllString(out, `${1}`+Redacted)
	// Credentials before fields: the field pattern would take the scheme
	// ("Authorization: Bearer") and leave the credential.
	out = credentialSecret.ReplaceAllString(out, `${1}`+Redacted)
	out = fieldSecret.ReplaceAllString(out, `${1}`+Redacted)
	out, cards := RedactCards(out)
	return out, cards || out != s
}

// RedactCards replaces every card number and written-out card security
// code in s by Redacted, and reports whether there was one.
func RedactCards(s string) (string, bool) {
	return MaskCardData(s, func(string) string { return Redacted })
}
