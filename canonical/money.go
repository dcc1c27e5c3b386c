package canonical

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Money is an exact amount: an integer number of the currency's minor units
// (cents for EUR, yen for JPY, fils for KWD) and an ISO 4217 currency code.
// Its JSON form is {"amount": "286.00", "currency": "EUR"}, with exactly as many
// decimals as the currency has.
type Money struct {
	Minor    int64  // amount in minor units
	Currency string // ISO 4217 code, upper case
}

// NewMoney returns an amount of minor units in currency.
func NewMoney(minor int64, currency string) Money { return Money{Minor: minor, Currency: currency} }

// ParseMoney parses a decimal amount such as "286.00" or "286" in currency.
// It refuses more decimals than the currency has, so no precision is lost silently.
func ParseMoney(amount, currency string) (Money, error) {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return Money{}, fmt.Errorf("unknown currency %q (want an ISO 4217 code such as EUR)", truncate(currency, 10))
	}
	minor, err := parseDecimal(amount, exp)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q in %s: %w", truncate(amount, 40), currency, err)
	}
	return Money{Minor: minor, Currency: currency}, nil
}

// maxMinor bounds amounts far above any stay's price, so that sums of a few
// thousand nights can never overflow int64.
const maxMinor = 1e15

func parseDecimal(s string, exp int) (int64, error) {
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return 0, errors.New("not a decimal number")
	}
	if len(frac) > exp {
		if exp == 0 {
			return 0, errors.New("this currency has no minor unit, so no decimals are allowed")
		}
		return 0, fmt.Errorf("at most %d decimals are allowed", exp)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, errors.New("not a decimal number")
			}
		}
	}
	if len(whole) > 15 {
		return 0, errors.New("amount too large")
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > maxMinor {
		return 0, errors.New("amount too large")
	}
	if neg {
		v = -v
	}
	return v, nil
}

// Decimal renders the amount with the currency's number of decimals, e.g. "286.00".
func (m Money) Decimal() string {
	exp, ok := CurrencyExponent(m.Currency)
	if !ok {
		exp = 2
	}
	// Through uint64, so that the most negative int64 has a magnitude too.
	v := uint64(m.Minor)
	sign := ""
	if m.Minor < 0 {
		sign, v = "-", -v
	}
	s := strconv.FormatUint(v, 10)
	if exp == 0 {
		return sign + s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return sign + s[:len(s)-exp] + "." + s[len(s)-exp:]
}

// String renders the amount and currency, e.g. "286.00 EUR".
func (m Money) String() string { return m.Decimal() + " " + m.Currency }

// IsZero reports whether m is the zero value (no amount, no currency).
func (m Money) IsZero() bool { return m.Minor == 0 && m.Currency == "" }

// Add returns m+o. Both must be in the same currency; the zero Money adopts o's.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency == "" {
		m.Currency = o.Currency
	}
	if o.Currency != "" && o.Currency != m.Currency {
		return Money{}, fmt.Errorf("cannot add %s to %s", o.Currency, m.Currency)
	}
	sum := m.Minor + o.Minor
	if (o.Minor > 0 && sum < m.Minor) || (o.Minor < 0 && sum > m.Minor) {
		return Money{}, fmt.Errorf("%s + %s overflows", m, o)
	}
	return Money{Minor: sum, Currency: m.Currency}, nil
}

// Split shares m out in n parts (n >= 1) that add up to m exactly, the
// first parts a minor unit larger when m does not divide evenly.
func (m Money) Split(n int) []Money {
	if n < 1 {
		n = 1
	}
	out := make([]Money, n)
	share, rest := m.Minor/int64(n), m.Minor%int64(n)
	for i := range out {
		out[i] = Money{Minor: share, Currency: m.Currency}
		if int64(i) < rest {
			out[i].Minor++
		} else if -int64(i) > rest {
			out[i].Minor--
		}
	}
	return out
}

type moneyJSON struct {
	Amount   json.RawMessage `json:"amount"`
	Currency string          `json:"currency"`
}

// MarshalJSON writes {"amount": "286.00", "currency": "EUR"}.
func (m Money) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}{m.Decimal(), m.Currency})
}

// UnmarshalJSON reads {"amount": "286.00", "currency": "EUR"}. The amount must be a
// string: a JSON number would invite binary floating point into prices.
func (m *Money) UnmarshalJSON(b []byte) error {
	var raw moneyJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return errors.New(`money must be an object like {"amount": "286.00", "currency": "EUR"}`)
	}
	if len(raw.Amount) == 0 || string(raw.Amount) == "null" {
		return errors.New(`money needs an amount, a decimal string like "286.00"`)
	}
	var amount string
	if err := json.Unmarshal(raw.Amount, &amount); err != nil {
		return fmt.Errorf(`amount must be a decimal string like "286.00", got %s`, truncate(string(raw.Amount), 40))
	}
	v, err := ParseMoney(amount, raw.Currency)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// truncate shortens s to n bytes for an error message. Errors reach logs and
// dead-letter records, so a value holding a card number is not echoed at all.
func truncate(s string, n int) string {
	out := s
	if len(s) > n {
		out = s[:n] + "..."
	}
	if ContainsCardNumber(s) || ContainsCardNumber(out) {
		return "(not shown: holds a card number)"
	}
	return out
}
