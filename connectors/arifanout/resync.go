package arifanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
)

// snapshot reads what q asks of a property from the store, one row per
// night, each value in the form the channel's memory of acknowledged values
// compares; availability is limited by the rules of q.Channel, if any.
func snapshot(ctx context.Context, store *reservations.Store, property string, q reservations.ARIQuery) ([]pendingRow, error) {
	ari, err := store.ARISnapshot(ctx, reservations.AllProperties, property, q)
	if err != nil {
		return nil, err
	}
	var rows []pendingRow
	add := func(kind, roomType, ratePlan string, night canonical.Date, v any) error {
		b, err := json.Marshal(v)
		rows = append(rows, pendingRow{kind: kind, roomType: roomType, ratePlan: ratePlan, night: night, value: b})
		return err
	}
	for _, n := range ari.Availability {
		available := n.Available
		if len(ari.Rules) > 0 {
			available = ari.Rules.Available(n.RoomType, available)
		}
		if err := add("availability", n.RoomType, "", n.Night, available); err != nil {
			return nil, err
		}
	}
	for _, n := range ari.Restrictions {
		if err := add("restrictions", n.RoomType, n.RatePlan, n.Night, n.Restrictions); err != nil {
			return nil, err
		}
	}
	for _, n := range ari.Rates {
		if err := add("rate", n.RoomType, n.RatePlan, n.Night, n.Rate); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// Snapshot reads a property's availability, restrictions and rates for the nights
// from..to (inclusive) from the reservation store.
func Snapshot(ctx context.Context, store *reservations.Store, property string, from, to canonical.Date) (canonical.ARIUpdate, error) {
	u := canonical.ARIUpdate{PropertyID: property}
	if to.Before(from) || from.DaysUntil(to) > 3*366 {
		return u, fmt.Errorf("arifanout: %s to %s is not a range of at most %d nights", from, to, 3*366)
	}
	all := []reservations.ARIRange{{From: from, To: to}}
	rows, err := snapshot(ctx, store, property, reservations.ARIQuery{Availability: all, Restrictions: all, Rates: all})
	if errors.Is(err, reservations.ErrNotFound) {
		return u, connectors.Permanent(fmt.Errorf("arifanout: no property %q", property))
	}
	if err != nil {
		return u, fmt.Errorf("arifanout: %w", err)
	}
	return toUpdate(property, rows)
}

// Resync pushes a property's full availability, restrictions and rates for
// from..to, read from the store, to one channel, mapped to its codes and
// limited by its availability rules. It is what `roomwire ari resync` runs,
// for a channel that lost track.
func Resync(ctx context.Context, store *reservations.Store, mappings *connectors.Mappings, rules canonical.ChannelRules, p connectors.ARIPusher, property string, from, to canonical.Date) (canonical.ARIUpdate, error) {
	u, err := Snapshot(ctx, store, property, from, to)
	if err != nil {
		return u, err
	}
	u = rules.Apply(u)
	f := &Fanout{mappings: mappings, logger: slog.New(slog.DiscardHandler)}
	f.cfg.setDefaults()
	return u, f.push(ctx, p, u)
}
