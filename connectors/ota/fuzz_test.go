package ota_test

import (
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/ota"
)

func seed(f *testing.F) {
	for _, name := range goldenFixtures {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05">&a;</OTA_HotelResNotifRQ>`))
	f.Add([]byte(`<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05"><HotelReservations><HotelReservation ResStatus="Commit"/></HotelReservations></OTA_HotelResNotifRQ>`))
}

// Whatever a partner sends, the translator answers a booking, ARI or a
// permanent error; never a panic, and never a card number in what it keeps.
func FuzzTranslate(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := ota.Translator{}.ToCanonical(data)
		if err != nil {
			if c := connectors.ClassOf(err); c != connectors.ClassPermanent {
				t.Fatalf("class %s: %v", c, err)
			}
			if canonical.ContainsCardNumber(err.Error()) {
				t.Fatalf("error holds a card number: %v", err)
			}
			return
		}
		if msg.Booking != nil {
			if err := msg.Booking.Validate(); err != nil {
				t.Fatalf("accepted an invalid booking: %v", err)
			}
		}
	})
}

// The ARI parser (the simulator's, and the translator's for ARI) never panics.
func FuzzParseARI(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ota.ParseARI(data); err != nil && connectors.ClassOf(err) != connectors.ClassPermanent {
			t.Fatalf("class %s: %v", connectors.ClassOf(err), err)
		}
	})
}

// Replies from a channel: Success, or a permanent error.
func FuzzParseRS(f *testing.F) {
	f.Add(fixture(f, "resnotif-rs-success.xml"))
	f.Add(fixture(f, "resnotif-rs-error.xml"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := ota.ParseRS(data); err != nil && connectors.ClassOf(err) != connectors.ClassPermanent {
			t.Fatalf("class %s: %v", connectors.ClassOf(err), err)
		}
	})
}
