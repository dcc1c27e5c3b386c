package conformance

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// DeliverEvents hands the reservation events of one reservation in the
// outbox of the test database of pool to out, in order, each times times (as
// a redelivering broker may), retrying what out classifies retryable a
// bounded number of times; any other failure fails the test.
func DeliverEvents(t testing.TB, pool *pgxpool.Pool, out connectors.Outbound, reservationID string, times int) {
	t.Helper()
	ctx := context.Background()
	for _, row := range pgtest.Outbox(t, pool, pgtest.OutboxQuery{Topic: canonical.TopicReservationEvents, ReservationID: reservationID}) {
		e := row.Event
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
