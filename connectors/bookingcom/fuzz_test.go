package bookingcom_test

import (
	"testing"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/bookingcom"
)

// Whatever the feeds hold, the translator answers a booking or a permanent
// error, never a panic.
func FuzzTranslate(f *testing.F) {
	for _, n := range fixtureNames {
		f.Add(fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := bookingcom.Translator{}.ToCanonical(data)
		if err != nil {
			if connectors.ClassOf(err) != connectors.ClassPermanent {
				t.Fatalf("class %s: %v", connectors.ClassOf(err), err)
			}
			return
		}
		if err := msg.Booking.Validate(); err != nil {
			t.Fatalf("accepted an invalid booking: %v", err)
		}
	})
}
