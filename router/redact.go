package router

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/roomwire/roomwire/canonical"
)

// storedSecret reports whether the value of a field called k is never
// stored in a dead letter or timeline entry: every secret but the gateway's
// card token, which a replay must deliver (it is masked when shown).
func storedSecret(k string) bool {
	return canonical.IsSecretName(k) && normalizeKey(k) != "cardtoken"
}

// displayOnlyKeys are masked when shown to operators, but kept in storage
// because a replay must deliver them: guest contact and the gateway's card
// token.
var displayOnlyKeys = map[string]bool{
	"email": true, "phone": true, "cardtoken": true, "lines": true, "postalcode": true,
}

// redactPayload removes card numbers and secret values from a payload to be
// stored. It reports whether anything was removed.
func redactPayload(p []byte) ([]byte, bool) {
	return redactPayloadKeys(p, storedSecret)
}

// redactForDisplay also masks guest contact and card tokens.
func redactForDisplay(p []byte) []byte {
	out, _ := redactPayloadKeys(p, displaySecret)
	return out
}

// displaySecret reports whether the value of a field called k is masked
// when shown.
func displaySecret(k string) bool {
	return canonical.IsSecretName(k) || displayOnlyKeys[normalizeKey(k)]
}

func redactPayloadKeys(p []byte, secret func(key string) bool) ([]byte, bool) {
	if len(p) == 0 {
		return p, false
	}
	trimmed := bytes.TrimSpace(p)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && json.Valid(trimmed) {
		if nothingToRedact(trimmed, secret) {
			return p, false
		}
		if out, changed, ok := redactJSON(trimmed, secret); ok {
			if !changed {
				return p, false
			}
			return out, true
		}
	}
	// Text, or binary: card numbers can still hide in it as ASCII digits.
	s, changed := redactText(string(p))
	return []byte(s), changed
}

// redactJSON decodes valid JSON, redacts every value and encodes it again
// when something changed. ok is false when it could not.
func redactJSON(p []byte, secret func(key string) bool) (out []byte, changed, ok bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber() // keep big numbers as they were
	if err := dec.Decode(&v); err != nil {
		return nil, false, false
	}
	v, changed = redactValue(v, secret)
	if !changed {
		return p, false, true
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false, false
	}
	return out, true, true
}

// nothingToRedact reports, from one pass over the bytes of valid JSON,
// that redactValue would change nothing in it: no key is secret, no run of
// digits is long enough to be a card number, no word a card security code
// could follow is there. Most payloads are such, and this spares decoding
// them. It errs only towards false: every character that may stand in a
// card number's run (a digit or separator of any script, an escape) keeps
// the run going, and any other character of a non-ASCII rune counts as a
// digit; a \u escape, which could spell anything, or a key that decodes
// to other bytes than its own, ends the pass with false.
func nothingToRedact(p []byte, secret func(key string) bool) bool {
	digits, inString, stringStart := 0, false, 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case '0' <= c && c <= '9' || c >= 0xC0: // a digit, or a rune that may be one
			if digits++; digits >= 13 {
				return false
			}
			if c == 0xC5 && i+1 < len(p) && p[i+1] == 0xBF {
				return false // ſ, which is an s to the security code pattern
			}
		case c >= 0x80, c == ' ', c == '\t', c == '\n', c == '\r', c == '-', c == '.', c == '_', c == '/':
			// may stand between a card number's digit groups
		case c == '\\':
			if i+1 < len(p) && p[i+1] == 'u' {
				return false
			}
			i++ // \n, \t, \/, \": a separator at most, or a quote inside the string
		case c == '"':
			digits = 0
			if !inString {
				inString, stringStart = true, i+1
				continue
			}
			inString = false
			if isKey(p, i+1) {
				key := p[stringStart:i]
				if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) || secret(string(key)) {
					return false
				}
			}
		default:
			digits = 0
			if l := c | 0x20; l == 'c' && i+1 < len(p) && (p[i+1]|0x20 == 'v' || p[i+1]|0x20 == 's') ||
				l == 's' && hasPrefixFold(p[i:], "security") || l == 'v' && hasPrefixFold(p[i:], "verification") {
				return false // cv..., cs..., security, verification: a security code may follow
			}
		}
	}
	return true
}

// isKey reports whether the string that ended before p[i] is an object's
// key: a colon follows it.
func isKey(p []byte, i int) bool {
	for ; i < len(p); i++ {
		switch p[i] {
		case ' ', '\t', '\n', '\r':
		case ':':
			return true
		default:
			return false
		}
	}
	return false
}

// hasPrefixFold reports whether p starts with the lower-case ASCII word w,
// in any ASCII case.
func hasPrefixFold(p []byte, w string) bool {
	if len(p) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if p[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

func redactValue(v any, secret func(key string) bool) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		changed := false
		for k, val := range x {
			if secret(k) {
				if val != nil && val != "" {
					x[k] = canonical.Redacted
					changed = true
				}
				continue
			}
			nv, c := redactValue(val, secret)
			if c {
				x[k] = nv
				changed = true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, val := range x {
			nv, c := redactValue(val, secret)
			if c {
				x[i] = nv
				changed = true
			}
		}
		return x, changed
	case string:
		s, c := redactCards(x)
		return s, c
	case json.Number:
		if canonical.ContainsCardData(x.String()) {
			return canonical.Redacted, true
		}
	}
	return v, false
}

// keySeparators is built once: a Replacer builds its tables on first use,
// and a new one per key made the redaction of every stored payload costly.
var keySeparators = strings.NewReplacer("_", "", "-", "")

func normalizeKey(k string) string {
	return keySeparators.Replace(strings.ToLower(k))
}

// redactText removes card numbers and secret values from free text.
func redactText(s string) (string, bool) { return canonical.RedactText(s) }

// redactCards replaces every card number and card security code in s.
func redactCards(s string) (string, bool) { return canonical.RedactCards(s) }

// redactError renders err for storage: card numbers and secrets removed,
// at most 1 KiB.
func redactError(err error) string {
	if err == nil {
		return ""
	}
	s, _ := redactText(err.Error())
	const limit = 1024
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
