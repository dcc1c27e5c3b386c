package inbound_test

import (
	"testing"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/inbound"
)

// Whatever bytes reach an inbound topic, decoding gives an envelope or a
// permanent error (so the message is dead-lettered), never a panic.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"kind":"ari","connector":"apaleo","ari":{"property_id":"LIS","availability":[{"room_type":"LIS-DBL","from":"2027-04-10","to":"2027-04-11","available":3}]}}`))
	f.Add([]byte(`{"kind":"booking","connector":"apaleo","booking":{"reservation":{"total":{"amount":"1.00","currency":"EUR"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := inbound.Decode(data)
		if err != nil {
			if connectors.ClassOf(err) != connectors.ClassPermanent {
				t.Fatalf("class %s: %v", connectors.ClassOf(err), err)
			}
			return
		}
		if _, err := e.MessageID(); err != nil {
			t.Fatal(err)
		}
	})
}
