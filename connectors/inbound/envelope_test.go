package inbound_test

import (
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/inbound"
)

func TestMessageIDCoversContent(t *testing.T) {
	envelope := func(comment string, received time.Time) *inbound.Envelope {
		return &inbound.Envelope{SchemaVersion: 1, Kind: inbound.KindBooking, Connector: "ota",
			Booking: &canonical.ChannelBooking{Connector: "ota", Action: canonical.ChannelModify, Revision: "Modify@2027-03-05T16:40:01Z",
				ReceivedAt: received, Reservation: canonical.Reservation{PropertyID: "HTL", Channel: "ota", ExternalID: "41", Comments: []string{comment}}}}
	}
	id := func(e *inbound.Envelope) string {
		s, err := e.MessageID()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	first := id(envelope("cot please", now))
	if again := id(envelope("cot please", now.Add(time.Minute))); again != first {
		t.Errorf("a redelivery of the same message got another id: %s, %s", first, again)
	}
	if other := id(envelope("two cots please", now)); other == first {
		t.Errorf("another body under the same revision got the same id %s: it would be dropped as a duplicate", first)
	}
}
