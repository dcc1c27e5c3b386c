package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/router"
)

// Applier applies inbound messages to the reservation store. It is
// idempotent, as the store's channel bookings are: a redelivered message
// changes nothing.
type Applier struct {
	store    *reservations.Store
	mappings *connectors.Mappings
	links    *connectors.Links
	logger   *slog.Logger
}

// NewApplier returns an applier writing to store, mapping codes with mappings
// and recording partner ids in links.
func NewApplier(store *reservations.Store, mappings *connectors.Mappings, links *connectors.Links, logger *slog.Logger) *Applier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Applier{store: store, mappings: mappings, links: links, logger: logger}
}

// Handle is a Watermill handler (message.NoPublishHandlerFunc) for the
// inbound topics. Its errors are classified: unmapped codes and bad messages
// are permanent, so the router dead-letters them; others are retryable.
func (a *Applier) Handle(msg *message.Message) error {
	ctx := msg.Context()
	if c := msg.Metadata.Get(router.MetadataCorrelationID); c != "" && canonical.CorrelationID(ctx) == "" {
		ctx = canonical.WithCorrelationID(ctx, c)
	}
	e, err := Decode(msg.Payload)
	if err != nil {
		return err
	}
	res, err := a.apply(ctx, e)
	if res != nil {
		// The message now belongs to the reservation's timeline.
		msg.Metadata.Set(router.MetadataReservationID, res.ID)
		msg.Metadata.Set(router.MetadataPropertyID, res.PropertyID)
	}
	return err
}

var _ message.NoPublishHandlerFunc = (*Applier)(nil).Handle

// Apply maps and applies one inbound message.
func (a *Applier) Apply(ctx context.Context, e *Envelope) error {
	_, err := a.apply(ctx, e)
	return err
}

// apply is Apply, also returning the reservation a booking was applied to.
func (a *Applier) apply(ctx context.Context, e *Envelope) (*canonical.Reservation, error) {
	set, err := a.mappings.Set(ctx, e.Connector)
	if err != nil {
		return nil, connectors.Retryable(err)
	}
	log := a.logger.With("connector", e.Connector, "correlation_id", canonical.CorrelationID(ctx))
	switch {
	case e.Booking != nil:
		b := *e.Booking
		if b.Connector == "" {
			b.Connector = e.Connector
		}
		if b.Reservation.ConfirmationNumber == "" {
			// The reference the channel was told on delivery, derived from its
			// own codes, so that guest, channel and hotel quote one number.
			b.Reservation.ConfirmationNumber = connectors.ConfirmationReference(e.Connector, b.Reservation.PropertyID, b.Reservation.ExternalID)
		}
		// Card data never reaches the store, whichever way the booking came.
		if _, err := connectors.GuardBooking(&b, connectors.CardDrop); err != nil {
			return nil, err
		}
		if err := set.MapBooking(&b); err != nil {
			return nil, err
		}
		if b.Action == canonical.ChannelStatus {
			return a.applyStatus(ctx, b)
		}
		res, outcome, err := a.store.ApplyChannelBooking(ctx, b)
		if err != nil {
			return nil, classifyStoreError(fmt.Errorf("apply %s booking %s: %w", e.Connector, connectors.SafeText(b.Reservation.ExternalID, 64), err))
		}
		if err := a.links.Put(ctx, connectors.Link{Connector: e.Connector, ReservationID: res.ID,
			PartnerIDs: []string{b.Reservation.ExternalID}, SyncedVersion: res.Version, Origin: connectors.OriginPartner}); err != nil {
			return res, connectors.Retryable(err)
		}
		log.InfoContext(ctx, "applied channel booking", "property", res.PropertyID, "reservation_id", res.ID,
			"outcome", string(outcome), "version", res.Version)
		return res, nil
	case e.ARI != nil:
		u := *e.ARI
		if err := set.MapARI(&u); err != nil {
			return nil, err
		}
		if err := a.store.ApplyPartnerARI(ctx, u); err != nil {
			return nil, classifyStoreError(fmt.Errorf("apply %s ARI for %s: %w", e.Connector, u.PropertyID, err))
		}
		log.InfoContext(ctx, "applied ARI update", "property", u.PropertyID,
			"availability", len(u.Availability), "rates", len(u.Rates), "restrictions", len(u.Restrictions))
		return nil, nil
	}
	return nil, connectors.Permanent(errors.New("inbound: empty message"))
}

// applyStatus applies the status a PMS set on a reservation Roomwire made
// there, by the lifecycle's rules, and records that the PMS has that
// version, so the change is not sent back to it.
func (a *Applier) applyStatus(ctx context.Context, b canonical.ChannelBooking) (*canonical.Reservation, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	id, status := b.Reservation.ID, b.Reservation.Status
	res, err := a.store.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
		r.Status = status
		return nil
	})
	if err != nil {
		return nil, classifyStoreError(fmt.Errorf("apply %s status %s to reservation %s: %w", b.Connector, status, id, err))
	}
	link, err := a.links.Get(ctx, b.Connector, id)
	switch {
	case errors.Is(err, connectors.ErrNoLink):
	case err != nil:
		return res, connectors.Retryable(err)
	case link.SyncedVersion < res.Version:
		link.SyncedVersion = res.Version
		if err := a.links.Put(ctx, *link); err != nil {
			return res, connectors.Retryable(err)
		}
	}
	a.logger.InfoContext(ctx, "applied status from the PMS", "connector", b.Connector, "reservation_id", id,
		"status", string(status), "version", res.Version, "correlation_id", canonical.CorrelationID(ctx))
	return res, nil
}

// classifyStoreError marks the store's refusals permanent; anything else
// (a lost connection, a timeout) stays retryable.
func classifyStoreError(err error) error {
	switch {
	case errors.Is(err, reservations.ErrNotFound), errors.Is(err, reservations.ErrIdempotencyConflict),
		errors.Is(err, reservations.ErrInvalidState), errors.Is(err, reservations.ErrForbidden):
		return connectors.Permanent(err)
	}
	return err // validation errors are permanent by ClassOf; others retryable
}
