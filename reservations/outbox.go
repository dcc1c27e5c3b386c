package reservations

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// NewEvent builds an event stamped with a fresh id and ctx's correlation id.
func NewEvent(ctx context.Context, t canonical.EventType, propertyID string, now time.Time, r *canonical.Reservation, ari *canonical.ARIUpdate) canonical.Event {
	return newEvent(ctx, t, propertyID, now, r, ari)
}

func newEvent(ctx context.Context, t canonical.EventType, propertyID string, now time.Time, r *canonical.Reservation, ari *canonical.ARIUpdate) canonical.Event {
	return canonical.Event{
		SchemaVersion: canonical.SchemaVersion,
		ID:            uuid.Must(uuid.NewV7()).String(),
		Type:          t,
		PropertyID:    propertyID,
		OccurredAt:    now,
		CorrelationID: canonical.CorrelationID(ctx),
		Reservation:   r,
		ARI:           ari,
	}
}

// AppendEvents adds events to the outbox in the caller's transaction, in
// order, so that they are published if and only if the transaction commits.
// Parts of Roomwire that keep their own tables (payments, connectors) use it
// with Store.InTx to publish what they change.
func AppendEvents(ctx context.Context, tx pgx.Tx, events ...canonical.Event) error {
	if len(events) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if err := queueEvents(b, events); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// queueEvents queues the outbox inserts of events on b, so that they travel to
// the database in the same round trip as the change they describe.
func queueEvents(b *pgx.Batch, events []canonical.Event) error {
	return queueEventsWithDocument(b, events, nil, nil)
}

// queueEventsWithDocument is queueEvents for events about r, whose JSON doc
// the caller has: it goes into their payloads as it is rather than being
// marshalled again for each.
func queueEventsWithDocument(b *pgx.Batch, events []canonical.Event, r *canonical.Reservation, doc []byte) error {
	for _, e := range events {
		payload, err := eventPayload(e, r, doc)
		if err != nil {
			return err
		}
		headers := map[string]string{"event_type": string(e.Type)}
		if e.CorrelationID != "" {
			headers["correlation_id"] = e.CorrelationID
		}
		var reservationID *string
		switch {
		case e.Reservation != nil:
			reservationID = &e.Reservation.ID
		case e.Payment != nil && e.Payment.ReservationID != "":
			reservationID = &e.Payment.ReservationID
		}
		b.Queue(`INSERT INTO outbox (event_id, topic, partition_key, event_type, reservation_id, payload, headers)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			e.ID, e.Type.Topic(), e.PropertyID, string(e.Type), reservationID, payload, headers)
	}
	return nil
}

// eventPayload is the JSON of e. When e carries r and doc is r's JSON, the
// event is marshalled without it and doc is put in its place: the same
// JSON, whose key order the payload's jsonb column does not keep anyway.
func eventPayload(e canonical.Event, r *canonical.Reservation, doc []byte) ([]byte, error) {
	if r == nil || e.Reservation != r || len(doc) == 0 {
		return json.Marshal(e)
	}
	e.Reservation = nil
	head, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+len(doc)+16)
	out = append(out, head[:len(head)-1]...) // without the closing brace
	out = append(out, `,"reservation":`...)
	out = append(out, doc...)
	return append(out, '}'), nil
}

// nightAvailability is what a room type has left to sell on one night.
type nightAvailability struct {
	RoomType  string
	Night     canonical.Date
	Available int
}

func scanNightAvailability(row pgx.CollectableRow) (nightAvailability, error) {
	var n nightAvailability
	var night time.Time
	err := row.Scan(&n.RoomType, &night, &n.Available)
	n.Night = canonical.DateOf(night)
	return n, err
}

// availabilityEvent describes new availability as runs of nights with the same
// number of units left, or nothing when no night changed.
func availabilityEvent(ctx context.Context, propertyID string, now time.Time, nights []nightAvailability) []canonical.Event {
	if len(nights) == 0 {
		return nil
	}
	sorted := append([]nightAvailability(nil), nights...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].RoomType != sorted[j].RoomType {
			return sorted[i].RoomType < sorted[j].RoomType
		}
		return sorted[i].Night.Before(sorted[j].Night)
	})
	ari := &canonical.ARIUpdate{PropertyID: propertyID}
	for _, n := range sorted {
		avail := max(n.Available, 0)
		if k := len(ari.Availability) - 1; k >= 0 {
			last := &ari.Availability[k]
			if last.RoomType == n.RoomType && last.Available == avail && last.To.AddDays(1) == n.Night {
				last.To = n.Night
				continue
			}
		}
		ari.Availability = append(ari.Availability, canonical.AvailabilityUpdate{
			RoomType: n.RoomType, From: n.Night, To: n.Night, Available: avail,
		})
	}
	return []canonical.Event{newEvent(ctx, canonical.EventAvailabilityChanged, propertyID, now, nil, ari)}
}
