package connectors

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

// BookingStates tells a receiver what Roomwire holds of a channel's booking
// (reservations.Store implements it): the currency the property sells in
// ("" when there is no such property) and the booking's status ("" when
// Roomwire has no such booking).
type BookingStates interface {
	ChannelBookingState(ctx context.Context, property, channel, externalID string) (currency string, status canonical.Status, err error)
}

// The refusals of CheckApplicable; each is permanent.
var (
	ErrBookingUnknown   = errors.New("Roomwire holds no such reservation")
	ErrBookingFinal     = errors.New("the reservation can no longer change")
	ErrCurrencyMismatch = errors.New("the booking is not in the property's currency")
)

// CheckApplicable reports, before a receiver answers its partner, whether
// the store will be able to apply b, so that a partner is never told Success
// for a booking that would then be dead-lettered: a cancellation of a
// reservation Roomwire never received, a change of a cancelled one, or a
// booking in another currency than the property's. It returns nil when res
// has no booking states or b's codes are not mapped yet (CheckMapped tells
// that).
func CheckApplicable(ctx context.Context, res Resources, connector string, b canonical.ChannelBooking) error {
	if res.Mappings == nil || res.Bookings == nil {
		return nil
	}
	set, err := res.Mappings.Set(ctx, connector)
	if err != nil {
		return Retryable(err)
	}
	c, err := set.mapCopy(b)
	if err != nil {
		return nil
	}
	r := c.Reservation
	currency, status, err := res.Bookings.ChannelBookingState(ctx, r.PropertyID, r.Channel, r.ExternalID)
	if err != nil {
		return Retryable(fmt.Errorf("look up reservation %s: %w", SafeText(r.ExternalID, 40), err))
	}
	id := SafeText(r.ExternalID, 40)
	switch {
	case currency == "":
		return nil // no such property: the applier reports it
	case b.Action == canonical.ChannelCancel && status == "":
		// A booking accepted moments ago may still be on its way to the
		// store: its cancellation is applied after it, not refused.
		if accepted, err := wasAccepted(ctx, res, connector, b); err != nil {
			return Retryable(err)
		} else if accepted {
			return nil
		}
		return Permanent(fmt.Errorf("cancellation of reservation %s: %w", id, ErrBookingUnknown))
	case b.Action == canonical.ChannelCancel:
		return nil
	case status.Final():
		return Permanent(fmt.Errorf("reservation %s is %s: %w; send a new reservation under a new id", id, status, ErrBookingFinal))
	}
	// A cancellation accepted moments ago may still be on its way to the
	// store: a change arriving behind it is refused as it will be once the
	// cancellation is applied.
	if cancelled, err := wasCancelled(ctx, res, connector, b); err != nil {
		return Retryable(err)
	} else if cancelled {
		return Permanent(fmt.Errorf("reservation %s is %s: %w; send a new reservation under a new id", id, canonical.StatusCancelled, ErrBookingFinal))
	}
	if got := bookingCurrency(&r); got != "" && got != currency {
		return Permanent(fmt.Errorf("reservation %s is in %s but the hotel sells in %s: %w", id, got, currency, ErrCurrencyMismatch))
	}
	return nil
}

// The receipts of accepted messages, in the partner's own codes (the
// messages that follow come in the same codes): one that a booking was
// accepted, one that its cancellation was.
func acceptedKey(b canonical.ChannelBooking) string {
	return "accepted:" + b.Reservation.PropertyID + "/" + b.Reservation.ExternalID
}

func cancelledKey(b canonical.ChannelBooking) string {
	return "cancelled:" + b.Reservation.PropertyID + "/" + b.Reservation.ExternalID
}

// RecordAccepted remembers that a receiver accepted b (made it durable and
// answered Success), so that CheckApplicable judges the messages that follow
// b as it will once b has reached the store: a cancellation arriving before
// its booking is applied is taken, and a change arriving before its
// booking's cancellation is applied is refused. Call it after b is delivered
// and before answering: when it fails (a retryable error, after a few quick
// tries that ride out a cut database connection), refuse the message as
// retryable. The partner sends it again, the repeat is the same message to
// the router, and the receipt is written then; answering Success without it
// would let the partner's next message be refused wrongly.
func RecordAccepted(ctx context.Context, res Resources, connector string, b canonical.ChannelBooking) error {
	if res.Receipts == nil {
		return nil
	}
	key := acceptedKey(b)
	if b.Action == canonical.ChannelCancel {
		key = cancelledKey(b)
	}
	var err error
	for wait := 25 * time.Millisecond; ; wait *= 2 {
		if err = res.Receipts.Record(ctx, connector, key); err == nil {
			return nil
		}
		if wait > 800*time.Millisecond {
			break
		}
		select {
		case <-ctx.Done():
			return Retryable(fmt.Errorf("record the accepted message: %w", ctx.Err()))
		case <-time.After(wait):
		}
	}
	return Retryable(fmt.Errorf("record the accepted message: %w", err))
}

// wasAccepted reports whether b's booking was accepted.
func wasAccepted(ctx context.Context, res Resources, connector string, b canonical.ChannelBooking) (bool, error) {
	return seen(ctx, res, connector, acceptedKey(b))
}

// wasCancelled reports whether a cancellation of b's booking was accepted.
func wasCancelled(ctx context.Context, res Resources, connector string, b canonical.ChannelBooking) (bool, error) {
	return seen(ctx, res, connector, cancelledKey(b))
}

func seen(ctx context.Context, res Resources, connector, key string) (bool, error) {
	if res.Receipts == nil {
		return false, nil
	}
	return res.Receipts.Seen(ctx, connector, key)
}

// bookingCurrency is the currency of a booking's total, else of its first
// nightly price.
func bookingCurrency(r *canonical.Reservation) string {
	if r.Total.Currency != "" {
		return r.Total.Currency
	}
	for _, s := range r.RoomStays {
		for _, n := range s.NightlyPrices {
			return n.Price.Currency
		}
	}
	return ""
}

// SecretEqual compares two secrets in constant time, whatever their lengths.
func SecretEqual(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// BasicAuthorized reports whether r carries HTTP basic auth with user and
// password, compared in constant time. An empty user authorizes nobody: a
// receiver with no credentials configured is closed, not open.
func BasicAuthorized(r *http.Request, user, password string) bool {
	u, p, ok := r.BasicAuth()
	return ok && user != "" && SecretEqual(u, user) && SecretEqual(p, password)
}
