package reservations

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// ARIRange names the nights From..To (inclusive) of a room type or a rate
// plan. An empty code means every one.
type ARIRange struct {
	RoomType, RatePlan string
	From, To           canonical.Date
}

// ARIQuery is what to read of a property's ARI: the availability of room
// types, and the restrictions and rates of room types or rate plans.
type ARIQuery struct {
	Availability, Restrictions, Rates []ARIRange
	// Channel, when set, has the channel's availability rules at the
	// property read too (NightlyARI.Rules), in the same round trip.
	Channel string
}

// NightlyARI is a property's availability, restrictions and rates, one entry
// per night (and room type, or rate plan), in no particular order.
type NightlyARI struct {
	Availability []NightAvailable
	Restrictions []NightRestrictions
	Rates        []NightRate
	// Rules are the availability rules of ARIQuery.Channel (none: empty).
	Rules canonical.ChannelRules
}

// NightAvailable is what a room type has left to sell on one night.
type NightAvailable struct {
	RoomType  string
	Night     canonical.Date
	Available int
}

// NightRestrictions are a rate plan's restrictions on one night, all of them.
type NightRestrictions struct {
	RoomType, RatePlan string
	Night              canonical.Date
	canonical.Restrictions
}

// NightRate is a rate plan's price on one night.
type NightRate struct {
	RoomType, RatePlan string
	Night              canonical.Date
	Rate               canonical.Rate
}

// ARISnapshot reads what q asks of a property as it stands now: the units
// left per room type and night (sellable less sold, never below zero, every
// night listed), the restrictions and rates of the nights that have them,
// and the channel's availability rules when q names one. It reads all of it
// in one round trip on one connection. A property outside scope, or
// unknown, is ErrNotFound.
func (s *Store) ARISnapshot(ctx context.Context, scope Scope, propertyID string, q ARIQuery) (*NightlyARI, error) {
	if !scope.Allows(propertyID) {
		return nil, notFound("property", propertyID)
	}
	if _, err := s.catalog.get(ctx, s.pool, propertyID); err != nil {
		return nil, err
	}
	out := &NightlyARI{}
	b := &pgx.Batch{}
	if len(q.Availability) > 0 {
		// The exact nights asked for, not the span from the first to the
		// last: a push that covers a few bookings spread over the year reads
		// a few rows, not a year of them.
		codes, nights := nightsOf(q.Availability)
		var n NightAvailable
		var night time.Time
		b.Queue(`
			SELECT DISTINCT rt.code, t.night, greatest(coalesce(i.units_sellable, rt.units) - coalesce(i.units_sold, 0), 0)
			FROM unnest($2::text[], $3::date[]) AS t(code, night)
			JOIN room_types rt ON rt.property_id = $1 AND (t.code = '' OR rt.code = t.code)
			LEFT JOIN inventory i ON i.property_id = $1 AND i.room_type = rt.code AND i.night = t.night`,
			propertyID, codes, nights).
			Query(func(rows pgx.Rows) error {
				_, err := pgx.ForEachRow(rows, []any{&n.RoomType, &night, &n.Available}, func() error {
					n.Night = canonical.DateOf(night)
					out.Availability = append(out.Availability, n)
					return nil
				})
				if err != nil {
					return fmt.Errorf("availability of %s: %w", propertyID, err)
				}
				return nil
			})
	}
	if len(q.Restrictions) > 0 {
		from, to, plans := spanOf(q.Restrictions, func(r ARIRange) string { return r.RatePlan })
		var n NightRestrictions
		var night time.Time
		b.Queue(`
			SELECT rp.room_type, x.rate_plan, x.night, x.stop_sell, x.closed_to_arrival, x.closed_to_departure, x.min_stay, x.min_stay_through, x.max_stay
			FROM restrictions x JOIN rate_plans rp ON rp.property_id = x.property_id AND rp.code = x.rate_plan
			WHERE x.property_id = $1 AND x.night BETWEEN $2 AND $3 AND ($4::text[] IS NULL OR x.rate_plan = ANY($4))`,
			propertyID, from.Time(), to.Time(), plans).
			Query(func(rows pgx.Rows) error {
				_, err := pgx.ForEachRow(rows, []any{&n.RoomType, &n.RatePlan, &night, &n.StopSell, &n.ClosedToArrival, &n.ClosedToDeparture,
					&n.MinStay, &n.MinStayThrough, &n.MaxStay}, func() error {
					n.Night = canonical.DateOf(night)
					if covered(q.Restrictions, n.RoomType, n.RatePlan, n.Night) {
						out.Restrictions = append(out.Restrictions, n)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("restrictions of %s: %w", propertyID, err)
				}
				return nil
			})
	}
	if len(q.Rates) > 0 {
		from, to, plans := spanOf(q.Rates, func(r ARIRange) string { return r.RatePlan })
		var n NightRate
		var night time.Time
		var amount int64
		var currency string
		var detail []byte
		b.Queue(`
			SELECT rp.room_type, r.rate_plan, r.night, r.amount, r.currency, r.rate
			FROM rates r JOIN rate_plans rp ON rp.property_id = r.property_id AND rp.code = r.rate_plan
			WHERE r.property_id = $1 AND r.night BETWEEN $2 AND $3 AND ($4::text[] IS NULL OR r.rate_plan = ANY($4))`,
			propertyID, from.Time(), to.Time(), plans).
			Query(func(rows pgx.Rows) error {
				_, err := pgx.ForEachRow(rows, []any{&n.RoomType, &n.RatePlan, &night, &amount, &currency, &detail}, func() error {
					var err error
					if n.Rate, err = rateOf(amount, currency, detail); err != nil {
						return err
					}
					n.Night = canonical.DateOf(night)
					if covered(q.Rates, n.RoomType, n.RatePlan, n.Night) {
						out.Rates = append(out.Rates, n)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("rates of %s: %w", propertyID, err)
				}
				return nil
			})
	}
	if q.Channel != "" {
		out.Rules = canonical.ChannelRules{}
		b.Queue(`SELECT rules FROM channel_rules WHERE property_id = $1 AND channel = $2`, propertyID, q.Channel).
			Query(func(rows pgx.Rows) error {
				_, err := pgx.ForEachRow(rows, []any{&out.Rules}, func() error { return nil })
				if err != nil {
					return fmt.Errorf("rules of %s at %s: %w", q.Channel, propertyID, err)
				}
				return nil
			})
	}
	if b.Len() == 0 {
		return out, nil
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// spanOf returns the nights the ranges cover together, and the codes they
// name (nil when a range names none, meaning all).
func spanOf(ranges []ARIRange, code func(ARIRange) string) (from, to canonical.Date, codes []string) {
	all := false
	for i, r := range ranges {
		if i == 0 || r.From.Before(from) {
			from = r.From
		}
		if i == 0 || to.Before(r.To) {
			to = r.To
		}
		if c := code(r); c == "" {
			all = true
		} else {
			codes = append(codes, c)
		}
	}
	if all {
		codes = nil
	}
	return from, to, codes
}

// nightsOf lists every room type and night the ranges name, each once (an
// empty room type stands for all of them).
func nightsOf(ranges []ARIRange) (codes []string, nights []time.Time) {
	type pair struct {
		code  string
		night canonical.Date
	}
	seen := map[pair]bool{}
	for _, r := range ranges {
		for d := r.From; !r.To.Before(d); d = d.AddDays(1) {
			if p := (pair{r.RoomType, d}); !seen[p] {
				seen[p] = true
				codes = append(codes, r.RoomType)
				nights = append(nights, d.Time())
			}
		}
	}
	return codes, nights
}

// covered reports whether some range covers a room type's (or rate plan's) night.
func covered(ranges []ARIRange, roomType, ratePlan string, night canonical.Date) bool {
	for _, r := range ranges {
		if (r.RoomType == "" || r.RoomType == roomType) && (r.RatePlan == "" || r.RatePlan == ratePlan) &&
			!night.Before(r.From) && !r.To.Before(night) {
			return true
		}
	}
	return false
}
