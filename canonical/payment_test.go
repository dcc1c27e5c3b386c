package canonical

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestPaymentEventsHaveTheirOwnTopic(t *testing.T) {
	for _, typ := range []EventType{EventPaymentAuthorized, EventPaymentCaptured, EventPaymentFailed, EventPaymentVoided, EventPaymentRefunded} {
		if !typ.IsPayment() || typ.IsReservation() {
			t.Errorf("%s: IsPayment %v, IsReservation %v", typ, typ.IsPayment(), typ.IsReservation())
		}
		if got := typ.Topic(); got != TopicPaymentEvents {
			t.Errorf("%s goes to %s", typ, got)
		}
	}
	for typ, want := range map[EventType]string{
		EventReservationCreated: TopicReservationEvents, EventReservationOverbooked: TopicReservationEvents,
		EventAvailabilityChanged: TopicAvailabilityEvents, EventRatesChanged: TopicAvailabilityEvents,
	} {
		if typ.IsPayment() || typ.Topic() != want {
			t.Errorf("%s: IsPayment %v, topic %s", typ, typ.IsPayment(), typ.Topic())
		}
	}
}

func TestPaymentEventJSON(t *testing.T) {
	exp := time.Date(2027, 3, 9, 8, 0, 0, 0, time.UTC)
	e := Event{SchemaVersion: SchemaVersion, ID: "0190d5a2-0000-7000-8000-00000000000a", Type: EventPaymentCaptured, PropertyID: "LIS",
		OccurredAt: time.Date(2027, 3, 2, 8, 0, 0, 0, time.UTC),
		Payment: &Payment{ReservationID: "0190d5a2-0000-7000-8000-000000000001", ReservationVersion: 3, Gateway: "stripe",
			Reference: "pi_1", Operation: PaymentCapture, Status: PaymentCaptured, Amount: NewMoney(14300, "EUR"),
			Authorized: NewMoney(0, "EUR"), Captured: NewMoney(14300, "EUR"), Refunded: NewMoney(0, "EUR"),
			CardMask: "4111XXXXXXXX1111", Reason: "cancellation fee", HoldExpiresAt: &exp}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("round trip changed the event:\n%s", b)
	}
	if ContainsCardNumber(string(b)) {
		t.Error("a payment event holds a card number")
	}
	if !PaymentCaptured.Valid() || PaymentStatus("settled").Valid() {
		t.Error("PaymentStatus.Valid")
	}
}
