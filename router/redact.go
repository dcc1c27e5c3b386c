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
	out, _ := redactPayloadKeys(p, func(k string) bool {
		return canonical.IsSecretName(k) || displayOnlyKeys[normalizeKey(k)]
	})
	return out
}

func redactPayloadKeys(p []byte, secret func(key string) bool) ([]byte, bool) {
	if len(p) == 0 {
		return p, false
	}
	trimmed := bytes.TrimSpace(p)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && json.Valid(trimmed) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber() // keep big numbers as they were
		if err := dec.Decode(&v); err == nil {
			v, changed := redactValue(v, secret)
			if !changed {
				return p, false
			}
			out, err := json.Marshal(v)
			if err == nil {
				return out, true
			}
		}
	}
	if !utf8.Valid(p) {
		// Binary: card numbers can still hide in it as ASCII digits.
		s, changed := redactText(string(p))
		return []byte(s), changed
	}
	s, changed := redactText(string(p))
	return []byte(s), changed
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
