package router

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/roomwire/roomwire/canonical"
)

// redactedCard replaces a card number found in a stored payload or error.
const redactedCard = "[card number redacted]"

// redactedSecret replaces the value of a secret field.
const redactedSecret = "[redacted]"

// secretKeys are the field names (lower case, without '_' and '-') whose
// values are never stored in a dead letter or timeline entry.
var secretKeys = map[string]bool{
	"password": true, "passwd": true, "secret": true, "clientsecret": true,
	"apikey": true, "apisecret": true, "accesstoken": true, "refreshtoken": true,
	"token": true, "authorization": true, "cvv": true, "cvc": true, "cvv2": true,
	"cvc2": true, "securitycode": true, "seriescode": true, "cardnumber": true,
	"pan": true, "pin": true,
}

// displayOnlyKeys are masked when shown to operators, but kept in storage
// because a replay must deliver them: guest contact and the gateway's card
// token.
var displayOnlyKeys = map[string]bool{
	"email": true, "phone": true, "cardtoken": true, "lines": true, "postalcode": true,
}

// secretText finds secret values in non-JSON payloads (XML, form bodies):
// Password="x", <CVV>123</CVV>, api_key=x, "token": "x".
var secretText = regexp.MustCompile(`(?i)((?:password|passwd|secret|api[_-]?key|access[_-]?token|refresh[_-]?token|token|authorization|cvv2?|cvc2?|series[_-]?code|security[_-]?code)(?:"?\s*[:=]\s*"?|>))([^"<&\s,;}]+)`)

// redactPayload removes card numbers and secret values from a payload to be
// stored. It reports whether anything was removed.
func redactPayload(p []byte) ([]byte, bool) {
	return redactPayloadKeys(p, secretKeys)
}

// redactForDisplay also masks guest contact and card tokens.
func redactForDisplay(p []byte) []byte {
	keys := make(map[string]bool, len(secretKeys)+len(displayOnlyKeys))
	for k := range secretKeys {
		keys[k] = true
	}
	for k := range displayOnlyKeys {
		keys[k] = true
	}
	out, _ := redactPayloadKeys(p, keys)
	return out
}

func redactPayloadKeys(p []byte, keys map[string]bool) ([]byte, bool) {
	if len(p) == 0 {
		return p, false
	}
	trimmed := bytes.TrimSpace(p)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && json.Valid(trimmed) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber() // keep big numbers as they were
		if err := dec.Decode(&v); err == nil {
			v, changed := redactValue(v, keys)
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

func redactValue(v any, keys map[string]bool) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		changed := false
		for k, val := range x {
			if keys[normalizeKey(k)] {
				if val != nil && val != "" {
					x[k] = redactedSecret
					changed = true
				}
				continue
			}
			nv, c := redactValue(val, keys)
			if c {
				x[k] = nv
				changed = true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, val := range x {
			nv, c := redactValue(val, keys)
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
			return redactedCard, true
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
func redactText(s string) (string, bool) {
	s, cards := redactCards(s)
	out := secretText.ReplaceAllString(s, "${1}"+redactedSecret)
	return out, cards || out != s
}

// redactCards replaces every card number and card security code in s.
func redactCards(s string) (string, bool) {
	return canonical.MaskCardData(s, func(string) string { return redactedCard })
}

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
