package connectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/roomwire/roomwire/canonical"
)

// Bounds on partner JSON. A reservation is a few kilobytes; anything near
// these limits is a mistake or an attack, and is refused before parsing.
const (
	MaxMessageBytes = 1 << 20
	MaxJSONDepth    = 32
)

// ReadLimited reads at most max bytes from r and fails clearly when there are more.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, Permanent(fmt.Errorf("message is larger than the %d bytes allowed", max))
	}
	return b, nil
}

// DecodeJSON parses one JSON document in data into v, refusing documents
// larger than MaxMessageBytes or nested deeper than MaxJSONDepth, and trailing
// data. Its errors are permanent and say where the problem is (line and column,
// and the field when known).
func DecodeJSON(data []byte, v any) error {
	if len(data) > MaxMessageBytes {
		return Permanent(fmt.Errorf("message is %d bytes; at most %d are allowed", len(data), MaxMessageBytes))
	}
	if err := checkDepth(data, MaxJSONDepth); err != nil {
		return Permanent(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return Permanent(DescribeJSONError(data, err))
	}
	if dec.More() {
		return Permanent(fmt.Errorf("%s: unexpected data after the JSON document", position(data, dec.InputOffset())))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Permanent(fmt.Errorf("%s: unexpected data after the JSON document", position(data, dec.InputOffset())))
	}
	return nil
}

// checkDepth refuses JSON nested deeper than max, counting brackets outside strings.
func checkDepth(data []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for i, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return fmt.Errorf("%s: JSON nested deeper than %d levels", position(data, int64(i)), max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// DescribeJSONError turns a decoding error into one line naming the place:
// line and column, and the field for a value of the wrong type.
func DescribeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("empty input: expected a JSON document")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: the JSON document is truncated", position(data, int64(len(data))))
	case errors.As(err, &syn):
		return fmt.Errorf("%s: malformed JSON: %s", position(data, syn.Offset-1), syn.Error())
	case errors.As(err, &typ):
		what := canonical.DescribeJSONTypeError(typ)
		if typ.Field != "" {
			what = "field " + what
		}
		return fmt.Errorf("%s: %s", position(data, typ.Offset), what)
	case strings.Contains(err.Error(), "invalid number literal"):
		// json.Number given a string that is no number; Go names no field.
		return errors.New("a field that must be a number holds a string that is not one")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "json: ") {
		// The canonical types' own decoders (dates, money) say what is wrong.
		return fmt.Errorf("invalid JSON: %s", safeText(msg, 200))
	}
	// Whatever else Go's decoder says is in its own terms, not the partner's.
	return errors.New("the JSON document cannot be read")
}

// position renders a byte offset as "line L, column C".
func position(data []byte, offset int64) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// ParseAmount converts a partner's decimal amount (a JSON number such as
// 132.0, 1.32e2 or "132.00") to exact minor units of currency, without binary
// floating point. More decimals than the currency has are refused unless they
// are zeros.
func ParseAmount(decimal, currency string) (canonical.Money, error) {
	exp, ok := canonical.CurrencyExponent(currency)
	if !ok {
		return canonical.Money{}, fmt.Errorf("unknown currency %q", safeText(currency, 10))
	}
	decimal = strings.TrimSpace(decimal)
	if decimal == "" || len(decimal) > 40 || strings.ContainsAny(decimal, "/xXpP_") {
		return canonical.Money{}, fmt.Errorf("amount %q is not a decimal number", safeText(decimal, 40))
	}
	if i := strings.IndexAny(decimal, "eE"); i >= 0 {
		// big.Rat would happily build 1e1000000000; bound the exponent first.
		e := strings.TrimLeft(decimal[i+1:], "+-")
		if len(e) > 3 {
			return canonical.Money{}, fmt.Errorf("amount %q is out of range", safeText(decimal, 40))
		}
	}
	r, ok := new(big.Rat).SetString(decimal)
	if !ok {
		return canonical.Money{}, fmt.Errorf("amount %q is not a decimal number", safeText(decimal, 40))
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	if !r.IsInt() {
		return canonical.Money{}, fmt.Errorf("amount %s has more than the %d decimals %s allows", safeText(decimal, 40), exp, currency)
	}
	n := r.Num()
	if !n.IsInt64() || n.Int64() > 1e15 || n.Int64() < -1e15 {
		return canonical.Money{}, fmt.Errorf("amount %s is out of range", safeText(decimal, 40))
	}
	return canonical.NewMoney(n.Int64(), currency), nil
}
