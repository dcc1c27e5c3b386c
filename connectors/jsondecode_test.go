package connectors_test

import (
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors"
)

func TestDecodeJSONSaysWhere(t *testing.T) {
	type doc struct {
		Adults int `json:"adults"`
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"truncated", "{\n  \"adults\": 2,\n", "line 3, column 1: the JSON document is truncated"},
		{"syntax", "{\n  \"adults\": 2,,\n}", "line 2, column 15: malformed JSON"},
		{"wrong type", "{\n  \"adults\": \"two\"\n}", "line 2, column 18: field adults: expected int, got JSON string"},
		{"trailing", `{"adults": 2} {}`, "unexpected data after the JSON document"},
		{"too deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), "nested deeper than 32 levels"},
		{"too large", `"` + strings.Repeat("a", connectors.MaxMessageBytes) + `"`, "at most 1048576 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := connectors.DecodeJSON([]byte(tt.in), &d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if connectors.ClassOf(err) != connectors.ClassPermanent {
				t.Errorf("class %s, want permanent", connectors.ClassOf(err))
			}
		})
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		err          bool
	}{
		{"132.0", "EUR", 13200, false},
		{"132.10", "EUR", 13210, false},
		{"1.32e2", "EUR", 13200, false},
		{"0.1", "EUR", 10, false},
		{"132.105", "EUR", 0, true},
		{"132.100", "EUR", 13210, false},
		{"1500", "JPY", 1500, false},
		{"1500.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false},
		{"1e999999", "EUR", 0, true},
		{"1e400", "EUR", 0, true},
		{"abc", "EUR", 0, true},
		{"1/2", "EUR", 0, true},
		{"10", "XXX", 0, true},
	}
	for _, tt := range tests {
		m, err := connectors.ParseAmount(tt.in, tt.currency)
		if (err != nil) != tt.err || (err == nil && m.Minor != tt.want) {
			t.Errorf("ParseAmount(%q, %s) = %v, %v; want %d, err %v", tt.in, tt.currency, m, err, tt.want, tt.err)
		}
	}
}

func TestRedactText(t *testing.T) {
	in := `{"client_secret": "s3cr3t", "access_token":"eyJabc.def", "cardNumber": "4111 1111 1111 1111", "cvv": 123, "name": "Marta"} ` +
		`Authorization: Bearer abc.def.ghi grant_type=client_credentials&client_secret=hunter2 card 5500-0000-0000-0004`
	out := connectors.RedactText(in)
	for _, secret := range []string{"s3cr3t", "eyJabc", "4111", "123", "abc.def.ghi", "hunter2", "5500"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q survived redaction: %s", secret, out)
		}
	}
	if !strings.Contains(out, "Marta") || !strings.Contains(out, "client_credentials") {
		t.Errorf("redaction removed too much: %s", out)
	}
}
