package arifanout

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// snapshotScope is what to read of a property: availability of room types,
// restrictions and rates of room types or rate plans, each over a range of
// nights. An empty code means all.
type snapshotScope struct {
	availability, restrictions, rates []scopeEntry
}

type scopeEntry struct {
	roomType, ratePlan string
	from, to           canonical.Date
}

func (s *snapshotScope) add(list *[]scopeEntry, roomType, ratePlan string, from, to canonical.Date) {
	*list = append(*list, scopeEntry{roomType: roomType, ratePlan: ratePlan, from: from, to: to})
}

// span returns the nights every entry covers together, and the codes named
// (nil when an entry names none, meaning all).
func span(entries []scopeEntry, code func(scopeEntry) string) (from, to canonical.Date, codes []string) {
	all := false
	for i, e := range entries {
		if i == 0 || e.from.Before(from) {
			from = e.from
		}
		if i == 0 || to.Before(e.to) {
			to = e.to
		}
		if c := code(e); c == "" {
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

// covers reports whether some entry covers the row.
func covers(entries []scopeEntry, r pendingRow) bool {
	for _, e := range entries {
		if (e.roomType == "" || e.roomType == r.roomType) && (e.ratePlan == "" || e.ratePlan == r.ratePlan) &&
			!r.night.Before(e.from) && !e.to.Before(r.night) {
			return true
		}
	}
	return false
}

// snapshot reads what scope asks of a property's availability (units
// sellable less units sold, per room type and night) and rates from the
// reservation store, one row per night.
func snapshot(ctx context.Context, pool *pgxpool.Pool, property string, scope snapshotScope) ([]pendingRow, error) {
	var rows []pendingRow
	if len(scope.availability) > 0 {
		from, to, codes := span(scope.availability, func(e scopeEntry) string { return e.roomType })
		rs, _ := pool.Query(ctx, `
			SELECT rt.code, d::date, greatest(coalesce(i.units_sellable, rt.units) - coalesce(i.units_sold, 0), 0)::text
			FROM room_types rt
			CROSS JOIN generate_series($2::date, $3::date, interval '1 day') d
			LEFT JOIN inventory i ON i.property_id = rt.property_id AND i.room_type = rt.code AND i.night = d::date
			WHERE rt.property_id = $1 AND ($4::text[] IS NULL OR rt.code = ANY($4))`, property, from.Time(), to.Time(), codes)
		var code, value string
		var night time.Time
		if _, err := pgx.ForEachRow(rs, []any{&code, &night, &value}, func() error {
			r := pendingRow{kind: "availability", roomType: code, night: canonical.DateOf(night), value: []byte(value)}
			if covers(scope.availability, r) {
				rows = append(rows, r)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("availability of %s: %w", property, err)
		}
	}
	if len(scope.restrictions) > 0 {
		from, to, plans := span(scope.restrictions, func(e scopeEntry) string { return e.ratePlan })
		rs, _ := pool.Query(ctx, `
			SELECT rp.room_type, x.rate_plan, x.night, x.stop_sell, x.closed_to_arrival, x.closed_to_departure, x.min_stay, x.min_stay_through, x.max_stay
			FROM restrictions x JOIN rate_plans rp ON rp.property_id = x.property_id AND rp.code = x.rate_plan
			WHERE x.property_id = $1 AND x.night BETWEEN $2 AND $3 AND ($4::text[] IS NULL OR x.rate_plan = ANY($4))`,
			property, from.Time(), to.Time(), plans)
		var roomType, plan string
		var night time.Time
		var x restrictions
		if _, err := pgx.ForEachRow(rs, []any{&roomType, &plan, &night, &x.StopSell, &x.ClosedToArrival, &x.ClosedToDeparture, &x.MinStay, &x.MinStayThrough, &x.MaxStay}, func() error {
			v, err := json.Marshal(x)
			if err != nil {
				return err
			}
			r := pendingRow{kind: "restrictions", roomType: roomType, ratePlan: plan, night: canonical.DateOf(night), value: v}
			if covers(scope.restrictions, r) {
				rows = append(rows, r)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("restrictions of %s: %w", property, err)
		}
	}
	if len(scope.rates) > 0 {
		from, to, plans := span(scope.rates, func(e scopeEntry) string { return e.ratePlan })
		rs, _ := pool.Query(ctx, `
			SELECT rp.room_type, r.rate_plan, r.night, r.amount, r.currency, r.rate
			FROM rates r JOIN rate_plans rp ON rp.property_id = r.property_id AND rp.code = r.rate_plan
			WHERE r.property_id = $1 AND r.night BETWEEN $2 AND $3 AND ($4::text[] IS NULL OR r.rate_plan = ANY($4))`,
			property, from.Time(), to.Time(), plans)
		var roomType, plan, currency string
		var night time.Time
		var amount int64
		var detail []byte
		if _, err := pgx.ForEachRow(rs, []any{&roomType, &plan, &night, &amount, &currency, &detail}, func() error {
			// The rate's detail (prices by occupancy, extras) when it has
			// one, else its one amount.
			v := detail
			if len(v) == 0 {
				var err error
				if v, err = json.Marshal(canonical.Rate{Price: canonical.NewMoney(amount, currency)}); err != nil {
					return err
				}
			}
			r := pendingRow{kind: "rate", roomType: roomType, ratePlan: plan, night: canonical.DateOf(night), value: v}
			if covers(scope.rates, r) {
				rows = append(rows, r)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("rates of %s: %w", property, err)
		}
	}
	return rows, nil
}

// Snapshot reads a property's availability, restrictions and rates for the nights
// from..to (inclusive) from the reservation store.
func Snapshot(ctx context.Context, pool *pgxpool.Pool, property string, from, to canonical.Date) (canonical.ARIUpdate, error) {
	u := canonical.ARIUpdate{PropertyID: property}
	if to.Before(from) || from.DaysUntil(to) > 3*366 {
		return u, fmt.Errorf("arifanout: %s to %s is not a range of at most %d nights", from, to, 3*366)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM properties WHERE id = $1)`, property).Scan(&exists); err != nil {
		return u, err
	} else if !exists {
		return u, connectors.Permanent(fmt.Errorf("arifanout: no property %q", property))
	}
	all := []scopeEntry{{from: from, to: to}}
	rows, err := snapshot(ctx, pool, property, snapshotScope{availability: all, restrictions: all, rates: all})
	if err != nil {
		return u, fmt.Errorf("arifanout: %w", err)
	}
	return toUpdate(property, rows)
}

// Resync pushes a property's full availability, restrictions and rates for
// from..to, read from the store, to one channel, mapped to its codes and
// limited by its availability rules. It is what `roomwire ari resync` runs,
// for a channel that lost track.
func Resync(ctx context.Context, pool *pgxpool.Pool, mappings *connectors.Mappings, rules canonical.ChannelRules, p connectors.ARIPusher, property string, from, to canonical.Date) (canonical.ARIUpdate, error) {
	u, err := Snapshot(ctx, pool, property, from, to)
	if err != nil {
		return u, err
	}
	u = rules.Apply(u)
	f := &Fanout{mappings: mappings, logger: slog.New(slog.DiscardHandler)}
	f.cfg.setDefaults()
	return u, f.push(ctx, p, u)
}
