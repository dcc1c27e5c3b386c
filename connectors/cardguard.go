package connectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/roomwire/roomwire/canonical"
)

// CardPolicy says what an inbound connector does with a full card number a
// partner sent: Roomwire never stores, publishes or logs one.
type CardPolicy string

// The card policies.
const (
	// CardDrop replaces the number by a mask keeping its last four digits,
	// e.g. XXXXXXXXXXXX1111, and accepts the message. The default.
	CardDrop CardPolicy = "drop"
	// CardRefuse refuses the whole message with a permanent error.
	CardRefuse CardPolicy = "refuse"
)

// Valid reports whether p is a known policy ("" counts as CardDrop).
func (p CardPolicy) Valid() bool { return p == "" || p == CardDrop || p == CardRefuse }

// CardSetting is the setting every connector that receives bookings has,
// embedded in its Config.
type CardSetting struct {
	CardPolicy CardPolicy `json:"card_policy" default:"drop" enum:"drop,refuse" doc:"a full card number in a message: drop keeps only its last four digits, refuse refuses the message"`
}

// ErrCardNumber is wrapped by the error of a message refused for holding a
// card number.
var ErrCardNumber = errors.New("the message holds a full card number")

// MaskCard returns s with every card number replaced by X's and its last four
// digits (separators dropped), every card security code written out by X's,
// and whether there was either.
func MaskCard(s string) (string, bool) {
	return canonical.MaskCardData(s, func(digits string) string {
		return strings.Repeat("X", len(digits)-4) + digits[len(digits)-4:]
	})
}

// GuardBooking applies policy to every text of b: with CardDrop each card
// number is masked keeping its last four digits, and each card security code
// written out is masked; with CardRefuse a booking holding either is refused with a permanent error wrapping ErrCardNumber. It
// reports whether a card number was found. The error never repeats the number.
func GuardBooking(b *canonical.ChannelBooking, policy CardPolicy) (bool, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return false, Permanent(fmt.Errorf("card check: %w", err))
	}
	if !canonical.ContainsCardData(string(raw)) {
		return false, nil
	}
	if policy == CardRefuse {
		return true, Permanent(fmt.Errorf("%w; refused as configured (card_policy: refuse): send the payment provider's token instead", ErrCardNumber))
	}
	maskStrings(reflect.ValueOf(b).Elem())
	return true, nil
}

// maskStrings masks card numbers in every settable string reachable from v.
func maskStrings(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if m, ok := MaskCard(v.String()); ok && v.CanSet() {
			v.SetString(m)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			maskStrings(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				maskStrings(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			maskStrings(v.Index(i))
		}
	}
}

// CardMask returns a mask of a card number or partial number a partner
// sent: a full number becomes X's and its last four digits; a mask is kept.
func CardMask(s string) string {
	s = strings.TrimSpace(s)
	if m, ok := MaskCard(s); ok {
		return m
	}
	return s
}
