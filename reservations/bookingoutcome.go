package reservations

import (
	"errors"

	"github.com/roomwire/roomwire/canonical"
)

// BookingOutcome is what became of an attempt to book, for metrics.
type BookingOutcome string

// The booking outcomes.
const (
	BookingCreated        BookingOutcome = "created"
	BookingOverbooked     BookingOutcome = "overbooked" // kept, flagged: a channel sold what was not there
	BookingReplayed       BookingOutcome = "replayed"   // a repeat answered with the earlier reservation
	BookingNoAvailability BookingOutcome = "no_availability"
	BookingInvalid        BookingOutcome = "invalid"
	BookingConflict       BookingOutcome = "conflict" // idempotency key or channel id reused differently
	BookingForbidden      BookingOutcome = "forbidden"
	BookingFailed         BookingOutcome = "failed" // the store could not answer
)

// ObserveBookings makes fn hear the channel and outcome of every booking
// attempt (Create, from the API or a channel). Call it before the store is
// used; fn must be fast and safe for concurrent use.
func (s *Store) ObserveBookings(fn func(channel string, outcome BookingOutcome)) {
	s.onBooking = fn
}

func (s *Store) observeBooking(channel string, res CreateResult, err error) {
	if s.onBooking == nil {
		return
	}
	if channel == "" {
		channel = canonical.ChannelDirect
	}
	s.onBooking(channel, classifyBooking(res, err))
}

func classifyBooking(res CreateResult, err error) BookingOutcome {
	var invalid canonical.ValidationError
	switch {
	case err == nil && res.Replayed:
		return BookingReplayed
	case err == nil && res.Reservation != nil && res.Reservation.HasFlag(canonical.FlagOverbooked):
		return BookingOverbooked
	case err == nil:
		return BookingCreated
	case errors.Is(err, ErrNoAvailability):
		return BookingNoAvailability
	case errors.As(err, &invalid):
		return BookingInvalid
	case errors.Is(err, ErrIdempotencyConflict):
		return BookingConflict
	case errors.Is(err, ErrForbidden):
		return BookingForbidden
	}
	return BookingFailed
}
