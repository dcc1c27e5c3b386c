package reservations

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// Outcome says what applying a channel booking did.
type Outcome string

// The outcomes.
const (
	OutcomeCreated   Outcome = "created"
	OutcomeModified  Outcome = "modified"
	OutcomeCancelled Outcome = "cancelled"
	OutcomeUnchanged Outcome = "unchanged" // a repeat of a revision already applied
)

// ApplyChannelBooking applies a booking a channel or PMS delivered. Its guest
// has already booked, so a booking with no availability is kept and flagged
// overbooked rather than refused. It is idempotent: a repeat of the same
// revision with the same content, or of an identical booking, changes
// nothing; the same revision with another content is applied as a change. A modification of a
// booking Roomwire has not seen yet (a change made before the original was
// acknowledged) creates it.
func (s *Store) ApplyChannelBooking(ctx context.Context, b canonical.ChannelBooking) (*canonical.Reservation, Outcome, error) {
	if err := b.Validate(); err != nil {
		return nil, "", err
	}
	in := b.Reservation
	// Only a repeat of the same content is already applied: a channel may
	// send a different body under a revision it used before.
	applied := b.AppliedRevision()
	for attempt := 0; attempt < 3; attempt++ {
		existing, revision, err := s.findChannelBooking(ctx, in.PropertyID, in.Channel, in.ExternalID)
		switch {
		case errors.Is(err, ErrNotFound):
			if b.Action == canonical.ChannelCancel {
				return nil, "", fmt.Errorf("channel %s cancels reservation %q, which Roomwire never received: %w", in.Channel, in.ExternalID, ErrNotFound)
			}
			res, err := s.Create(ctx, AllProperties, CreateRequest{Reservation: in, AllowOverbooking: true, ChannelRevision: applied})
			if errors.Is(err, ErrIdempotencyConflict) {
				if _, _, ferr := s.findChannelBooking(ctx, in.PropertyID, in.Channel, in.ExternalID); ferr == nil {
					continue // another revision was created meanwhile: apply this one over it
				}
				return nil, "", err
			}
			if err != nil {
				return nil, "", err
			}
			if res.Replayed {
				return res.Reservation, OutcomeUnchanged, nil
			}
			return res.Reservation, OutcomeCreated, nil
		case err != nil:
			return nil, "", err
		}
		if applied == revision {
			return existing, OutcomeUnchanged, nil
		}
		before := existing.Version
		res, err := s.Update(ctx, AllProperties, existing.ID, UpdateOptions{AllowOverbooking: true, ChannelRevision: applied},
			func(r *canonical.Reservation) error {
				if b.Action == canonical.ChannelCancel {
					r.Status = canonical.StatusCancelled
					return nil
				}
				r.PrimaryGuest, r.AdditionalGuests = in.PrimaryGuest, in.AdditionalGuests
				r.RoomStays, r.Total = in.RoomStays, in.Total
				r.Guarantee, r.Comments = in.Guarantee, in.Comments
				if in.Status != "" && in.Status != canonical.StatusCancelled {
					r.Status = in.Status
				}
				return nil
			})
		if err != nil {
			return nil, "", err
		}
		switch {
		case res.Version == before:
			return res, OutcomeUnchanged, nil
		case res.Status == canonical.StatusCancelled:
			return res, OutcomeCancelled, nil
		}
		return res, OutcomeModified, nil
	}
	return nil, "", fmt.Errorf("channel %s reservation %q keeps changing under concurrent deliveries; retry", in.Channel, in.ExternalID)
}

// findChannelBooking looks a channel's booking up within one property: a
// channel's ids are its own per property.
func (s *Store) findChannelBooking(ctx context.Context, property, channel, externalID string) (*canonical.Reservation, string, error) {
	var doc []byte
	var revision *string
	err := s.pool.QueryRow(ctx, `SELECT document, channel_revision FROM reservations WHERE property_id = $1 AND channel = $2 AND external_id = $3`,
		property, channel, externalID).Scan(&doc, &revision)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", notFound("reservation", channel+"/"+externalID)
	}
	r, err := decodeReservation(doc, err)
	if err != nil || revision == nil {
		return r, "", err
	}
	return r, *revision, nil
}

// ChannelBookingState tells an inbound connector, before it answers its
// partner, what Roomwire holds of a channel's booking: the currency the
// property sells in ("" when there is no such property) and the booking's
// status ("" when Roomwire has no such booking).
func (s *Store) ChannelBookingState(ctx context.Context, property, channel, externalID string) (currency string, status canonical.Status, err error) {
	var st *string
	err = s.pool.QueryRow(ctx, `SELECT p.currency, r.status FROM properties p
		LEFT JOIN reservations r ON r.property_id = p.id AND r.channel = $2 AND r.external_id = $3
		WHERE p.id = $1`, property, channel, externalID).Scan(&currency, &st)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil || st == nil {
		return currency, "", err
	}
	return currency, canonical.Status(*st), nil
}
