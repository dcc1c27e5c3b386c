package connectors_test

import (
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// Partner amounts are parsed exactly or refused; never a panic or a float.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"132.0", "1.32e2", "9.825e1", "-0", "1e-400", "0.000", "123456789012345.67"} {
		f.Add(s, "EUR")
	}
	f.Add("1500", "JPY")
	f.Fuzz(func(t *testing.T, s, currency string) {
		m, err := connectors.ParseAmount(s, currency)
		if err == nil && (m.Minor > 1e15 || m.Minor < -1e15) {
			t.Fatalf("%q parsed out of range: %v", s, m)
		}
	})
}

// The bounded decoder never panics, and its errors are one line.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"a": [1, 2, {"b": "c"}]}`))
	f.Add([]byte(`[[[[[[`))
	f.Add([]byte(`{"a": "\"[[["}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if err := connectors.DecodeJSON(data, &v); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
	})
}

// Redaction leaves no card number behind.
func FuzzRedactText(f *testing.F) {
	f.Add(`{"cardNumber": "4111 1111 1111 1111"}`)
	f.Add(`pan=5500-0000-0000-0004&x=1`)
	f.Fuzz(func(t *testing.T, s string) {
		if out := connectors.RedactText(s); canonical.ContainsCardNumber(out) && len(s) < 4096 {
			t.Fatalf("card number survived: %q -> %q", s, out)
		}
	})
}
