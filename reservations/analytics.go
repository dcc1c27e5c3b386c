package reservations

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// AnalyticsGrouping splits a property's figures.
type AnalyticsGrouping string

// The groupings: none (totals only), per night, per channel, per room type.
const (
	GroupNone     AnalyticsGrouping = ""
	GroupDay      AnalyticsGrouping = "day"
	GroupChannel  AnalyticsGrouping = "channel"
	GroupRoomType AnalyticsGrouping = "room_type"
)

// MaxAnalyticsNights bounds the period of one analytics query: two years.
const MaxAnalyticsNights = 731

// AnalyticsQuery asks for a property's figures over the nights From..To,
// both included.
type AnalyticsQuery struct {
	PropertyID string
	From, To   canonical.Date
	GroupBy    AnalyticsGrouping
}

// Analytics are a property's figures over a period of nights.
//
// Rooms available are the property's rooms (each room type's units) times the
// nights; rooms sold are the room nights of reservations that hold rooms
// (confirmed, checked in or out). Revenue is the sum of those room nights'
// prices in the property's currency; ADR is revenue per room sold and RevPAR
// revenue per room available, both rounded down to the minor unit.
// Occupancy is rooms sold over rooms available (above 1 when overbooked).
type Analytics struct {
	PropertyID string            `json:"property_id"`
	From       canonical.Date    `json:"from"`
	To         canonical.Date    `json:"to"`
	Currency   string            `json:"currency"`
	GroupBy    AnalyticsGrouping `json:"group_by,omitempty"`
	Totals     AnalyticsFigures  `json:"totals"`
	// Groups split the totals by GroupBy, sorted by key. Grouped by channel,
	// every group's rooms available are the property's, so that the
	// groups' occupancies add up to the total.
	Groups []AnalyticsGroup `json:"groups,omitempty"`
	// Pickup is what was booked during the period, whatever the nights.
	Pickup Pickup `json:"pickup"`
	// ChannelMix is each channel's share of the rooms sold in the period.
	ChannelMix []ChannelShare `json:"channel_mix"`
}

// AnalyticsFigures are the figures of a period, or of one group of it.
type AnalyticsFigures struct {
	RoomsAvailable int64           `json:"rooms_available"`
	RoomsSold      int64           `json:"rooms_sold"`
	Occupancy      float64         `json:"occupancy"`
	ADR            canonical.Money `json:"adr"`
	RevPAR         canonical.Money `json:"revpar"`
	Revenue        canonical.Money `json:"revenue"`
	// Cancellations and NoShows count reservations with a night in the
	// group that were cancelled or did not show; the room nights are theirs
	// within the group.
	Cancellations       int64 `json:"cancellations"`
	CancelledRoomNights int64 `json:"cancelled_room_nights"`
	NoShows             int64 `json:"no_shows"`
	NoShowRoomNights    int64 `json:"no_show_room_nights"`
}

// AnalyticsGroup is one group's figures: a night (YYYY-MM-DD), a channel or
// a room type code.
type AnalyticsGroup struct {
	Key string `json:"key"`
	AnalyticsFigures
}

// Pickup is the reservations made during the period (by their creation day
// in the property's time zone) that still hold rooms, with all their room
// nights and revenue, and those made then and cancelled since.
type Pickup struct {
	Reservations  int64           `json:"reservations"`
	RoomNights    int64           `json:"room_nights"`
	Revenue       canonical.Money `json:"revenue"`
	Cancellations int64           `json:"cancellations"`
}

// ChannelShare is one channel's part of the rooms sold and revenue.
type ChannelShare struct {
	Channel   string          `json:"channel"`
	RoomsSold int64           `json:"rooms_sold"`
	Revenue   canonical.Money `json:"revenue"`
	Share     float64         `json:"share"` // of rooms sold, 0..1
}

func (q AnalyticsQuery) validate() error {
	var pr canonical.Problems
	okF := pr.CheckDate("from", q.From)
	okT := pr.CheckDate("to", q.To)
	if okF && okT {
		if n := q.From.DaysUntil(q.To) + 1; n < 1 {
			pr.Add("to", "must not be before from (%s)", q.From)
		} else if n > MaxAnalyticsNights {
			pr.Add("to", "a period of %d nights is longer than the %d allowed", n, MaxAnalyticsNights)
		}
	}
	switch q.GroupBy {
	case GroupNone, GroupDay, GroupChannel, GroupRoomType:
	default:
		pr.Add("group_by", "must be day, channel or room_type")
	}
	return pr.Err()
}

// analyticsTally adds up figures before the ratios are taken.
type analyticsTally struct {
	available, sold, cancelledNights, noShowNights int64
	revenue                                        int64
	cancelled, noShows                             map[string]bool // reservation ids
}

func (t *analyticsTally) figures(currency string) AnalyticsFigures {
	f := AnalyticsFigures{
		RoomsAvailable: t.available, RoomsSold: t.sold,
		Revenue:             canonical.NewMoney(t.revenue, currency),
		ADR:                 canonical.NewMoney(0, currency),
		RevPAR:              canonical.NewMoney(0, currency),
		Cancellations:       int64(len(t.cancelled)),
		CancelledRoomNights: t.cancelledNights,
		NoShows:             int64(len(t.noShows)),
		NoShowRoomNights:    t.noShowNights,
	}
	if t.available > 0 {
		f.Occupancy = float64(t.sold) / float64(t.available)
		f.RevPAR.Minor = t.revenue / t.available
	}
	if t.sold > 0 {
		f.ADR.Minor = t.revenue / t.sold
	}
	return f
}

func (t *analyticsTally) mark(set *map[string]bool, id string) {
	if *set == nil {
		*set = map[string]bool{}
	}
	(*set)[id] = true
}

// Analytics computes a property's figures from its room types and
// reservations. A property outside scope is not found.
func (s *Store) Analytics(ctx context.Context, scope Scope, q AnalyticsQuery) (*Analytics, error) {
	if !scope.Allows(q.PropertyID) {
		return nil, notFound("property", q.PropertyID)
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	prop, err := s.catalog.get(ctx, s.pool, q.PropertyID)
	if err != nil {
		return nil, err
	}
	exp, ok := canonical.CurrencyExponent(prop.Currency)
	if !ok {
		return nil, fmt.Errorf("property %s has an unknown currency %q", prop.ID, prop.Currency)
	}
	out := &Analytics{PropertyID: prop.ID, From: q.From, To: q.To, Currency: prop.Currency, GroupBy: q.GroupBy}
	total := &analyticsTally{}
	groups := map[string]*analyticsTally{}
	group := func(key string) *analyticsTally {
		g, ok := groups[key]
		if !ok {
			g = &analyticsTally{}
			groups[key] = g
		}
		return g
	}
	nights := int64(q.From.DaysUntil(q.To) + 1)
	for _, rt := range prop.RoomTypes {
		total.available += int64(rt.Units) * nights
		switch q.GroupBy {
		case GroupRoomType:
			group(rt.Code).available += int64(rt.Units) * nights
		case GroupDay:
			for d := q.From; !d.After(q.To); d = d.AddDays(1) {
				group(d.String()).available += int64(rt.Units)
			}
		}
	}

	// One read-only transaction, so that the figures and the pickup see the
	// same reservations. JIT compilation is off: the planner cannot tell
	// how few rows the JSON functions give, and would spend seconds
	// compiling a query that runs in milliseconds.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
		return nil, err
	}
	// One row per room night in the period; the price is converted to minor
	// units in the database so that no float touches money.
	rows, err := tx.Query(ctx, `
		SELECT r.id::text, r.channel, r.status, s.stay->>'room_type', n.night::date,
		       coalesce((SELECT (p->'price'->>'amount')::numeric * 10 ^ $4::int
		                 FROM jsonb_array_elements(s.stay->'nightly_prices') p
		                 WHERE p->>'date' = to_char(n.night, 'YYYY-MM-DD') AND p->'price'->>'currency' = $5
		                 LIMIT 1), 0)::bigint
		FROM reservations r
		CROSS JOIN LATERAL jsonb_array_elements(r.document->'room_stays') AS s(stay)
		CROSS JOIN LATERAL generate_series(greatest((s.stay->>'arrival')::date, $2::date),
		                                   least((s.stay->>'departure')::date - 1, $3::date), interval '1 day') AS n(night)
		WHERE r.property_id = $1 AND r.arrival <= $3::date AND r.departure > $2::date`,
		prop.ID, q.From.Time(), q.To.Time(), exp, prop.Currency)
	if err != nil {
		return nil, err
	}
	mix := map[string]*ChannelShare{}
	for rows.Next() {
		var id, channel, status, roomType string
		var night time.Time
		var amount int64
		if err := rows.Scan(&id, &channel, &status, &roomType, &night, &amount); err != nil {
			rows.Close()
			return nil, err
		}
		tallies := []*analyticsTally{total}
		switch q.GroupBy {
		case GroupDay:
			tallies = append(tallies, group(canonical.DateOf(night).String()))
		case GroupChannel:
			tallies = append(tallies, group(channel))
		case GroupRoomType:
			tallies = append(tallies, group(roomType))
		}
		st := canonical.Status(status)
		for _, t := range tallies {
			switch {
			case st.HoldsInventory():
				t.sold++
				t.revenue += amount
			case st == canonical.StatusCancelled:
				t.cancelledNights++
				t.mark(&t.cancelled, id)
			case st == canonical.StatusNoShow:
				t.noShowNights++
				t.mark(&t.noShows, id)
			}
		}
		if st.HoldsInventory() {
			c, ok := mix[channel]
			if !ok {
				c = &ChannelShare{Channel: channel, Revenue: canonical.NewMoney(0, prop.Currency)}
				mix[channel] = c
			}
			c.RoomsSold++
			c.Revenue.Minor += amount
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	out.Totals = total.figures(prop.Currency)
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		if q.GroupBy == GroupChannel {
			g.available = total.available
		}
		out.Groups = append(out.Groups, AnalyticsGroup{Key: k, AnalyticsFigures: g.figures(prop.Currency)})
	}
	out.ChannelMix = make([]ChannelShare, 0, len(mix))
	for _, c := range mix {
		if total.sold > 0 {
			c.Share = float64(c.RoomsSold) / float64(total.sold)
		}
		out.ChannelMix = append(out.ChannelMix, *c)
	}
	sort.Slice(out.ChannelMix, func(i, j int) bool {
		if out.ChannelMix[i].RoomsSold != out.ChannelMix[j].RoomsSold {
			return out.ChannelMix[i].RoomsSold > out.ChannelMix[j].RoomsSold
		}
		return out.ChannelMix[i].Channel < out.ChannelMix[j].Channel
	})

	out.Pickup, err = pickup(ctx, tx, prop, q, exp)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pickup counts the reservations created on the period's days, in the
// property's time zone.
func pickup(ctx context.Context, q querier, prop *Property, aq AnalyticsQuery, exp int) (Pickup, error) {
	loc, err := time.LoadLocation(prop.Timezone)
	if err != nil {
		loc = time.UTC
	}
	start := time.Date(aq.From.Year, aq.From.Month, aq.From.Day, 0, 0, 0, 0, loc)
	end := time.Date(aq.To.Year, aq.To.Month, aq.To.Day, 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	p := Pickup{Revenue: canonical.NewMoney(0, prop.Currency)}
	err = q.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status IN ('confirmed', 'checked_in', 'checked_out')),
		       coalesce(sum((SELECT count(*) FROM jsonb_array_elements(document->'room_stays') st,
		                     generate_series((st->>'arrival')::date, (st->>'departure')::date - 1, interval '1 day')))
		                FILTER (WHERE status IN ('confirmed', 'checked_in', 'checked_out')), 0),
		       coalesce(sum((document->'total'->>'amount')::numeric * 10 ^ $4::int)
		                FILTER (WHERE status IN ('confirmed', 'checked_in', 'checked_out') AND document->'total'->>'currency' = $5), 0)::bigint,
		       count(*) FILTER (WHERE status = 'cancelled')
		FROM reservations
		WHERE property_id = $1 AND created_at >= $2 AND created_at < $3`,
		prop.ID, start, end, exp, prop.Currency).Scan(&p.Reservations, &p.RoomNights, &p.Revenue.Minor, &p.Cancellations)
	return p, err
}
