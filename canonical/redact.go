package canonical

import (
	"regexp"
	"strings"
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

var nameSeparators = strings.NewReplacer("_", "", "-", "")

// normalizeName lower-cases name and drops '_' and '-'.
func normalizeName(name string) string {
	return nameSeparators.Replace(strings.ToLower(name))
}

// IsSecretName reports whether a field, header or parameter called name
// holds a value that must never be logged or stored in the clear.
func IsSecretName(name string) bool {
	n := normalizeName(name)
	for _, w := range wholeSecretNames {
		if n == w {
			return true
		}
	}
	for _, w := range secretNames {
		if strings.Contains(n, nameSeparators.Replace(w)) {
			return true
		}
	}
	return false
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
