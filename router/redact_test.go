package router

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
)

// reservationEvents returns the golden reservation.created event, as the
// relay stores it, and the same event without its guarantee: the booking
// API's usual booking, whose event holds nothing to redact.
func reservationEvents(tb testing.TB) (withGuarantee, plain []byte) {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/canonical/event_reservation_created.json")
	if err != nil {
		tb.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		tb.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatal(err)
	}
	delete(ev["reservation"].(map[string]any), "guarantee")
	plain, err = json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return compact.Bytes(), plain
}

// BenchmarkRedactPayload measures the redaction of a reservation event
// before it is stored in the timeline.
func BenchmarkRedactPayload(b *testing.B) {
	withGuarantee, plain := reservationEvents(b)
	for _, bc := range []struct {
		name    string
		payload []byte
	}{{"plain", plain}, {"guarantee", withGuarantee}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.payload)))
			b.ReportAllocs()
			for b.Loop() {
				redactPayload(bc.payload)
			}
		})
	}
}

// checkNothingToRedact fails when nothingToRedact passes a JSON payload in
// which the full redaction would change something, for either key rule.
func checkNothingToRedact(t *testing.T, p []byte) {
	t.Helper()
	if !json.Valid(p) {
		return
	}
	for name, secret := range map[string]func(string) bool{"stored": storedSecret, "display": displaySecret} {
		if !nothingToRedact(p, secret) {
			continue
		}
		if _, changed, ok := referenceRedactJSON(p, secret); ok && changed {
			t.Fatalf("nothingToRedact passed %q (%s keys), but the redaction changes it", p, name)
		}
	}
}

func FuzzNothingToRedact(f *testing.F) {
	withGuarantee, plain := reservationEvents(f)
	for _, s := range []string{
		string(withGuarantee), string(plain), `{"a":"4111 1111 1111 1111"}`, `{"a":4111111111111111}`,
		`{"a":"4111\u00a01111\u00a01111\u00a01111"}`, `{"a":"４１１１１１１１１１１１１１１１"}`, `{"a":"cvv 737"}`,
		`{"a":"ſecurity code 123"}`, `{"password":"x"}`, `{"pass\u0077ord":"x"}`, `{"a":"4111\n1111\n1111\n1111"}`,
		`{"a":"4111\/1111\/1111\/1111"}`, `[{"card_token":"tok"},{"email":"a@b.c"}]`, `{"a":"room 101"}`,
		`{"x":"a","b":["1234-5678-9012-3456"]}`, `{"a":"4111\u200b1111\u200b1111\u200b1111"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) { checkNothingToRedact(t, p) })
}

// TestNothingToRedactPassesNoSecret builds JSON from the pieces card
// numbers, security codes and secret keys are made of, which random bytes
// seldom spell, and checks the quick pass never lets one through, and the
// redaction does what the reference does.
func TestNothingToRedactPassesNoSecret(t *testing.T) {
	keys := []string{"a", "comments", "password", "card_token", "email", "Api-Key", "pan", "pin", "name", "cvv",
		"4111 1111 1111 1111", "cvv 737"}
	pieces := []string{"4111", "1111", "5500", "0000", "0004", "12", "3", " ", "-", ".", "/", "_", "\\n", "\\t", "\\/",
		`\"`, "\\u00a0", "\\u0034", "\u00a0", "\u200b", "４", "٤", "cvv", "CVC", "security", " code ", "card verification",
		"ſ", "is", ":", "x", "é", "Gonçalves"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		b.WriteString("{")
		for k := range 1 + rng.IntN(3) {
			if k > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:", keys[rng.IntN(len(keys))])
			if rng.IntN(4) == 0 {
				for range 1 + rng.IntN(4) {
					b.WriteString([]string{"4111", "1111", "0", "12"}[rng.IntN(4)])
				}
				continue
			}
			b.WriteString(`"`)
			for range rng.IntN(12) {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			b.WriteString(`"`)
		}
		b.WriteString("}")
		checkNothingToRedact(t, []byte(b.String()))
		checkRedactJSON(t, []byte(b.String()))
	}
}

// referenceRedactJSON is the redaction of JSON as it was before redactJSON
// rewrote it in place: decode all, redact value by value, encode again.
// ok is false when it could not.
func referenceRedactJSON(p []byte, secret func(key string) bool) (out []byte, changed, ok bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber() // keep big numbers as they were
	if err := dec.Decode(&v); err != nil {
		return nil, false, false
	}
	v, changed = referenceRedactValue(v, secret)
	if !changed {
		return p, false, true
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false, false
	}
	return out, true, true
}

func referenceRedactValue(v any, secret func(key string) bool) (any, bool) {
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
			nv, c := referenceRedactValue(val, secret)
			if c {
				x[k] = nv
				changed = true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, val := range x {
			nv, c := referenceRedactValue(val, secret)
			if c {
				x[i] = nv
				changed = true
			}
		}
		return x, changed
	case string:
		return canonical.RedactCards(x)
	case json.Number:
		if canonical.ContainsCardData(x.String()) {
			return canonical.Redacted, true
		}
	}
	return v, false
}

// keysHoldCardData reports whether a key of v, at any depth, holds card data.
func keysHoldCardData(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if canonical.ContainsCardData(k) || keysHoldCardData(val) {
				return true
			}
		}
	case []any:
		for _, val := range x {
			if keysHoldCardData(val) {
				return true
			}
		}
	}
	return false
}

// decodeJSON decodes p as the reference does, for comparing results.
func decodeJSON(t *testing.T, p []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %q: %v", p, err)
	}
	return v
}

// checkRedactJSON fails when redactJSON and the reference disagree on
// valid JSON p: what it decodes to after redaction, and whether the
// reference changed something that redactJSON left.
func checkRedactJSON(t *testing.T, p []byte) {
	t.Helper()
	if !json.Valid(p) {
		return
	}
	for name, secret := range map[string]func(string) bool{"stored": storedSecret, "display": displaySecret} {
		want, wantChanged, ok := referenceRedactJSON(bytes.Clone(p), secret)
		if !ok {
			continue
		}
		got, changed := redactJSON(p, secret)
		if keysHoldCardData(decodeJSON(t, p)) {
			// The reference leaves keys as they are; redactJSON masks them.
			if keysHoldCardData(decodeJSON(t, got)) || !changed {
				t.Fatalf("%s keys: redactJSON(%q) = %q, %v: a key still holds card data", name, p, got, changed)
			}
			continue
		}
		if wantChanged && !changed || !reflect.DeepEqual(decodeJSON(t, got), decodeJSON(t, want)) {
			t.Fatalf("%s keys: redactJSON(%q) = %q, %v; the reference makes %q, %v", name, p, got, changed, want, wantChanged)
		}
	}
}

func FuzzRedactJSON(f *testing.F) {
	withGuarantee, plain := reservationEvents(f)
	for _, s := range []string{
		string(withGuarantee), string(plain), `{"a":"4111 1111 1111 1111"}`, `{"a":4111111111111111}`,
		`[{"password":{"x":[1,2]}},{"password":null},{"password":""},{"token":"a\"b"}]`, `{"pass\u0077ord":"x"}`,
		`{"a":"cvv 737","b":[" 5500-0000-0000-0004 ",-4111111111111111,1e5]}`, `{"a":{"a":"a"},"a":"4111111111111111"}`,
		`{"password":"x","password":null}`, ` { "k" : [ "4111111111111111" , { } , [ ] ] } `,
		`{"4111 1111 1111 1111":{"cvv 737":"x"}}`, `{"pass 4111111111111111 word":"x"}`, `{"x":"\u003c4111111111111111"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) { checkRedactJSON(t, p) })
}
