package canonical

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestFindCardNumber(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		start, end int
		ok         bool
	}{
		{"Visa", "4111111111111111", 0, 16, true},
		{"Mastercard", "5555555555554444", 0, 16, true},
		{"Amex of 15 digits", "378282246310005", 0, 15, true},
		{"13 digits", "4222222222222", 0, 13, true},
		{"19 digits", "4111111111111111110", 0, 19, true},
		{"groups of four with spaces", "4111 1111 1111 1111", 0, 19, true},
		{"groups of four with dashes", "4111-1111-1111-1111", 0, 19, true},
		{"Amex grouping", "3782 822463 10005", 0, 17, true},
		{"separators anywhere", "41-1111 111111-11 11", 0, 20, true},
		{"inside text", "card: 4111 1111 1111 1111, exp 12/27", 6, 25, true},
		{"letters around", "tok4111111111111111x", 3, 19, true},
		{"a decimal number", `"seconds":0.4111111111111111,`, 0, 0, false},
		{"a decimal number with more digits before the dot", "41111111.11111111", 0, 0, false},
		{"three groups joined by dots", "4111111.11111.1111", 0, 18, true},
		{"dashes around", "-4111111111111111-", 1, 17, true},
		{"trailing separator is not part of it", "4111 1111 1111 1111 ", 0, 19, true},
		{"after a shorter run", "room 12, card 5555555555554444", 14, 30, true},
		{"first of two", "4111111111111111 or 5555555555554444", 0, 16, true},
		{"after a Luhn-invalid run", "4111111111111112 then 5555555555554444", 22, 38, true},
		{"after non-ASCII text", "n° 4111111111111111", 4, 20, true},

		{"digit groups of a UUID", `"id":"4e55b313-5809-4835-98d1-2450a650d50b"`, 0, 0, false},
		// Random UUIDs whose all-digit groups pass the Luhn check, as
		// correlation ids in log lines.
		{"a UUID's last two groups", `"correlation_id":"034d42ba-ed3c-445b-9616-406865031211","status":201}`, 0, 0, false},
		{"a UUID's first three groups", `"correlation_id":"50113415-7285-4739-bcdf-685c8ae43cb7","status":201}`, 0, 0, false},
		{"a UUID in capitals", "50113415-7285-4739-BCDF-685C8AE43CB7", 0, 0, false},
		{"a card number beside a UUID", `"id":"034d42ba-ed3c-445b-9616-406865031211","note":"4111-1111-1111-1111"`, 52, 71, true},
		{"a card number grouped 8-4-4 without the rest of a UUID", "41111111-1111-1111-zzzz", 0, 18, true},
		{"grouped digits glued to a word", "ref4111-1111-1111-1111", 0, 0, false},
		{"empty", "", 0, 0, false},
		{"no digits", "tok_abcdef", 0, 0, false},
		{"mask with X", "4111XXXXXXXX1111", 0, 0, false},
		{"mask with stars", "411111******1111", 0, 0, false},
		{"mask with dots", "4111 .... .... 1111", 0, 0, false},
		{"Luhn-invalid", "4111111111111112", 0, 0, false},
		{"Luhn-invalid with spaces", "4111 1111 1111 1112", 0, 0, false},
		{"12 Luhn-valid digits", "411111111117", 0, 0, false},
		{"20 Luhn-valid digits", "41111111111111111115", 0, 0, false},
		{"long id", "20270410123456789012345678", 0, 0, false},
		{"20 digits with spaces", "4111 1111 1111 1111 1111", 0, 0, false},
		// Only a whole run counts, wherever the card-like part of it sits.
		{"card number after another group", "1234 4111 1111 1111 1111", 0, 0, false},
		{"card number before another group", "4111 1111 1111 1111 1234", 0, 0, false},
		{"a space and a dash split a run", "4111 -1111-1111-1111", 0, 0, false},
		{"phone number", "+351 21 123 4567", 0, 0, false},
		{"date range with mixed marks", "2027-04-10/2027-04-13", 0, 0, false},
		{"date range with a spaced dash", "10.04.2027 - 12.04.2027", 0, 0, false},
		{"dots and spaces do not mix", "4111.1111 1111.1111", 0, 0, false},

		// Every way a person writes a card number out is caught.
		{"double space", "4111  1111 1111 1111", 0, 20, true},
		{"double spaces", "pay 4111  1111  1111  1111 now", 4, 26, true},
		{"dots", "4111.1111.1111.1111", 0, 19, true},
		{"underscores", "4111_1111_1111_1111", 0, 19, true},
		{"slashes", "4111/1111/1111/1111", 0, 19, true},
		{"tabs", "4111\t1111\t1111\t1111", 0, 19, true},
		{"no-break spaces", "4111\u00a01111\u00a01111\u00a01111", 0, 22, true},
		{"zero-width spaces", "4111\u200b1111\u200b1111\u200b1111", 0, 25, true},
		{"full-width digits", "４１１１１１１１１１１１１１１１", 0, 48, true},
		{"full-width digits and spaces", "４１１１　１１１１　１１１１　１１１１", 0, 57, true},
		{"full-width dots", "４１１１．１１１１．１１１１．１１１１", 0, 57, true},
		{"Arabic-Indic digits", "٤١١١١١١١١١١١١١١١", 0, 32, true},
		{"em dashes", "4111\u20141111\u20141111\u20141111", 0, 25, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, ok := FindCardNumber(tt.in)
			if ok != tt.ok || start != tt.start || end != tt.end {
				t.Fatalf("FindCardNumber(%q) = %d, %d, %v; want %d, %d, %v", tt.in, start, end, ok, tt.start, tt.end, tt.ok)
			}
			if got := ContainsCardNumber(tt.in); got != tt.ok {
				t.Fatalf("ContainsCardNumber(%q) = %v, want %v", tt.in, got, tt.ok)
			}
		})
	}
}

// No UUID is taken for a card number, wherever its digits fall.
func TestFindCardNumberSkipsUUIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const hex = "0123456789abcdef"
	b := []byte("xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx")
	for i := 0; i < 200000; i++ {
		for j := range b {
			if b[j] != '-' && j != 14 {
				b[j] = hex[rng.IntN(16)]
			}
		}
		b[19] = "89ab"[rng.IntN(4)]
		if line := `"correlation_id":"` + string(b) + `"`; ContainsCardNumber(line) {
			t.Fatalf("a card number in %s", line)
		}
	}
}

// Redacting the span FindCardNumber returns removes the card number.
func TestFindCardNumberSpanRedacts(t *testing.T) {
	s := "Guest wrote 4111 1111 1111 1111 in the comment, and 5555-5555-5555-4444 too."
	for i := 0; i < 3; i++ {
		start, end, ok := FindCardNumber(s)
		if !ok {
			break
		}
		s = s[:start] + strings.Repeat("X", end-start) + s[end:]
	}
	if ContainsCardNumber(s) {
		t.Fatalf("still holds a card number after redaction: %q", s)
	}
	if want := "Guest wrote XXXXXXXXXXXXXXXXXXX in the comment, and XXXXXXXXXXXXXXXXXXX too."; s != want {
		t.Fatalf("redacted = %q, want %q", s, want)
	}
}

func TestCardDigits(t *testing.T) {
	for in, want := range map[string]string{
		"4111 1111-1111.1111": "4111111111111111",
		"４１１１　１１１１":           "41111111",
		"٤١١١\u200b١":         "41111",
	} {
		if got := CardDigits(in); got != want {
			t.Errorf("CardDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindSecurityCode(t *testing.T) {
	tests := []struct {
		in   string
		want string // the digits found, "" for none
	}{
		{"pay with 4111111111111111 cvv 737", "737"},
		{"CVV 737", "737"},
		{"cvv: 737", "737"},
		{"CVC2=1234", "1234"},
		{"cvv737", "737"},
		{"security code is 123", "123"},
		{"Card verification value 456", "456"},
		{"CV2 # 321", "321"},
		{"cvv ７３７", "７３７"},
		{"cvv 73", ""},
		{"cvv 73712", ""},
		{"arriving at 1730, room 737", ""},
		{"no cvv given", ""},
	}
	for _, tt := range tests {
		start, end, ok := FindSecurityCode(tt.in)
		got := ""
		if ok {
			got = tt.in[start:end]
		}
		if got != tt.want {
			t.Errorf("FindSecurityCode(%q) found %q, want %q", tt.in, got, tt.want)
		}
		if ContainsCardData(tt.in) != (tt.want != "" || ContainsCardNumber(tt.in)) {
			t.Errorf("ContainsCardData(%q) disagrees", tt.in)
		}
	}
}

// TestFindSecurityCodeMatchesPattern compares the scan with its pattern on
// texts made of the words and marks the pattern is about, which random
// bytes seldom spell.
func TestFindSecurityCodeMatchesPattern(t *testing.T) {
	pieces := []string{"cvv", "CVC", "cv", "2", "c", "s", "S", "ſ", "card", "Verification", "security", "code",
		"value", "number", "is", "no", ".", ":", "#", "-", "=", " ", "\t", "\n", "\v", "1", "23", "456", "7890",
		"x", "_", "é", "７", "\u00a0"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		var b strings.Builder
		for range 1 + rng.IntN(10) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		start, end, ok := FindSecurityCode(s)
		m := securityCodePattern.FindStringSubmatchIndex(s)
		if ok != (m != nil) || ok && (start != m[2] || end != m[3]) {
			t.Fatalf("FindSecurityCode(%q) = %d, %d, %v; the pattern matches %v", s, start, end, ok, m)
		}
	}
}
