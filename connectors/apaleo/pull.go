package apaleo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// Run pulls availability and rates of the configured properties every
// ARIInterval, for the next ARIDays days, until ctx ends. A failed pull is
// logged and tried again at the next interval.
func (c *Connector) Run(ctx context.Context, sink connectors.Sink) error {
	t := time.NewTicker(time.Duration(c.cfg.ARIInterval))
	defer t.Stop()
	for {
		from := canonical.DateOf(time.Now().UTC())
		for _, p := range c.cfg.Properties {
			if err := c.SyncARI(ctx, sink, p, from, from.AddDays(c.cfg.ARIDays-1)); err != nil && ctx.Err() == nil {
				c.Logger.WarnContext(ctx, "pulling availability and rates failed", "property", p, "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SyncARI pulls the availability of every unit group and the rates of every
// rate plan of an Apaleo property for the nights from..to (inclusive), and
// delivers them as one ARI update. Only unit groups and rate plans that are
// mapped are delivered: the mappings say what Roomwire sells.
func (c *Connector) SyncARI(ctx context.Context, sink connectors.Sink, property string, from, to canonical.Date) error {
	set, err := c.Res.Mappings.Set(ctx, c.Name())
	if err != nil {
		return connectors.Retryable(err)
	}
	roomwireProperty, err := set.ToRoomwire(connectors.KindProperty, "", property)
	if err != nil {
		return err
	}
	mapped := func(kind connectors.Kind, code string) bool {
		_, err := set.ToRoomwire(kind, roomwireProperty, code)
		return err == nil
	}
	q := url.Values{"propertyId": {property}, "from": {from.String()}, "to": {to.String()}}
	var avail UnitGroupAvailability
	if err := c.call(ctx, http.MethodGet, "/availability/v1/unit-groups?"+q.Encode(), "/availability/v1/unit-groups", nil, nil, &avail); err != nil {
		return fmt.Errorf("apaleo: availability of %s: %w", property, err)
	}
	u, err := AvailabilityToARI(property, &avail, func(unitGroup string) bool { return mapped(connectors.KindRoomType, unitGroup) })
	if err != nil {
		return err
	}
	var plans RatePlanList
	if err := c.call(ctx, http.MethodGet, "/rateplan/v1/rate-plans?"+url.Values{"propertyId": {property}}.Encode(), "/rateplan/v1/rate-plans", nil, nil, &plans); err != nil {
		return fmt.Errorf("apaleo: rate plans of %s: %w", property, err)
	}
	for _, rp := range plans.RatePlans {
		if !mapped(connectors.KindRatePlan, rp.ID) {
			continue
		}
		var rates RateList
		rq := url.Values{"from": {from.String()}, "to": {to.String()}}
		if err := c.call(ctx, http.MethodGet, "/rateplan/v1/rate-plans/"+url.PathEscape(rp.ID)+"/rates?"+rq.Encode(),
			"/rateplan/v1/rate-plans/{id}/rates", nil, nil, &rates); err != nil {
			return fmt.Errorf("apaleo: rates of %s: %w", rp.ID, err)
		}
		ru, rr, err := RatesToARI(rp, &rates)
		if err != nil {
			return err
		}
		u.Rates = append(u.Rates, ru...)
		u.Restrictions = append(u.Restrictions, rr...)
	}
	if u.Empty() {
		return nil
	}
	return sink.DeliverARI(ctx, *u)
}

// AvailabilityToARI translates unit-group availability into an ARI update in
// Apaleo's codes, as runs of nights with the same number of units left.
// Unit groups that keep rejects are left out.
func AvailabilityToARI(property string, a *UnitGroupAvailability, keep func(unitGroup string) bool) (*canonical.ARIUpdate, error) {
	var p canonical.Problems
	type night struct {
		date  canonical.Date
		avail int
	}
	byGroup := map[string][]night{}
	var order []string
	if len(a.TimeSlices) > 3*366 {
		return nil, connectors.Permanent(fmt.Errorf("apaleo availability: %d nights is more than the %d allowed", len(a.TimeSlices), 3*366))
	}
	for i, ts := range a.TimeSlices {
		d := parseDate(&p, fmt.Sprintf("timeSlices[%d].from", i), ts.From)
		for j, ug := range ts.UnitGroups {
			if ug.UnitGroup.ID == "" {
				p.Add(fmt.Sprintf("timeSlices[%d].unitGroups[%d].unitGroup.id", i, j), "is required")
				continue
			}
			if keep != nil && !keep(ug.UnitGroup.ID) {
				continue
			}
			if _, ok := byGroup[ug.UnitGroup.ID]; !ok {
				order = append(order, ug.UnitGroup.ID)
			}
			byGroup[ug.UnitGroup.ID] = append(byGroup[ug.UnitGroup.ID], night{d, max(ug.AvailableCount, 0)})
		}
	}
	if err := p.Err(); err != nil {
		return nil, connectors.Permanent(fmt.Errorf("apaleo availability: %w", err))
	}
	u := &canonical.ARIUpdate{PropertyID: property}
	for _, g := range order {
		for _, n := range byGroup[g] {
			if k := len(u.Availability) - 1; k >= 0 {
				last := &u.Availability[k]
				if last.RoomType == g && last.Available == n.avail && last.To.AddDays(1) == n.date {
					last.To = n.date
					continue
				}
			}
			u.Availability = append(u.Availability, canonical.AvailabilityUpdate{RoomType: g, From: n.date, To: n.date, Available: n.avail})
		}
	}
	return u, nil
}

// RatesToARI translates a rate plan's nightly rates into rate and
// restriction updates in Apaleo's codes, as runs of nights with the same
// value. Prices by adults (calculatedPrices) become prices by occupancy.
// Nights without a price (not sold) are left out of the rates; nights
// without restrictions, out of the restrictions.
func RatesToARI(rp RatePlan, rates *RateList) ([]canonical.RateUpdate, []canonical.RestrictionsUpdate, error) {
	var p canonical.Problems
	var out []canonical.RateUpdate
	var restr []canonical.RestrictionsUpdate
	var last canonical.Restrictions
	if len(rates.Rates) > 3*366 {
		return nil, nil, connectors.Permanent(fmt.Errorf("apaleo rates of %s: %d nights is more than the %d allowed", rp.ID, len(rates.Rates), 3*366))
	}
	for i, r := range rates.Rates {
		f := "rates[" + strconv.Itoa(i) + "]"
		d := parseDate(&p, f+".from", r.From)
		if x := r.Restrictions; x != nil {
			if x.MinLengthOfStay < 0 || x.MaxLengthOfStay < 0 || x.MinLengthOfStay > canonical.MaxStayNights || x.MaxLengthOfStay > canonical.MaxStayNights {
				p.Add(f+".restrictions", "lengths of stay must be 0 to %d", canonical.MaxStayNights)
				continue
			}
			v := canonical.Restrictions{StopSell: x.Closed, ClosedToArrival: x.ClosedOnArrival, ClosedToDeparture: x.ClosedOnDeparture,
				MinStay: x.MinLengthOfStay, MaxStay: x.MaxLengthOfStay}
			if k := len(restr) - 1; k >= 0 && last == v && restr[k].To.AddDays(1) == d {
				restr[k].To = d
			} else {
				restr = append(restr, v.Update(rp.UnitGroup.ID, rp.ID, d, d))
				last = v
			}
		}
		if r.Price == nil {
			continue
		}
		price, err := toMoney(r.Price)
		if err != nil {
			p.Add(f+".price", "%v", err)
			continue
		}
		rate := canonical.Rate{Price: price}
		for j, cp := range r.CalculatedPrices {
			m, err := toMoney(&cp.Price)
			if err != nil || cp.Adults < 1 || cp.Adults > canonical.MaxGuestsInRoom {
				p.Add(fmt.Sprintf("%s.calculatedPrices[%d]", f, j), "is not a price for 1 to %d adults", canonical.MaxGuestsInRoom)
				continue
			}
			rate.Occupancy = append(rate.Occupancy, canonical.OccupancyPrice{Adults: cp.Adults, Price: m})
		}
		if len(rate.Occupancy) > 0 {
			sort.Slice(rate.Occupancy, func(a, b int) bool { return rate.Occupancy[a].Adults < rate.Occupancy[b].Adults })
		}
		if k := len(out) - 1; k >= 0 && reflect.DeepEqual(out[k].Rate, rate) && out[k].To.AddDays(1) == d {
			out[k].To = d
			continue
		}
		out = append(out, canonical.RateUpdate{RatePlan: rp.ID, RoomType: rp.UnitGroup.ID, From: d, To: d, Rate: rate})
	}
	if err := p.Err(); err != nil {
		return nil, nil, connectors.Permanent(fmt.Errorf("apaleo rates of %s: %w", connectors.SafeText(rp.ID, 40), err))
	}
	return out, restr, nil
}

// Backfill reads every reservation staying between from and to at the
// configured properties (or those given) and delivers those Roomwire did not
// make. Delivery is idempotent, so running it twice is harmless. It returns
// how many reservations it delivered.
func (c *Connector) Backfill(ctx context.Context, sink connectors.Sink, from, to canonical.Date, properties ...string) (int, error) {
	if len(properties) == 0 {
		properties = c.cfg.Properties
	}
	if len(properties) == 0 {
		return 0, fmt.Errorf("apaleo: backfill: no properties given or configured")
	}
	const pageSize = 100
	delivered := 0
	for _, prop := range properties {
		for page := 1; ; page++ {
			q := url.Values{"propertyIds": {prop}, "dateFilter": {"Stay"}, "from": {from.String()}, "to": {to.String()},
				"pageNumber": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(pageSize)}}
			var list ReservationList
			if err := c.call(ctx, http.MethodGet, "/booking/v1/reservations?"+q.Encode(), "/booking/v1/reservations", nil, nil, &list); err != nil {
				return delivered, fmt.Errorf("apaleo: backfill %s page %d: %w", prop, page, err)
			}
			for i := range list.Reservations {
				ok, err := c.deliver(ctx, &list.Reservations[i], false, sink)
				if err != nil {
					return delivered, err
				}
				if ok {
					delivered++
				}
			}
			if len(list.Reservations) < pageSize {
				break
			}
		}
	}
	return delivered, nil
}
