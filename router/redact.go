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
		if out, changed := redactJSON(trimmed, secret); changed {
			return out, true
		}
		return p, false
	}
	// Text, or binary: card numbers can still hide in it as ASCII digits.
	s, changed := redactText(string(p))
	return []byte(s), changed
}

// redactJSON returns valid JSON p with the value of every secret-named
// key (but null and "") replaced by Redacted, and every string (keys too)
// or number holding card data redacted (canonical.RedactCards), and whether it
// changed anything. It copies p around what it replaces, in p's own order
// and layout, rather than decoding and encoding the whole: only a string
// the quick pass (nothingToRedact) cannot clear is decoded.
func redactJSON(p []byte, secret func(key string) bool) ([]byte, bool) {
	r := jsonRedactor{p: p, secret: secret}
	r.value()
	if r.out == nil {
		return p, false
	}
	return append(r.out, p[r.copied:]...), true
}

// jsonRedactor walks valid JSON; out holds p up to copied with the
// replacements made, nil while there is none.
type jsonRedactor struct {
	p      []byte
	i      int
	out    []byte
	copied int
	secret func(string) bool
}

// replace puts with in place of p[start:r.i].
func (r *jsonRedactor) replace(start int, with []byte) {
	r.out = append(append(r.out, r.p[r.copied:start]...), with...)
	r.copied = r.i
}

var redactedJSON = []byte(`"` + canonical.Redacted + `"`)

func (r *jsonRedactor) value() {
	r.space()
	start := r.i
	switch c := r.p[r.i]; {
	case c == '{':
		r.i++
		for r.space(); r.p[r.i] != '}'; r.space() {
			keyStart := r.i
			r.skipString()
			key := r.p[keyStart:r.i]
			r.redactString(keyStart) // a card number can be a key too
			r.space()
			r.i++ // ':'
			r.space()
			if r.isSecret(key) {
				valueStart := r.i
				r.skipValue()
				if v := string(r.p[valueStart:r.i]); v != "null" && v != `""` {
					r.replace(valueStart, redactedJSON)
				}
			} else {
				r.value()
			}
			if r.space(); r.p[r.i] == ',' {
				r.i++
			}
		}
		r.i++
	case c == '[':
		r.i++
		for r.space(); r.p[r.i] != ']'; r.space() {
			r.value()
			if r.space(); r.p[r.i] == ',' {
				r.i++
			}
		}
		r.i++
	case c == '"':
		r.skipString()
		r.redactString(start)
	default: // a number, true, false or null
		r.skipValue()
		if raw := r.p[start:r.i]; (c == '-' || '0' <= c && c <= '9') && canonical.ContainsCardData(string(raw)) {
			r.replace(start, redactedJSON)
		}
	}
}

// redactString redacts the card data in the string p[start:r.i].
func (r *jsonRedactor) redactString(start int) {
	raw := r.p[start:r.i]
	if nothingToRedact(raw, nil) {
		return
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return // cannot be: p is valid
	}
	if masked, changed := redactCards(s); changed {
		enc, _ := json.Marshal(masked)
		r.replace(start, enc)
	}
}

// isSecret reports whether the key whose quoted form is raw is secret.
func (r *jsonRedactor) isSecret(raw []byte) bool {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return r.secret(string(inner))
	}
	var key string
	if json.Unmarshal(raw, &key) != nil {
		return true // cannot be: p is valid
	}
	return r.secret(key)
}

func (r *jsonRedactor) space() {
	for r.i < len(r.p) {
		switch r.p[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// skipString moves past the string starting at p[i].
func (r *jsonRedactor) skipString() {
	for r.i++; r.p[r.i] != '"'; r.i++ {
		if r.p[r.i] == '\\' {
			r.i++
		}
	}
	r.i++
}

// skipValue moves past the value starting at p[i].
func (r *jsonRedactor) skipValue() {
	switch r.p[r.i] {
	case '"':
		r.skipString()
	case '{', '[':
		depth := 0
		for {
			switch r.p[r.i] {
			case '"':
				r.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			r.i++
			if depth == 0 {
				return
			}
		}
	default:
		for r.i < len(r.p) && !strings.ContainsRune(",]} \t\n\r", rune(r.p[r.i])) {
			r.i++
		}
	}
}

// nothingToRedact reports, from one pass over the bytes of valid JSON,
// that redactValue would change nothing in it: no key is secret, no run of
// digits is long enough to be a card number, no word a card security code
// could follow is there. Most payloads are such, and this spares decoding
// them. It errs only towards false: every character that may stand in a
// card number's run (a digit or separator of any script, an escape) keeps
// the run going, and any other character of a non-ASCII rune counts as a
// digit; a \u escape, which could spell anything, or a key that decodes
// to other bytes than its own, ends the pass with false. With secret nil,
// keys are not looked at.
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
			if secret != nil && isKey(p, i+1) {
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
