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

// Snapshot reads a property's availability (units sellable less units sold,
// per room type and night) and rates for the nights from..to (inclusive)
// from the reservation store. The store has no call for per-night
// availability yet, so this reads its inventory tables.
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
	var rows []pendingRow
	rs, _ := pool.Query(ctx, `
		SELECT rt.code, d::date, greatest(coalesce(i.units_sellable, rt.units) - coalesce(i.units_sold, 0), 0)::text
		FROM room_types rt
		CROSS JOIN generate_series($2::date, $3::date, interval '1 day') d
		LEFT JOIN inventory i ON i.property_id = rt.property_id AND i.room_type = rt.code AND i.night = d::date
		WHERE rt.property_id = $1 ORDER BY 1, 2`, property, from.Time(), to.Time())
	var code, value string
	var night time.Time
	if _, err := pgx.ForEachRow(rs, []any{&code, &night, &value}, func() error {
		rows = append(rows, pendingRow{kind: "availability", roomType: code, night: canonical.DateOf(night), value: []byte(value)})
		return nil
	}); err != nil {
		return u, fmt.Errorf("arifanout: availability of %s: %w", property, err)
	}
	rs, _ = pool.Query(ctx, `
		SELECT rp.room_type, r.rate_plan, r.night, json_build_object('amount', r.amount, 'currency', r.currency)::text
		FROM rates r JOIN rate_plans rp ON rp.property_id = r.property_id AND rp.code = r.rate_plan
		WHERE r.property_id = $1 AND r.night BETWEEN $2 AND $3 ORDER BY 1, 2, 3`, property, from.Time(), to.Time())
	var roomType string
	if _, err := pgx.ForEachRow(rs, []any{&roomType, &code, &night, &value}, func() error {
		rows = append(rows, pendingRow{kind: "rate", roomType: roomType, ratePlan: code, night: canonical.DateOf(night), value: []byte(value)})
		return nil
	}); err != nil {
		return u, fmt.Errorf("arifanout: rates of %s: %w", property, err)
	}
	// Rates are stored in minor units; render them as Money's JSON form.
	for i := range rows {
		if rows[i].kind != "rate" {
			continue
		}
		var raw struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		}
		if err := json.Unmarshal(rows[i].value, &raw); err != nil {
			return u, err
		}
		b, _ := json.Marshal(canonical.NewMoney(raw.Amount, raw.Currency))
		rows[i].value = b
	}
	return toUpdate(property, rows)
}

// Resync pushes a property's full availability and rates for from..to, read
// from the store, to one channel, mapped to its codes. It is what
// `roomwire ari resync` runs, for a channel that lost track.
func Resync(ctx context.Context, pool *pgxpool.Pool, mappings *connectors.Mappings, p connectors.ARIPusher, property string, from, to canonical.Date) (canonical.ARIUpdate, error) {
	u, err := Snapshot(ctx, pool, property, from, to)
	if err != nil {
		return u, err
	}
	f := &Fanout{mappings: mappings, logger: slog.New(slog.DiscardHandler)}
	f.cfg.setDefaults()
	return u, f.push(ctx, p, u)
}
