package reservations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// ErrRestricted means a stay breaks a restriction of its rate plan. The
// error wraps a *canonical.RestrictionBreach naming the rule.
var ErrRestricted = errors.New("restricted")

// RestrictedError is a stay refused for a restriction.
type RestrictedError struct{ Breach canonical.RestrictionBreach }

func (e *RestrictedError) Error() string { return e.Breach.Error() }

// Unwrap makes errors.Is(err, ErrRestricted) true.
func (e *RestrictedError) Unwrap() error { return ErrRestricted }

// PutRates sets nightly prices (one price, or prices by occupancy with extra
// amounts) and publishes the change. Plans derived from a changed plan follow
// it in the same transaction; a derived plan's own prices cannot be set.
func (s *Store) PutRates(ctx context.Context, scope Scope, propertyID string, updates []RateUpdate) error {
	return s.changeProperty(ctx, scope, propertyID, func(tx pgx.Tx, prop *Property) error {
		var pr canonical.Problems
		if checkUpdateCount(&pr, len(updates)) {
			checkRates(&pr, "updates", prop, updates)
		}
		if err := pr.Err(); err != nil {
			return err
		}
		return s.setRates(ctx, tx, prop, updates)
	})
}

// checkRates adds the problems of rate updates, named field[i].
func checkRates(pr *canonical.Problems, field string, prop *Property, updates []RateUpdate) {
	for i, u := range updates {
		f := fmt.Sprintf("%s[%d]", field, i)
		rp, ok := prop.ratePlan(u.RatePlan)
		switch {
		case !ok:
			pr.Add(f+".rate_plan", "%q is not a rate plan of property %s", u.RatePlan, prop.ID)
		case rp.Derived != nil:
			pr.Add(f+".rate_plan", "%s is derived from %s and follows its prices; change %s's rates, or its derivation with PUT /v1/properties/%s",
				rp.Code, rp.Derived.Parent, rp.Derived.Parent, prop.ID)
		}
		checkRange(pr, f, u.From, u.To)
		if u.Rate.Price.Currency != prop.Currency {
			pr.Add(f+".currency", "is %q but property %s sells in %s", u.Rate.Price.Currency, prop.ID, prop.Currency)
		} else {
			pr.Merge(f, u.Rate.Validate(prop.Currency))
		}
	}
}

// setRates writes checked rate updates, and the derived plans' that follow
// them, in tx and publishes the change.
func (s *Store) setRates(ctx context.Context, tx pgx.Tx, prop *Property, updates []RateUpdate) error {
	ari := &canonical.ARIUpdate{PropertyID: prop.ID}
	b := &pgx.Batch{}
	set := func(plan string, from, to canonical.Date, rate canonical.Rate) {
		queueSetRate(b, prop.ID, plan, from, to, rate)
		rp, _ := prop.ratePlan(plan)
		ari.Rates = append(ari.Rates, canonical.RateUpdate{RatePlan: plan, RoomType: rp.RoomType, From: from, To: to, Rate: rate})
	}
	for _, u := range updates {
		set(u.RatePlan, u.From, u.To, u.Rate)
		for _, child := range prop.derivedFrom(u.RatePlan) {
			set(child.Code, u.From, u.To, child.Derived.Apply(u.Rate))
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return AppendEvents(ctx, tx, newEvent(ctx, canonical.EventRatesChanged, prop.ID, s.now(), nil, ari))
}

// queueSetRate queues the write of one rate for the nights from..to.
func queueSetRate(b *pgx.Batch, propertyID, plan string, from, to canonical.Date, rate canonical.Rate) {
	var detail []byte
	if len(rate.Occupancy) > 0 || rate.ExtraAdult.Minor != 0 || rate.ExtraChild.Minor != 0 {
		detail, _ = json.Marshal(rate)
	}
	b.Queue(`INSERT INTO rates (property_id, rate_plan, night, amount, currency, rate)
		SELECT $1, $2, d::date, $5, $6, $7 FROM generate_series($3::date, $4::date, interval '1 day') d
		ON CONFLICT (property_id, rate_plan, night) DO UPDATE SET amount = $5, currency = $6, rate = $7`,
		propertyID, plan, from.Time(), to.Time(), rate.Price.Minor, rate.Price.Currency, detail)
}

// rateOf returns the rate of a stored night: its detail when it has one,
// else its one amount.
func rateOf(amount int64, currency string, detail []byte) (canonical.Rate, error) {
	if len(detail) == 0 {
		return canonical.Rate{Price: canonical.NewMoney(amount, currency)}, nil
	}
	var r canonical.Rate
	err := json.Unmarshal(detail, &r)
	return r, err
}

// rederive brings derived plans whose derivation p changes (or adds) in line
// with their parents, from yesterday on, and publishes their new prices.
func (s *Store) rederive(ctx context.Context, tx pgx.Tx, old, p *Property) error {
	ari := &canonical.ARIUpdate{PropertyID: p.ID}
	for _, rp := range p.RatePlans {
		if rp.Derived == nil {
			continue
		}
		if was, ok := old.ratePlan(rp.Code); ok && reflect.DeepEqual(was.Derived, rp.Derived) {
			continue
		}
		rows, _ := tx.Query(ctx, `SELECT night, amount, currency, rate FROM rates
			WHERE property_id = $1 AND rate_plan = $2 AND night >= current_date - 1 ORDER BY night`, p.ID, rp.Derived.Parent)
		var nights []canonical.Date
		var rates []canonical.Rate
		var night time.Time
		var amount int64
		var currency string
		var detail []byte
		_, err := pgx.ForEachRow(rows, []any{&night, &amount, &currency, &detail}, func() error {
			r, err := rateOf(amount, currency, detail)
			nights, rates = append(nights, canonical.DateOf(night)), append(rates, rp.Derived.Apply(r))
			return err
		})
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i := 0; i < len(nights); {
			j := i + 1
			for j < len(nights) && nights[j] == nights[j-1].AddDays(1) && reflect.DeepEqual(rates[j], rates[i]) {
				j++
			}
			queueSetRate(b, p.ID, rp.Code, nights[i], nights[j-1], rates[i])
			ari.Rates = append(ari.Rates, canonical.RateUpdate{RatePlan: rp.Code, RoomType: rp.RoomType, From: nights[i], To: nights[j-1], Rate: rates[i]})
			i = j
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
	}
	if len(ari.Rates) == 0 {
		return nil
	}
	return AppendEvents(ctx, tx, newEvent(ctx, canonical.EventRatesChanged, p.ID, s.now(), nil, ari))
}

// RestrictionChange sets restrictions of a rate plan, or of every rate plan
// of a room type when RatePlan is empty, for the nights From..To, on the
// weekdays Days (every day when empty). Restrictions left unset stay as
// they were.
type RestrictionChange struct {
	canonical.RestrictionsUpdate
	Days []string `json:"days,omitempty"` // mon, tue, wed, thu, fri, sat, sun
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// PutRestrictions sets restrictions per rate plan and night and publishes
// each changed plan's whole restrictions for those nights (restrictions.changed).
// Plans derived with inherit_restrictions follow their parent's.
func (s *Store) PutRestrictions(ctx context.Context, scope Scope, propertyID string, changes []RestrictionChange) error {
	return s.changeProperty(ctx, scope, propertyID, func(tx pgx.Tx, prop *Property) error {
		var pr canonical.Problems
		if checkUpdateCount(&pr, len(changes)) {
			checkRestrictions(&pr, "updates", prop, changes)
		}
		if err := pr.Err(); err != nil {
			return err
		}
		return s.setRestrictions(ctx, tx, prop, changes)
	})
}

// setRestrictions writes checked restriction changes in tx and publishes
// each changed plan's whole restrictions for those nights.
func (s *Store) setRestrictions(ctx context.Context, tx pgx.Tx, prop *Property, changes []RestrictionChange) error {
	b := &pgx.Batch{}
	for _, c := range changes {
		plans, nights := restrictionTargets(prop, c)
		if len(plans) == 0 || len(nights) == 0 {
			continue
		}
		u := c.RestrictionsUpdate
		b.Queue(`INSERT INTO restrictions AS r (property_id, rate_plan, night, stop_sell, closed_to_arrival, closed_to_departure, min_stay, min_stay_through, max_stay)
			SELECT $1, p, n, coalesce($4, false), coalesce($5, false), coalesce($6, false), coalesce($7, 0), coalesce($8, 0), coalesce($9, 0)
			FROM unnest($2::text[]) p CROSS JOIN unnest($3::date[]) n
			ON CONFLICT (property_id, rate_plan, night) DO UPDATE SET
				stop_sell = coalesce($4, r.stop_sell), closed_to_arrival = coalesce($5, r.closed_to_arrival),
				closed_to_departure = coalesce($6, r.closed_to_departure), min_stay = coalesce($7, r.min_stay),
				min_stay_through = coalesce($8, r.min_stay_through), max_stay = coalesce($9, r.max_stay)
			RETURNING rate_plan, night, stop_sell, closed_to_arrival, closed_to_departure, min_stay, min_stay_through, max_stay`,
			prop.ID, plans, nights, u.StopSell, u.ClosedToArrival, u.ClosedToDeparture, u.MinStay, u.MinStayThrough, u.MaxStay)
	}
	br := tx.SendBatch(ctx, b)
	state := map[string]map[canonical.Date]canonical.Restrictions{}
	for i := 0; i < b.Len(); i++ {
		rows, _ := br.Query()
		if err := scanRestrictions(rows, state); err != nil {
			br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	ari := &canonical.ARIUpdate{PropertyID: prop.ID, Restrictions: restrictionRuns(prop, state)}
	if len(ari.Restrictions) == 0 {
		return nil
	}
	return AppendEvents(ctx, tx, newEvent(ctx, canonical.EventRestrictionsChanged, prop.ID, s.now(), nil, ari))
}

// checkRestrictions adds the problems of restriction changes, named field[i].
func checkRestrictions(pr *canonical.Problems, field string, prop *Property, changes []RestrictionChange) {
	for i, c := range changes {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, ok := prop.roomType(c.RoomType); !ok {
			pr.Add(f+".room_type", "%q is not a room type of property %s", c.RoomType, prop.ID)
		}
		if c.RatePlan != "" {
			rp, ok := prop.ratePlan(c.RatePlan)
			switch {
			case !ok:
				pr.Add(f+".rate_plan", "%q is not a rate plan of property %s", c.RatePlan, prop.ID)
			case rp.RoomType != c.RoomType:
				pr.Add(f+".rate_plan", "rate plan %s sells room type %s, not %s", rp.Code, rp.RoomType, c.RoomType)
			case rp.Derived != nil && rp.Derived.InheritRestrictions:
				pr.Add(f+".rate_plan", "%s inherits the restrictions of %s; change %s's, or stop inheriting with PUT /v1/properties/%s",
					rp.Code, rp.Derived.Parent, rp.Derived.Parent, prop.ID)
			}
		}
		checkRange(pr, f, c.From, c.To)
		for j, d := range c.Days {
			if _, ok := weekdays[strings.ToLower(d)]; !ok {
				pr.Add(fmt.Sprintf("%s.days[%d]", f, j), "%q is not a weekday: mon, tue, wed, thu, fri, sat or sun", truncateString(d, 10))
			}
		}
		if c.SetsNothing() {
			pr.Add(f, "sets no restriction; give stop_sell, closed_to_arrival, closed_to_departure, min_stay, min_stay_through or max_stay")
		}
		for name, v := range map[string]*int{"min_stay": c.MinStay, "min_stay_through": c.MinStayThrough, "max_stay": c.MaxStay} {
			if v != nil && (*v < 0 || *v > canonical.MaxStayNights) {
				pr.Add(f+"."+name, "must be between 0 (no limit) and %d", canonical.MaxStayNights)
			}
		}
	}
}

// restrictionTargets returns the plans a change sets (with the plans that
// inherit their restrictions) and its nights.
func restrictionTargets(prop *Property, c RestrictionChange) ([]string, []time.Time) {
	var plans []string
	for _, rp := range prop.RatePlans {
		if (c.RatePlan == "" && rp.RoomType == c.RoomType) || rp.Code == c.RatePlan {
			plans = append(plans, rp.Code)
		}
	}
	for _, p := range append([]string(nil), plans...) {
		for _, child := range prop.derivedFrom(p) {
			if child.Derived.InheritRestrictions && !contains(plans, child.Code) {
				plans = append(plans, child.Code)
			}
		}
	}
	days := map[time.Weekday]bool{}
	for _, d := range c.Days {
		days[weekdays[strings.ToLower(d)]] = true
	}
	var nights []time.Time
	for d := c.From; !d.After(c.To); d = d.AddDays(1) {
		if len(days) == 0 || days[d.Time().Weekday()] {
			nights = append(nights, d.Time())
		}
	}
	return plans, nights
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scanRestrictions reads rows of (rate plan, night, restrictions...) into state.
func scanRestrictions(rows pgx.Rows, state map[string]map[canonical.Date]canonical.Restrictions) error {
	var plan string
	var night time.Time
	var r canonical.Restrictions
	_, err := pgx.ForEachRow(rows, []any{&plan, &night, &r.StopSell, &r.ClosedToArrival, &r.ClosedToDeparture, &r.MinStay, &r.MinStayThrough, &r.MaxStay}, func() error {
		if state[plan] == nil {
			state[plan] = map[canonical.Date]canonical.Restrictions{}
		}
		state[plan][canonical.DateOf(night)] = r
		return nil
	})
	return err
}

// restrictionRuns turns per-night restrictions into runs of consecutive
// nights with the same restrictions, each setting every restriction.
func restrictionRuns(prop *Property, state map[string]map[canonical.Date]canonical.Restrictions) []canonical.RestrictionsUpdate {
	plans := make([]string, 0, len(state))
	for p := range state {
		plans = append(plans, p)
	}
	sort.Strings(plans)
	var out []canonical.RestrictionsUpdate
	for _, plan := range plans {
		rp, _ := prop.ratePlan(plan)
		nights := make([]canonical.Date, 0, len(state[plan]))
		for n := range state[plan] {
			nights = append(nights, n)
		}
		sort.Slice(nights, func(i, j int) bool { return nights[i].Before(nights[j]) })
		for i := 0; i < len(nights); {
			v := state[plan][nights[i]]
			j := i + 1
			for j < len(nights) && nights[j] == nights[j-1].AddDays(1) && state[plan][nights[j]] == v {
				j++
			}
			out = append(out, v.Update(rp.RoomType, plan, nights[i], nights[j-1]))
			i = j
		}
	}
	return out
}

// Restrictions returns the restrictions of a property's rate plans for the
// nights from..to, as runs of nights with the same restrictions. Nights with
// none set are left out.
func (s *Store) Restrictions(ctx context.Context, scope Scope, propertyID string, from, to canonical.Date) ([]canonical.RestrictionsUpdate, error) {
	prop, err := s.readNights(ctx, scope, propertyID, from, to)
	if err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT rate_plan, night, stop_sell, closed_to_arrival, closed_to_departure, min_stay, min_stay_through, max_stay
		FROM restrictions WHERE property_id = $1 AND night BETWEEN $2 AND $3
		AND (stop_sell OR closed_to_arrival OR closed_to_departure OR min_stay > 0 OR min_stay_through > 0 OR max_stay > 0)`,
		propertyID, from.Time(), to.Time())
	state := map[string]map[canonical.Date]canonical.Restrictions{}
	if err := scanRestrictions(rows, state); err != nil {
		return nil, err
	}
	out := restrictionRuns(prop, state)
	if out == nil {
		out = []canonical.RestrictionsUpdate{}
	}
	return out, nil
}

// stayRestrictions reads the restrictions a set of stays must respect.
type stayRestrictions struct {
	state map[string]map[canonical.Date]canonical.Restrictions
}

// queueStayRestrictions queues the read of the restrictions of plans over
// from..to (the departure day included).
func queueStayRestrictions(b *pgx.Batch, propertyID string, plans []string, from, to canonical.Date) *stayRestrictions {
	b.Queue(`SELECT rate_plan, night, stop_sell, closed_to_arrival, closed_to_departure, min_stay, min_stay_through, max_stay
		FROM restrictions WHERE property_id = $1 AND rate_plan = ANY($2) AND night BETWEEN $3 AND $4`,
		propertyID, plans, from.Time(), to.Time())
	return &stayRestrictions{}
}

func (q *stayRestrictions) read(br pgx.BatchResults) error {
	rows, _ := br.Query()
	q.state = map[string]map[canonical.Date]canonical.Restrictions{}
	return scanRestrictions(rows, q.state)
}

// check returns the first restriction a stay breaks, or nil.
func (q *stayRestrictions) check(plan string, arrival, departure canonical.Date) *canonical.RestrictionBreach {
	nights := q.state[plan]
	return canonical.CheckStay(plan, arrival, departure, func(d canonical.Date) canonical.Restrictions { return nights[d] })
}

// queueReservationRestrictions queues the read of the restrictions r's stays
// must respect, or returns nil when r holds no inventory.
func queueReservationRestrictions(b *pgx.Batch, r *canonical.Reservation) *stayRestrictions {
	if !r.Status.HoldsInventory() || len(r.RoomStays) == 0 {
		return nil
	}
	var plans []string
	for _, st := range r.RoomStays {
		plans = append(plans, st.RatePlan)
	}
	return queueStayRestrictions(b, r.PropertyID, plans, r.Arrival(), r.Departure())
}

// breach returns the first restriction r's stays break, leaving out the stays
// old already had (a change is not refused for a restriction set after the
// stay was booked).
func (q *stayRestrictions) breach(r, old *canonical.Reservation) *canonical.RestrictionBreach {
	if q == nil {
		return nil
	}
	for _, st := range r.RoomStays {
		if old != nil && hasStay(old, st) {
			continue
		}
		if b := q.check(st.RatePlan, st.Arrival, st.Departure); b != nil {
			return b
		}
	}
	return nil
}

func hasStay(r *canonical.Reservation, st canonical.RoomStay) bool {
	for _, o := range r.RoomStays {
		if o.RatePlan == st.RatePlan && o.Arrival == st.Arrival && o.Departure == st.Departure {
			return true
		}
	}
	return false
}

// PutChannelRules replaces the availability rules of one channel at a
// property, and tells that channel its availability afresh for the next
// year (an availability.changed event for it alone).
func (s *Store) PutChannelRules(ctx context.Context, scope Scope, propertyID, channel string, rules canonical.ChannelRules) error {
	if !scope.Allows(propertyID) {
		return notFound("property", propertyID)
	}
	var pr canonical.Problems
	pr.CheckCode("channel", channel)
	pr.Merge("", rules.Validate())
	if err := pr.Err(); err != nil {
		return err
	}
	if rules == nil {
		rules = canonical.ChannelRules{}
	}
	return s.changeProperty(ctx, scope, propertyID, func(tx pgx.Tx, prop *Property) error {
		for i, r := range rules {
			if _, ok := prop.roomType(r.RoomType); r.RoomType != "" && !ok {
				pr.Add(fmt.Sprintf("rules[%d].room_type", i), "%q is not a room type of property %s", r.RoomType, propertyID)
			}
		}
		if err := pr.Err(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO channel_rules (property_id, channel, rules) VALUES ($1, $2, $3)
			ON CONFLICT (property_id, channel) DO UPDATE SET rules = $3, updated_at = now()`, propertyID, channel, rules); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			SELECT rt.code, d::date, coalesce(i.units_sellable, rt.units) - coalesce(i.units_sold, 0)
			FROM room_types rt
			CROSS JOIN generate_series(current_date, current_date + 365, interval '1 day') d
			LEFT JOIN inventory i ON i.property_id = rt.property_id AND i.room_type = rt.code AND i.night = d::date
			WHERE rt.property_id = $1`, propertyID)
		nights, err := pgx.CollectRows(rows, scanNightAvailability)
		if err != nil {
			return err
		}
		events := availabilityEvent(ctx, propertyID, s.now(), nights)
		for i := range events {
			events[i].ARI.Channel = channel
		}
		return AppendEvents(ctx, tx, events...)
	})
}

// ChannelRules returns the availability rules of one channel at a property
// (none when never set), if scope allows it.
func (s *Store) ChannelRules(ctx context.Context, scope Scope, propertyID, channel string) (canonical.ChannelRules, error) {
	if !scope.Allows(propertyID) {
		return nil, notFound("property", propertyID)
	}
	rules := canonical.ChannelRules{}
	err := s.pool.QueryRow(ctx, `SELECT rules FROM channel_rules WHERE property_id = $1 AND channel = $2`, propertyID, channel).Scan(&rules)
	if errors.Is(err, pgx.ErrNoRows) {
		return canonical.ChannelRules{}, nil
	}
	return rules, err
}

// ChannelRulesOf returns every channel's availability rules at a property.
func (s *Store) ChannelRulesOf(ctx context.Context, scope Scope, propertyID string) (map[string]canonical.ChannelRules, error) {
	if !scope.Allows(propertyID) {
		return nil, notFound("property", propertyID)
	}
	rows, _ := s.pool.Query(ctx, `SELECT channel, rules FROM channel_rules WHERE property_id = $1`, propertyID)
	out := map[string]canonical.ChannelRules{}
	var channel string
	var rules canonical.ChannelRules
	_, err := pgx.ForEachRow(rows, []any{&channel, &rules}, func() error {
		out[channel] = rules
		rules = nil
		return nil
	})
	return out, err
}

// Rates returns the prices of a property's rate plans for the nights
// from..to, as runs of nights with the same rate.
func (s *Store) Rates(ctx context.Context, scope Scope, propertyID string, from, to canonical.Date) ([]canonical.RateUpdate, error) {
	prop, err := s.readNights(ctx, scope, propertyID, from, to)
	if err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT rate_plan, night, amount, currency, rate FROM rates
		WHERE property_id = $1 AND night BETWEEN $2 AND $3 ORDER BY rate_plan, night`, propertyID, from.Time(), to.Time())
	out := []canonical.RateUpdate{}
	var plan, currency string
	var night time.Time
	var amount int64
	var detail []byte
	_, err = pgx.ForEachRow(rows, []any{&plan, &night, &amount, &currency, &detail}, func() error {
		rate, err := rateOf(amount, currency, detail)
		if err != nil {
			return err
		}
		d := canonical.DateOf(night)
		if k := len(out) - 1; k >= 0 && out[k].RatePlan == plan && out[k].To.AddDays(1) == d && reflect.DeepEqual(out[k].Rate, rate) {
			out[k].To = d
			return nil
		}
		rp, _ := prop.ratePlan(plan)
		out = append(out, canonical.RateUpdate{RatePlan: plan, RoomType: rp.RoomType, From: d, To: d, Rate: rate})
		return nil
	})
	return out, err
}

// readNights checks a read of the nights from..to of a property and
// returns the property.
func (s *Store) readNights(ctx context.Context, scope Scope, propertyID string, from, to canonical.Date) (*Property, error) {
	if !scope.Allows(propertyID) {
		return nil, notFound("property", propertyID)
	}
	var pr canonical.Problems
	checkRange(&pr, "", from, to)
	if err := pr.Err(); err != nil {
		return nil, err
	}
	return s.catalog.get(ctx, s.pool, propertyID)
}

// ApplyPartnerARI writes the availability, rates and restrictions a partner
// sent for a property, all in one transaction, and publishes each kind's
// change as PutInventory, PutRates and PutRestrictions do. A partner's
// availability is what is left to sell, while the store keeps what may be
// sold in all: each night's units already sold are added to it in the
// statement that writes it, so a booking committed meanwhile is not lost.
// A restriction naming a rate plan alone applies to that plan's room type;
// one that sets nothing is skipped. Unlike the API's calls, there is no
// bound on the number of entries: a partner's message is bounded by its size.
func (s *Store) ApplyPartnerARI(ctx context.Context, u canonical.ARIUpdate) error {
	return s.changeProperty(ctx, AllProperties, u.PropertyID, func(tx pgx.Tx, prop *Property) error {
		var inv []InventoryUpdate
		for _, a := range u.Availability {
			inv = append(inv, InventoryUpdate{RoomType: a.RoomType, From: a.From, To: a.To, Units: max(a.Available, 0)})
		}
		var rates []RateUpdate
		for _, r := range u.Rates {
			rates = append(rates, RateUpdate{RatePlan: r.RatePlan, From: r.From, To: r.To, Rate: r.Rate})
		}
		var restr []RestrictionChange
		for _, r := range u.Restrictions {
			if r.RoomType == "" && r.RatePlan != "" {
				if rp, ok := prop.ratePlan(r.RatePlan); ok {
					r.RoomType = rp.RoomType
				}
			}
			if !r.SetsNothing() {
				restr = append(restr, RestrictionChange{RestrictionsUpdate: r})
			}
		}
		var pr canonical.Problems
		checkInventory(&pr, "availability", prop, inv)
		checkRates(&pr, "rates", prop, rates)
		checkRestrictions(&pr, "restrictions", prop, restr)
		if err := pr.Err(); err != nil {
			return err
		}
		if len(inv) > 0 {
			if err := s.setInventory(ctx, tx, prop.ID, inv, true); err != nil {
				return err
			}
		}
		if len(rates) > 0 {
			if err := s.setRates(ctx, tx, prop, rates); err != nil {
				return err
			}
		}
		if len(restr) > 0 {
			return s.setRestrictions(ctx, tx, prop, restr)
		}
		return nil
	})
}
