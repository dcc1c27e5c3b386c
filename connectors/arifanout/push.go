package arifanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// Run runs every channel's pusher until ctx ends.
func (f *Fanout) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, name := range f.Channels() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.runChannel(ctx, name)
		}()
	}
	wg.Wait()
	return nil
}

func (f *Fanout) runChannel(ctx context.Context, name string) {
	f.mu.Lock()
	ch := f.channels[name]
	f.mu.Unlock()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		next, err := f.Flush(ctx, name, false)
		wait := f.cfg.PollInterval
		switch {
		case err != nil && ctx.Err() == nil:
			backoff = min(max(backoff*2, f.cfg.RetryMin), f.cfg.RetryMax)
			wait = backoff
			f.logger.WarnContext(ctx, "ARI push failed; will try again", "channel", name, "retry_in", backoff,
				"error", connectors.SafeText(err.Error(), 300))
		case err == nil:
			backoff = 0
			if !next.IsZero() {
				wait = min(wait, max(time.Until(next), time.Millisecond))
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-ch.wake:
			if backoff > 0 {
				<-t.C // a failing channel is not hammered by new changes
			}
		case <-t.C:
		}
		t.Stop()
	}
}

type pendingRow struct {
	kind, roomType, ratePlan string
	night                    canonical.Date
	value                    json.RawMessage
	seq                      int64
}

// Flush pushes channel's pending changes of every property with a change
// due (every property with anything pending when all is true). It returns
// when the next pending change falls due (zero if none), and the first error.
func (f *Fanout) Flush(ctx context.Context, name string, all bool) (time.Time, error) {
	cond := "due_at <= now()"
	if all {
		cond = "true"
	}
	rows, _ := f.pool.Query(ctx, `SELECT DISTINCT property_id FROM ari_pending WHERE channel = $1 AND `+cond, name)
	properties, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return time.Time{}, fmt.Errorf("arifanout: %w", err)
	}
	var errs []error
	for _, p := range properties {
		if err := f.pushProperty(ctx, name, p); err != nil {
			errs = append(errs, err)
		}
	}
	var next *time.Time
	if err := f.pool.QueryRow(ctx, `SELECT min(due_at) FROM ari_pending WHERE channel = $1`, name).Scan(&next); err != nil {
		errs = append(errs, err)
	}
	if next == nil {
		return time.Time{}, errors.Join(errs...)
	}
	return *next, errors.Join(errs...)
}

// pushProperty pushes everything pending of one property to one channel,
// holding the property's lock so that two processes never interleave its
// pushes, and removes the rows it sent.
func (f *Fanout) pushProperty(ctx context.Context, name, property string) error {
	f.mu.Lock()
	ch := f.channels[name]
	st := f.stats[name]
	f.mu.Unlock()
	if ch == nil {
		return fmt.Errorf("arifanout: no channel %s", name)
	}
	return pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended('ari:' || $1 || ':' || $2, 0))`, name, property).Scan(&locked); err != nil || !locked {
			return err // another process is pushing this property
		}
		rows, _ := tx.Query(ctx, `SELECT kind, room_type, rate_plan, night, value, seq FROM ari_pending
			WHERE channel = $1 AND property_id = $2 ORDER BY kind, room_type, rate_plan, night`, name, property)
		var list []pendingRow
		var night time.Time
		var r pendingRow
		_, err := pgx.ForEachRow(rows, []any{&r.kind, &r.roomType, &r.ratePlan, &night, &r.value, &r.seq}, func() error {
			r.night = canonical.DateOf(night)
			list = append(list, r)
			return nil
		})
		if err != nil || len(list) == 0 {
			return err
		}
		u, err := toUpdate(property, list)
		if err != nil {
			return err
		}
		pushErr := f.push(ctx, ch.pusher, u)
		f.mu.Lock()
		st.LastPush = time.Now()
		switch {
		case pushErr == nil:
			st.Pushes++
			st.LastErr = ""
		case connectors.IsRetryable(pushErr):
			st.Failures++
			st.LastErr = connectors.SafeText(pushErr.Error(), 300)
		default:
			st.Dropped += int64(len(list))
			st.LastErr = connectors.SafeText(pushErr.Error(), 300)
		}
		f.mu.Unlock()
		if connectors.IsRetryable(pushErr) {
			return pushErr
		}
		if pushErr != nil {
			// The channel refused the values for good; retrying cannot help,
			// and the next change of these nights is sent afresh.
			f.logger.ErrorContext(ctx, "channel refused ARI; dropped", "channel", name, "property", property,
				"entries", len(list), "error", connectors.SafeText(pushErr.Error(), 300))
		}
		kinds, rts, rps, nights, seqs := make([]string, len(list)), make([]string, len(list)), make([]string, len(list)), make([]time.Time, len(list)), make([]int64, len(list))
		for i, x := range list {
			kinds[i], rts[i], rps[i], nights[i], seqs[i] = x.kind, x.roomType, x.ratePlan, x.night.Time(), x.seq
		}
		_, err = tx.Exec(ctx, `DELETE FROM ari_pending p USING unnest($3::text[], $4::text[], $5::text[], $6::date[], $7::bigint[]) AS s(kind, room_type, rate_plan, night, seq)
			WHERE p.channel = $1 AND p.property_id = $2 AND p.kind = s.kind AND p.room_type = s.room_type
			AND p.rate_plan = s.rate_plan AND p.night = s.night AND p.seq = s.seq`,
			name, property, kinds, rts, rps, nights, seqs)
		return err
	})
}

// push maps u to the channel's codes and pushes it. A property the channel
// does not list, and room types and rate plans it does not sell, are skipped.
func (f *Fanout) push(ctx context.Context, p connectors.ARIPusher, u canonical.ARIUpdate) error {
	set, err := f.mappings.Set(ctx, p.Name())
	if err != nil {
		return connectors.Retryable(err)
	}
	out, skipped, err := connectors.ARIToPartner(set, u)
	if errors.Is(err, connectors.ErrPropertyNotListed) {
		return nil
	}
	if skipped > 0 {
		f.logger.DebugContext(ctx, "ARI entries the channel does not sell were skipped", "channel", p.Name(), "property", u.PropertyID, "skipped", skipped)
	}
	if len(out.Availability)+len(out.Restrictions)+len(out.Rates) == 0 {
		return nil
	}
	return p.PushARI(ctx, out)
}

// toUpdate turns pending rows (sorted by kind, codes and night) into runs
// of nights with the same value.
func toUpdate(property string, rows []pendingRow) (canonical.ARIUpdate, error) {
	u := canonical.ARIUpdate{PropertyID: property}
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].kind == rows[i].kind && rows[j].roomType == rows[i].roomType && rows[j].ratePlan == rows[i].ratePlan &&
			rows[j].night == rows[j-1].night.AddDays(1) && string(rows[j].value) == string(rows[i].value) {
			j++
		}
		r, from, to := rows[i], rows[i].night, rows[j-1].night
		var err error
		switch r.kind {
		case "availability":
			var n int
			err = json.Unmarshal(r.value, &n)
			u.Availability = append(u.Availability, canonical.AvailabilityUpdate{RoomType: r.roomType, From: from, To: to, Available: n})
		case "restrictions":
			var x restrictions
			err = json.Unmarshal(r.value, &x)
			u.Restrictions = append(u.Restrictions, canonical.RestrictionsUpdate{RoomType: r.roomType, RatePlan: r.ratePlan, From: from, To: to,
				Closed: x.Closed, ClosedToArrival: x.ClosedToArrival, ClosedToDeparture: x.ClosedToDeparture, MinStay: x.MinStay, MaxStay: x.MaxStay})
		case "rate":
			var m canonical.Money
			err = json.Unmarshal(r.value, &m)
			u.Rates = append(u.Rates, canonical.RateUpdate{RoomType: r.roomType, RatePlan: r.ratePlan, From: from, To: to, Price: m})
		}
		if err != nil {
			return u, fmt.Errorf("arifanout: pending %s of %s: %w", r.kind, property, err)
		}
		i = j
	}
	return u, nil
}
