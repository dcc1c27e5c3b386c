package connectors_test

import (
	"encoding/json"
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
		{"wrong type", "{\n  \"adults\": \"two\"\n}", "line 2, column 18: field adults must be a whole number, not a string"},
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

// goInternals are pieces of Go's own error texts that must never reach a
// partner: they name Go types and APIs, not the partner's fields.
var goInternals = []string{"json:", "xml:", "Go struct", "Go value", "map[", "json.", "RawMessage", "Decoder", "CharsetReader",
	"[]", "interface", "strconv", "int64", "float64", "reflect", "Unmarshal", "nil"}

func hasGoInternals(s string) string {
	for _, g := range goInternals {
		if strings.Contains(s, g) {
			return g
		}
	}
	return ""
}

// A document of the wrong shape is described in JSON's terms, naming the
// field, never in Go's (its types, its decoder).
func TestDecodeJSONSpeaksJSON(t *testing.T) {
	type guest struct {
		LastName string `json:"lastName"`
	}
	type doc struct {
		Adults   int                        `json:"adults"`
		Amount   json.Number                `json:"amount"`
		Guest    *guest                     `json:"guest"`
		Slices   []guest                    `json:"slices"`
		Extra    map[string]json.RawMessage `json:"extra"`
		Children []int                      `json:"children"`
		Paid     bool                       `json:"paid"`
	}
	for _, tt := range []struct {
		name, in, want string
		into           any
	}{
		{"an array for the document", `[1, 2]`, "the document must be an object, not a list", &map[string]json.RawMessage{}},
		{"a string for the document", `"x"`, "the document must be an object, not a string", &doc{}},
		{"a fraction for a whole number", `{"adults": 1.5}`, "adults must be a whole number, not 1.5", &doc{}},
		{"text for a number", `{"amount": "abc"}`, "must be a number", &doc{}},
		{"a string for an object", `{"guest": "Silva"}`, "guest must be an object, not a string", &doc{}},
		{"an object for a list", `{"slices": {}}`, "slices must be a list, not an object", &doc{}},
		{"a number in an object's field", `{"slices": [{"lastName": 7}]}`, "slices.lastName must be a string, not a number", &doc{}},
		{"a list for a map", `{"extra": []}`, "extra must be an object, not a list", &doc{}},
		{"a string in a list of numbers", `{"children": ["7"]}`, "children must be a whole number, not a string", &doc{}},
		{"a string for true or false", `{"paid": "yes"}`, "paid must be true or false, not a string", &doc{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := connectors.DecodeJSON([]byte(tt.in), tt.into)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if g := hasGoInternals(err.Error()); g != "" {
				t.Fatalf("the error speaks Go (%q): %v", g, err)
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
