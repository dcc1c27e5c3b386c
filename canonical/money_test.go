package canonical

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		name     string
		amount   string
		currency string
		want     int64
		wantErr  string // substring of the error; empty when the parse must succeed
	}{
		{"EUR two decimals", "286.00", "EUR", 28600, ""},
		{"EUR no decimals", "286", "EUR", 28600, ""},
		{"EUR one decimal", "286.5", "EUR", 28650, ""},
		{"EUR one cent", "0.01", "EUR", 1, ""},
		{"EUR leading zeros", "007.50", "EUR", 750, ""},
		{"EUR plus sign", "+12.50", "EUR", 1250, ""},
		{"EUR negative", "-12.50", "EUR", -1250, ""},
		{"EUR negative cent", "-0.01", "EUR", -1, ""},
		{"EUR zero", "0", "EUR", 0, ""},
		{"EUR negative zero", "-0.00", "EUR", 0, ""},
		{"JPY whole yen", "1500", "JPY", 1500, ""},
		{"JPY zero", "0", "JPY", 0, ""},
		{"JPY refuses decimals", "1500.0", "JPY", 0, "no minor unit"},
		{"JPY refuses fractions", "1500.5", "JPY", 0, "no minor unit"},
		{"KWD three decimals", "1.234", "KWD", 1234, ""},
		{"KWD one decimal", "1.2", "KWD", 1200, ""},
		{"KWD one fils", "0.001", "KWD", 1, ""},
		{"KWD four decimals", "1.2345", "KWD", 0, "at most 3 decimals"},
		{"EUR three decimals", "1.234", "EUR", 0, "at most 2 decimals"},
		{"EUR trailing zero beyond precision", "1.230", "EUR", 0, "at most 2 decimals"},
		{"empty", "", "EUR", 0, "empty amount"},
		{"sign only", "-", "EUR", 0, "not a decimal number"},
		{"trailing dot", "1.", "EUR", 0, "not a decimal number"},
		{"leading dot", ".5", "EUR", 0, "not a decimal number"},
		{"exponent", "1e3", "EUR", 0, "not a decimal number"},
		{"decimal comma", "12,50", "EUR", 0, "not a decimal number"},
		{"thousands separator", "1,000.00", "EUR", 0, "not a decimal number"},
		{"leading space", " 1.00", "EUR", 0, "not a decimal number"},
		{"two signs", "--1", "EUR", 0, "not a decimal number"},
		{"hex", "0x10", "EUR", 0, "not a decimal number"},
		{"non-ASCII digits", "١٢", "EUR", 0, "not a decimal number"},
		{"two dots", "1.0.0", "KWD", 0, "not a decimal number"},
		{"unknown currency", "1.00", "XYZ", 0, `unknown currency "XYZ"`},
		{"lower-case currency", "1.00", "eur", 0, `unknown currency "eur"`},
		{"no currency", "1.00", "", 0, `unknown currency ""`},
		{"fund code is not a currency", "1.00", "XDR", 0, "unknown currency"},
		{"largest JPY", "999999999999999", "JPY", 999999999999999, ""},
		{"JPY of sixteen digits", "1000000000000000", "JPY", 0, "amount too large"},
		{"largest EUR", "10000000000000.00", "EUR", 1e15, ""},
		{"EUR above the limit", "10000000000000.01", "EUR", 0, "amount too large"},
		{"negative EUR above the limit", "-10000000000000.01", "EUR", 0, "amount too large"},
		{"largest KWD", "1000000000000.000", "KWD", 1e15, ""},
		{"KWD above the limit", "1000000000000.001", "KWD", 0, "amount too large"},
		{"beyond int64", "99999999999999999999", "EUR", 0, "amount too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMoney(tt.amount, tt.currency)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseMoney(%q, %q) = %v, want an error containing %q", tt.amount, tt.currency, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMoney(%q, %q) error = %q, want it to contain %q", tt.amount, tt.currency, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMoney(%q, %q): %v", tt.amount, tt.currency, err)
			}
			if want := NewMoney(tt.want, tt.currency); got != want {
				t.Fatalf("ParseMoney(%q, %q) = %#v, want %#v", tt.amount, tt.currency, got, want)
			}
		})
	}
}

func TestMoneyDecimal(t *testing.T) {
	tests := []struct {
		m       Money
		decimal string
	}{
		{NewMoney(28600, "EUR"), "286.00"},
		{NewMoney(28650, "EUR"), "286.50"},
		{NewMoney(1, "EUR"), "0.01"},
		{NewMoney(10, "EUR"), "0.10"},
		{NewMoney(-5, "EUR"), "-0.05"},
		{NewMoney(-1250, "EUR"), "-12.50"},
		{NewMoney(0, "EUR"), "0.00"},
		{NewMoney(0, "JPY"), "0"},
		{NewMoney(1500, "JPY"), "1500"},
		{NewMoney(-1500, "JPY"), "-1500"},
		{NewMoney(5, "KWD"), "0.005"},
		{NewMoney(1234, "KWD"), "1.234"},
		{NewMoney(-1000, "KWD"), "-1.000"},
		{NewMoney(1e15, "EUR"), "10000000000000.00"},
		{NewMoney(math.MaxInt64, "JPY"), "9223372036854775807"},
		{NewMoney(math.MinInt64, "EUR"), "-92233720368547758.08"},
		// An unknown currency is rendered with two decimals; Validate refuses it.
		{NewMoney(12345, "XYZ"), "123.45"},
	}
	for _, tt := range tests {
		if got := tt.m.Decimal(); got != tt.decimal {
			t.Errorf("%#v.Decimal() = %q, want %q", tt.m, got, tt.decimal)
		}
		if got, want := tt.m.String(), tt.decimal+" "+tt.m.Currency; got != want {
			t.Errorf("%#v.String() = %q, want %q", tt.m, got, want)
		}
	}
}

// Every amount that parses is written back in the currency's exact form.
func TestMoneyParseFormatRoundTrip(t *testing.T) {
	tests := []struct{ in, currency, out string }{
		{"286", "EUR", "286.00"},
		{"286.5", "EUR", "286.50"},
		{"+7", "EUR", "7.00"},
		{"007.50", "EUR", "7.50"},
		{"-0.00", "EUR", "0.00"},
		{"1500", "JPY", "1500"},
		{"1.2", "KWD", "1.200"},
		{"-0.001", "KWD", "-0.001"},
		{"999999999999999", "JPY", "999999999999999"},
	}
	for _, tt := range tests {
		m, err := ParseMoney(tt.in, tt.currency)
		if err != nil {
			t.Fatalf("ParseMoney(%q, %q): %v", tt.in, tt.currency, err)
		}
		if got := m.Decimal(); got != tt.out {
			t.Errorf("ParseMoney(%q, %q).Decimal() = %q, want %q", tt.in, tt.currency, got, tt.out)
		}
		again, err := ParseMoney(m.Decimal(), tt.currency)
		if err != nil || again != m {
			t.Errorf("ParseMoney(%q, %q) = %v, %v; want %v", m.Decimal(), tt.currency, again, err, m)
		}
	}
}

func TestMoneyMarshalJSON(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{NewMoney(28600, "EUR"), `{"amount":"286.00","currency":"EUR"}`},
		{NewMoney(0, "EUR"), `{"amount":"0.00","currency":"EUR"}`},
		{NewMoney(-1250, "EUR"), `{"amount":"-12.50","currency":"EUR"}`},
		{NewMoney(15000, "JPY"), `{"amount":"15000","currency":"JPY"}`},
		{NewMoney(45500, "KWD"), `{"amount":"45.500","currency":"KWD"}`},
		{NewMoney(999999999999999, "JPY"), `{"amount":"999999999999999","currency":"JPY"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.m)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", tt.m, err)
		}
		if string(b) != tt.want {
			t.Errorf("json.Marshal(%#v) = %s, want %s", tt.m, b, tt.want)
		}
		var back Money
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if back != tt.m {
			t.Errorf("json.Unmarshal(%s) = %#v, want %#v", b, back, tt.m)
		}
	}
}

func TestMoneyUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Money
		wantErr string
	}{
		{"EUR", `{"amount":"286.00","currency":"EUR"}`, NewMoney(28600, "EUR"), ""},
		{"fields in any order", `{"currency":"KWD","amount":"1.5"}`, NewMoney(1500, "KWD"), ""},
		{"JPY", `{"amount":"15000","currency":"JPY"}`, NewMoney(15000, "JPY"), ""},
		{"negative", `{"amount":"-3.10","currency":"EUR"}`, NewMoney(-310, "EUR"), ""},
		{"zero", `{"amount":"0","currency":"EUR"}`, NewMoney(0, "EUR"), ""},
		{"unknown fields are ignored", `{"amount":"1.00","currency":"EUR","note":"x"}`, NewMoney(100, "EUR"), ""},
		{"number amount", `{"amount":286,"currency":"EUR"}`, Money{}, `amount must be a decimal string like "286.00", got 286`},
		{"float amount", `{"amount":286.5,"currency":"EUR"}`, Money{}, `amount must be a decimal string like "286.00", got 286.5`},
		{"boolean amount", `{"amount":true,"currency":"EUR"}`, Money{}, `amount must be a decimal string like "286.00", got true`},
		{"long number is shortened in the message", `{"amount":12345678901234567890123456789012345678901234567890,"currency":"EUR"}`, Money{}, `got 1234567890123456789012345678901234567890...`},
		{"missing amount", `{"currency":"EUR"}`, Money{}, "money needs an amount"},
		{"null amount", `{"amount":null,"currency":"EUR"}`, Money{}, "money needs an amount"},
		{"null", `null`, Money{}, "money needs an amount"},
		{"empty object", `{}`, Money{}, "money needs an amount"},
		{"string instead of object", `"286.00 EUR"`, Money{}, "money must be an object"},
		{"number instead of object", `286`, Money{}, "money must be an object"},
		{"too many decimals", `{"amount":"1.999","currency":"EUR"}`, Money{}, `amount "1.999" in EUR: at most 2 decimals are allowed`},
		{"decimals in JPY", `{"amount":"100.00","currency":"JPY"}`, Money{}, "no minor unit"},
		{"unknown currency", `{"amount":"1.00","currency":"ABC"}`, Money{}, `unknown currency "ABC"`},
		{"missing currency", `{"amount":"1.00"}`, Money{}, `unknown currency ""`},
		{"huge amount", `{"amount":"123456789012345678","currency":"JPY"}`, Money{}, "amount too large"},
		{"not a number", `{"amount":"abc","currency":"EUR"}`, Money{}, "not a decimal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Money
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("json.Unmarshal(%s) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("json.Unmarshal(%s): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("json.Unmarshal(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

// A price given as a JSON number is refused inside a whole reservation too,
// not silently read as zero.
func TestReservationRefusesNumberAmount(t *testing.T) {
	in := `{"schema_version":1,"total":{"amount":286.00,"currency":"EUR"}}`
	var r Reservation
	err := json.Unmarshal([]byte(in), &r)
	if err == nil || !strings.Contains(err.Error(), `amount must be a decimal string like "286.00", got 286.00`) {
		t.Fatalf("json.Unmarshal = %v, want the decimal string error", err)
	}
}

func TestMoneyAdd(t *testing.T) {
	tests := []struct {
		name    string
		a, b    Money
		want    Money
		wantErr string
	}{
		{"same currency", NewMoney(1000, "EUR"), NewMoney(250, "EUR"), NewMoney(1250, "EUR"), ""},
		{"negative", NewMoney(1000, "EUR"), NewMoney(-1250, "EUR"), NewMoney(-250, "EUR"), ""},
		{"zero adopts the currency", Money{}, NewMoney(15000, "JPY"), NewMoney(15000, "JPY"), ""},
		{"adding zero keeps the currency", NewMoney(15000, "JPY"), Money{}, NewMoney(15000, "JPY"), ""},
		{"zero and zero", Money{}, Money{}, Money{}, ""},
		{"across currencies", NewMoney(1000, "EUR"), NewMoney(1000, "USD"), Money{}, "cannot add USD to EUR"},
		{"across decimals", NewMoney(1000, "KWD"), NewMoney(1000, "JPY"), Money{}, "cannot add JPY to KWD"},
		{"largest sum", NewMoney(math.MaxInt64-1, "JPY"), NewMoney(1, "JPY"), NewMoney(math.MaxInt64, "JPY"), ""},
		{"overflow", NewMoney(math.MaxInt64, "JPY"), NewMoney(1, "JPY"), Money{}, "overflows"},
		{"negative overflow", NewMoney(math.MinInt64, "EUR"), NewMoney(-1, "EUR"), Money{}, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.Add(tt.b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%v.Add(%v) = %v, %v; want an error containing %q", tt.a, tt.b, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("%v.Add(%v) = %#v, %v; want %#v", tt.a, tt.b, got, err, tt.want)
			}
		})
	}
}

func TestMoneyIsZero(t *testing.T) {
	tests := []struct {
		m    Money
		want bool
	}{
		{Money{}, true},
		{NewMoney(0, "EUR"), false},
		{NewMoney(1, ""), false},
	}
	for _, tt := range tests {
		if got := tt.m.IsZero(); got != tt.want {
			t.Errorf("%#v.IsZero() = %v, want %v", tt.m, got, tt.want)
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	tests := []struct {
		code string
		exp  int
		ok   bool
	}{
		{"EUR", 2, true}, {"USD", 2, true}, {"GBP", 2, true}, {"CHF", 2, true},
		{"JPY", 0, true}, {"KRW", 0, true}, {"ISK", 0, true}, {"CLP", 0, true},
		{"KWD", 3, true}, {"BHD", 3, true}, {"TND", 3, true}, {"OMR", 3, true},
		{"XAU", 0, false}, {"XDR", 0, false}, {"eur", 0, false}, {"", 0, false}, {"EURO", 0, false},
	}
	for _, tt := range tests {
		exp, ok := CurrencyExponent(tt.code)
		if exp != tt.exp || ok != tt.ok {
			t.Errorf("CurrencyExponent(%q) = %d, %v; want %d, %v", tt.code, exp, ok, tt.exp, tt.ok)
		}
	}
}

func TestMoneySplit(t *testing.T) {
	for _, tt := range []struct {
		minor int64
		n     int
		want  []int64
	}{
		{59400, 1, []int64{59400}},
		{59400, 2, []int64{29700, 29700}},
		{1000, 3, []int64{334, 333, 333}},
		{-1000, 3, []int64{-334, -333, -333}},
		{2, 4, []int64{1, 1, 0, 0}},
	} {
		parts := NewMoney(tt.minor, "EUR").Split(tt.n)
		var sum int64
		for i, p := range parts {
			sum += p.Minor
			if p.Minor != tt.want[i] || p.Currency != "EUR" {
				t.Errorf("%d in %d: part %d is %s, want %d", tt.minor, tt.n, i, p, tt.want[i])
			}
		}
		if sum != tt.minor || len(parts) != tt.n {
			t.Errorf("%d in %d: parts %v", tt.minor, tt.n, parts)
		}
	}
}
