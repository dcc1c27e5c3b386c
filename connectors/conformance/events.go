package conformance

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
)

// DeliverEvents hands the reservation events of one reservation in the
// store's outbox to out, in order, each times times (as a redelivering
// broker may), retrying what out classifies retryable a bounded number of
// times; any other failure fails the test.
func DeliverEvents(t testing.TB, store *reservations.Store, out connectors.Outbound, reservationID string, times int) {
	t.Helper()
	ctx := context.Background()
	rows, err := store.Pool().Query(ctx, `SELECT payload FROM outbox WHERE reservation_id = $1 AND topic = $2 ORDER BY id`,
		reservationID, canonical.TopicReservationEvents)
	if err != nil {
		t.Fatal(err)
	}
	var events []canonical.Event
	for rows.Next() {
		var p []byte
		var e canonical.Event
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(p, &e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	rows.Close()
	for _, e := range events {
		for i := 0; i < times; i++ {
			for attempt := 0; ; attempt++ {
				err := out.HandleEvent(ctx, e)
				if err == nil {
					break
				}
				if !connectors.IsRetryable(err) || attempt > 30 {
					t.Fatalf("%s of %s: %v", e.Type, reservationID, err)
				}
			}
		}
	}
}
