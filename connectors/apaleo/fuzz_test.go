package apaleo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// seeds adds the reference payloads to a fuzz target's corpus.
func seeds(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "apaleo", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"amount": 1e308, "currency": "EUR"}`))
}

// The translator of reservations and booking requests never panics, and what
// it accepts is free of card numbers.
func FuzzTranslate(f *testing.F) {
	seeds(f, "reservation.json", "reservation-canceled-children.json", "create-booking.request.json", "webhook.reservation-created.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := Translator{}.ToCanonical(data)
		if err != nil {
			if connectors.ClassOf(err) != connectors.ClassPermanent {
				t.Fatalf("bad input gave a %s error: %v", connectors.ClassOf(err), err)
			}
			return
		}
		if msg.Booking == nil {
			t.Fatal("accepted without a booking")
		}
		if _, err := (Translator{}).FromCanonical(&msg.Booking.Reservation); err != nil && connectors.ClassOf(err) != connectors.ClassPermanent {
			t.Fatalf("reverse: %v", err)
		}
	})
}

// The webhook parser never panics and answers a status for anything.
func FuzzWebhook(f *testing.F) {
	seeds(f, "webhook.reservation-created.json")
	f.Add([]byte(`{"topic":"System","type":"healthcheck"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var hook Webhook
		if err := connectors.DecodeJSON(data, &hook); err != nil && connectors.ClassOf(err) != connectors.ClassPermanent {
			t.Fatal(err)
		}
	})
}

// Availability and rates never panic the translator.
func FuzzAvailability(f *testing.F) {
	seeds(f, "availability.json", "rates.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		var a UnitGroupAvailability
		if connectors.DecodeJSON(data, &a) == nil {
			if u, err := AvailabilityToARI("LIS", &a, nil); err == nil {
				for _, x := range u.Availability {
					if x.To.Before(x.From) || x.Available < 0 {
						t.Fatalf("bad run %+v", x)
					}
				}
			}
		}
		var r RateList
		if connectors.DecodeJSON(data, &r) == nil {
			if rates, _, err := RatesToARI(RatePlan{ID: "LIS-FLEX-DBL"}, &r); err == nil {
				for _, x := range rates {
					if x.To.Before(x.From) {
						t.Fatalf("bad run %+v", x)
					}
				}
			}
		}
	})
}

// Apaleo's error bodies never panic the describer, whose text reaches logs.
func FuzzErrorBody(f *testing.F) {
	seeds(f, "error.422.json")
	f.Add([]byte(`{"messages": ["card 4111 1111 1111 1111 declined"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := connectors.SafeText(describeError(422, data), 500)
		if canonical.ContainsCardNumber(msg) {
			t.Fatalf("card number in %q", msg)
		}
	})
}
