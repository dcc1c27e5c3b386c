package canonical

import "fmt"

// ARIUpdate is a change of availability, restrictions or rates at one property,
// as runs of nights with the same value. From and To are both inclusive.
type ARIUpdate struct {
	PropertyID string `json:"property_id"`
	// Channel, when set, names the one channel the update is for (its
	// availability rules changed); every other channel ignores it.
	Channel      string               `json:"channel,omitempty"`
	Availability []AvailabilityUpdate `json:"availability,omitempty"`
	Restrictions []RestrictionsUpdate `json:"restrictions,omitempty"`
	Rates        []RateUpdate         `json:"rates,omitempty"`
}

// Kinds lists the kinds of update u carries.
func (u *ARIUpdate) Kinds() []ARIKind {
	var k []ARIKind
	if len(u.Availability) > 0 {
		k = append(k, ARIAvailability)
	}
	if len(u.Restrictions) > 0 {
		k = append(k, ARIRestrictions)
	}
	if len(u.Rates) > 0 {
		k = append(k, ARIRates)
	}
	return k
}

// Empty reports whether u carries nothing.
func (u *ARIUpdate) Empty() bool {
	return len(u.Availability)+len(u.Restrictions)+len(u.Rates) == 0
}

// AvailabilityUpdate gives the units still available to sell of a room type for
// the nights From..To. Zero closes the room type out.
type AvailabilityUpdate struct {
	RoomType  string `json:"room_type"`
	From      Date   `json:"from"`
	To        Date   `json:"to"`
	Available int    `json:"available"`
}

// RestrictionsUpdate sets stay restrictions of a rate plan (or of every rate
// plan of a room type when RatePlan is empty) for the nights From..To. Each
// restriction is set on its own: a field left nil leaves that restriction as
// it was. A stay length of 0 lifts the limit.
type RestrictionsUpdate struct {
	RoomType          string `json:"room_type,omitempty"`
	RatePlan          string `json:"rate_plan,omitempty"`
	From              Date   `json:"from"`
	To                Date   `json:"to"`
	StopSell          *bool  `json:"stop_sell,omitempty"`
	ClosedToArrival   *bool  `json:"closed_to_arrival,omitempty"`
	ClosedToDeparture *bool  `json:"closed_to_departure,omitempty"`
	MinStay           *int   `json:"min_stay,omitempty"`         // fewest nights of a stay arriving on the night
	MinStayThrough    *int   `json:"min_stay_through,omitempty"` // fewest nights of a stay that includes the night
	MaxStay           *int   `json:"max_stay,omitempty"`         // most nights of a stay arriving on the night
}

// SetsNothing reports whether u sets no restriction.
func (u RestrictionsUpdate) SetsNothing() bool {
	return u.StopSell == nil && u.ClosedToArrival == nil && u.ClosedToDeparture == nil &&
		u.MinStay == nil && u.MinStayThrough == nil && u.MaxStay == nil
}

// Restrictions are every restriction of a rate plan on one night. The zero
// value restricts nothing.
type Restrictions struct {
	StopSell          bool `json:"stop_sell,omitempty"`
	ClosedToArrival   bool `json:"closed_to_arrival,omitempty"`
	ClosedToDeparture bool `json:"closed_to_departure,omitempty"`
	MinStay           int  `json:"min_stay,omitempty"`
	MinStayThrough    int  `json:"min_stay_through,omitempty"`
	MaxStay           int  `json:"max_stay,omitempty"`
}

// With returns r changed by the restrictions u sets.
func (r Restrictions) With(u RestrictionsUpdate) Restrictions {
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setB(&r.StopSell, u.StopSell)
	setB(&r.ClosedToArrival, u.ClosedToArrival)
	setB(&r.ClosedToDeparture, u.ClosedToDeparture)
	setI(&r.MinStay, u.MinStay)
	setI(&r.MinStayThrough, u.MinStayThrough)
	setI(&r.MaxStay, u.MaxStay)
	return r
}

// Update returns the update that sets every restriction to r, for the
// nights from..to of a rate plan: what a channel is told, so that it holds
// the whole state whatever it missed.
func (r Restrictions) Update(roomType, ratePlan string, from, to Date) RestrictionsUpdate {
	b := func(v bool) *bool { return &v }
	i := func(v int) *int { return &v }
	return RestrictionsUpdate{RoomType: roomType, RatePlan: ratePlan, From: from, To: to,
		StopSell: b(r.StopSell), ClosedToArrival: b(r.ClosedToArrival), ClosedToDeparture: b(r.ClosedToDeparture),
		MinStay: i(r.MinStay), MinStayThrough: i(r.MinStayThrough), MaxStay: i(r.MaxStay)}
}

// The restriction rules, as named in a RestrictionBreach and the API's
// `restricted` problems.
const (
	RuleStopSell          = "stop_sell"
	RuleClosedToArrival   = "closed_to_arrival"
	RuleClosedToDeparture = "closed_to_departure"
	RuleMinStay           = "min_stay"
	RuleMinStayThrough    = "min_stay_through"
	RuleMaxStay           = "max_stay"
)

// RestrictionBreach says which restriction a stay breaks.
type RestrictionBreach struct {
	RatePlan string `json:"rate_plan"`
	Rule     string `json:"rule"`
	Night    Date   `json:"night"`
	Limit    int    `json:"limit,omitempty"` // the stay length a min or max stay allows
}

func (b RestrictionBreach) Error() string {
	switch b.Rule {
	case RuleStopSell:
		return fmt.Sprintf("rate plan %s is closed to sale (stop_sell) on %s", b.RatePlan, b.Night)
	case RuleClosedToArrival:
		return fmt.Sprintf("rate plan %s is closed to arrival on %s", b.RatePlan, b.Night)
	case RuleClosedToDeparture:
		return fmt.Sprintf("rate plan %s is closed to departure on %s", b.RatePlan, b.Night)
	case RuleMinStay:
		return fmt.Sprintf("rate plan %s needs stays arriving on %s to last at least %d nights (min_stay)", b.RatePlan, b.Night, b.Limit)
	case RuleMinStayThrough:
		return fmt.Sprintf("rate plan %s needs stays that include %s to last at least %d nights (min_stay_through)", b.RatePlan, b.Night, b.Limit)
	case RuleMaxStay:
		return fmt.Sprintf("rate plan %s allows stays arriving on %s to last at most %d nights (max_stay)", b.RatePlan, b.Night, b.Limit)
	}
	return fmt.Sprintf("rate plan %s: %s on %s", b.RatePlan, b.Rule, b.Night)
}

// CheckStay returns the first restriction a stay of a rate plan from arrival
// to departure breaks, or nil. at gives the restrictions of a night (the
// departure date included, for closed to departure).
func CheckStay(ratePlan string, arrival, departure Date, at func(Date) Restrictions) *RestrictionBreach {
	n := arrival.DaysUntil(departure)
	breach := func(rule string, night Date, limit int) *RestrictionBreach {
		return &RestrictionBreach{RatePlan: ratePlan, Rule: rule, Night: night, Limit: limit}
	}
	for _, night := range Nights(arrival, departure) {
		if at(night).StopSell {
			return breach(RuleStopSell, night, 0)
		}
	}
	first := at(arrival)
	switch {
	case first.ClosedToArrival:
		return breach(RuleClosedToArrival, arrival, 0)
	case first.MinStay > n:
		return breach(RuleMinStay, arrival, first.MinStay)
	case first.MaxStay > 0 && n > first.MaxStay:
		return breach(RuleMaxStay, arrival, first.MaxStay)
	}
	for _, night := range Nights(arrival, departure) {
		if m := at(night).MinStayThrough; m > n {
			return breach(RuleMinStayThrough, night, m)
		}
	}
	if at(departure).ClosedToDeparture {
		return breach(RuleClosedToDeparture, departure, 0)
	}
	return nil
}

// OccupancyPrice is the nightly price of a rate plan for a number of adults.
type OccupancyPrice struct {
	Adults int   `json:"adults"`
	Price  Money `json:"price"`
}

// Rate is the nightly price of a rate plan: one price, or prices by the
// number of adults, with amounts for each adult beyond the most priced and
// for each child.
type Rate struct {
	// Price is the price of the standard occupancy: the most adults
	// Occupancy lists, or any number of adults when it lists none. It is
	// what a channel without occupancy pricing is told.
	Price      Money            `json:"price"`
	Occupancy  []OccupancyPrice `json:"occupancy,omitempty"`  // by number of adults, fewest first
	ExtraAdult Money            `json:"extra_adult,omitzero"` // per adult beyond the most Occupancy lists
	ExtraChild Money            `json:"extra_child,omitzero"` // per child
}

// For returns the nightly price of a stay of adults and children.
func (r Rate) For(adults, children int) Money {
	p := r.Price
	if len(r.Occupancy) > 0 {
		// The most adults priced at or below adults, else the fewest priced.
		best := r.Occupancy[0]
		for _, o := range r.Occupancy {
			if o.Adults <= adults && (o.Adults > best.Adults || best.Adults > adults) {
				best = o
			}
		}
		p = best.Price
		if extra := adults - best.Adults; extra > 0 {
			p.Minor += int64(extra) * r.ExtraAdult.Minor
		}
	}
	p.Minor += int64(children) * r.ExtraChild.Minor
	return p
}

// Validate checks the rate's amounts: currency, never negative, each
// occupancy once.
func (r Rate) validate(p *Problems, path, currency string) {
	check := func(field string, m Money, optional bool) {
		if optional && m.IsZero() {
			return
		}
		p.CheckMoney(path+field, m)
		if currency != "" && m.Currency != currency {
			p.Add(path+field, "is in %s, not %s", m.Currency, currency)
		}
	}
	check("price", r.Price, false)
	seen := map[int]bool{}
	for i, o := range r.Occupancy {
		f := fmt.Sprintf("occupancy[%d]", i)
		if o.Adults < 1 || o.Adults > MaxGuestsInRoom {
			p.Add(path+f+".adults", "must be between 1 and %d", MaxGuestsInRoom)
		}
		if seen[o.Adults] {
			p.Add(path+f+".adults", "%d adults are priced twice", o.Adults)
		}
		seen[o.Adults] = true
		check(f+".price", o.Price, false)
	}
	check("extra_adult", r.ExtraAdult, true)
	check("extra_child", r.ExtraChild, true)
}

// Validate checks the rate, in currency when it is set.
func (r Rate) Validate(currency string) error {
	var p Problems
	r.validate(&p, "", currency)
	return p.Err()
}

// RateUpdate sets the price of one night of a rate plan for the nights From..To.
type RateUpdate struct {
	RatePlan string `json:"rate_plan"`
	RoomType string `json:"room_type,omitempty"`
	From     Date   `json:"from"`
	To       Date   `json:"to"`
	Rate
}

// Derivation makes a rate plan's prices follow a parent plan of the same
// property: each night's prices are the parent's changed by Percent or by
// Amount, recomputed whenever the parent's change. Exactly one of Percent
// and Amount is set.
type Derivation struct {
	Parent string `json:"parent_rate_plan"`
	// Percent changes the parent's prices (extras included) by this much,
	// e.g. "-10" or "12.5"; at most two decimals.
	Percent string `json:"percent,omitempty"`
	// Amount is added to the parent's prices (not the extras), in the
	// property's currency, e.g. "-15.00".
	Amount string `json:"amount,omitempty"`
	// InheritRestrictions makes the plan take its parent's restrictions.
	InheritRestrictions bool `json:"inherit_restrictions,omitempty"`
}

// Validate checks the derivation for a property selling in currency.
func (d Derivation) Validate(currency string) error {
	var p Problems
	p.CheckCode("parent_rate_plan", d.Parent)
	switch {
	case (d.Percent == "") == (d.Amount == ""):
		p.Add("percent", "set exactly one of percent and amount")
	case d.Percent != "":
		if bp, err := parseDecimal(d.Percent, 2); err != nil {
			p.Add("percent", "%q is not a percentage with at most two decimals, e.g. -10 or 12.5", truncate(d.Percent, 20))
		} else if bp <= -10000 || bp > 100000 {
			p.Add("percent", "must be above -100 and at most 1000")
		}
	default:
		if _, err := ParseMoney(d.Amount, currency); err != nil {
			p.Add("amount", "%v", err)
		}
	}
	return p.Err()
}

// Apply returns the rate a derived plan has when its parent's is parent. A
// price that would fall below zero is zero. d must be valid.
func (d Derivation) Apply(parent Rate) Rate {
	out := parent
	out.Occupancy = append([]OccupancyPrice(nil), parent.Occupancy...)
	var change func(m Money) Money
	if d.Percent != "" {
		bp, _ := parseDecimal(d.Percent, 2) // hundredths of a percent
		change = func(m Money) Money {
			v := m.Minor * (10000 + bp)
			// Round half away from zero to a whole minor unit.
			if v >= 0 {
				m.Minor = (v + 5000) / 10000
			} else {
				m.Minor = (v - 5000) / 10000
			}
			m.Minor = max(m.Minor, 0)
			return m
		}
		if !out.ExtraAdult.IsZero() {
			out.ExtraAdult = change(out.ExtraAdult)
		}
		if !out.ExtraChild.IsZero() {
			out.ExtraChild = change(out.ExtraChild)
		}
	} else {
		amt, _ := ParseMoney(d.Amount, parent.Price.Currency)
		change = func(m Money) Money {
			m.Minor = max(m.Minor+amt.Minor, 0)
			return m
		}
	}
	out.Price = change(out.Price)
	for i := range out.Occupancy {
		out.Occupancy[i].Price = change(out.Occupancy[i].Price)
	}
	return out
}

// ChannelRule limits the availability one channel is told of a room type,
// or of every room type when RoomType is empty.
type ChannelRule struct {
	RoomType string `json:"room_type,omitempty"`
	// Closed tells the channel nothing is left.
	Closed bool `json:"closed,omitempty"`
	// MaxAvailability, when set, is the most units the channel is told of.
	MaxAvailability *int `json:"max_availability,omitempty"`
	// Offset is how many units are held back from the channel.
	Offset int `json:"offset,omitempty"`
}

// ChannelRules are one channel's rules at one property, applied in order.
type ChannelRules []ChannelRule

// Validate checks the rules.
func (rs ChannelRules) Validate() error {
	var p Problems
	for i, r := range rs {
		f := fmt.Sprintf("rules[%d]", i)
		if r.RoomType != "" {
			p.CheckCode(f+".room_type", r.RoomType)
		}
		if r.MaxAvailability != nil && *r.MaxAvailability < 0 {
			p.Add(f+".max_availability", "must not be negative")
		}
		if r.Offset < 0 {
			p.Add(f+".offset", "must not be negative")
		}
	}
	return p.Err()
}

// Available returns the units the channel is told of when a room type has n left.
func (rs ChannelRules) Available(roomType string, n int) int {
	for _, r := range rs {
		if r.RoomType != "" && r.RoomType != roomType {
			continue
		}
		if r.Closed {
			n = 0
		}
		n -= r.Offset
		if r.MaxAvailability != nil {
			n = min(n, *r.MaxAvailability)
		}
	}
	return max(n, 0)
}

// Apply returns u as the channel is to be told it: its availability limited
// by the rules. Restrictions and rates are not changed.
func (rs ChannelRules) Apply(u ARIUpdate) ARIUpdate {
	if len(rs) == 0 || len(u.Availability) == 0 {
		return u
	}
	out := u
	out.Availability = make([]AvailabilityUpdate, len(u.Availability))
	for i, a := range u.Availability {
		a.Available = rs.Available(a.RoomType, a.Available)
		out.Availability[i] = a
	}
	return out
}

// Validate checks an update's codes, dates and values.
func (u *ARIUpdate) Validate() error {
	var p Problems
	p.CheckCode("property_id", u.PropertyID)
	span := func(f string, from, to Date) {
		okF, okT := p.CheckDate(f+".from", from), p.CheckDate(f+".to", to)
		if okF && okT && to.Before(from) {
			p.Add(f+".to", "must not be before from (%s)", from)
		}
	}
	for i, a := range u.Availability {
		f := fmt.Sprintf("availability[%d]", i)
		p.CheckCode(f+".room_type", a.RoomType)
		span(f, a.From, a.To)
		if a.Available < 0 {
			p.Add(f+".available", "must not be negative")
		}
	}
	for i, r := range u.Restrictions {
		f := fmt.Sprintf("restrictions[%d]", i)
		if r.RoomType == "" && r.RatePlan == "" {
			p.Add(f+".room_type", "name a room type or a rate plan")
		}
		if r.RoomType != "" {
			p.CheckCode(f+".room_type", r.RoomType)
		}
		if r.RatePlan != "" {
			p.CheckCode(f+".rate_plan", r.RatePlan)
		}
		span(f, r.From, r.To)
		for name, v := range map[string]*int{"min_stay": r.MinStay, "min_stay_through": r.MinStayThrough, "max_stay": r.MaxStay} {
			if v != nil && (*v < 0 || *v > MaxStayNights) {
				p.Add(f+"."+name, "must be between 0 (no limit) and %d", MaxStayNights)
			}
		}
	}
	for i, r := range u.Rates {
		f := fmt.Sprintf("rates[%d]", i)
		p.CheckCode(f+".rate_plan", r.RatePlan)
		span(f, r.From, r.To)
		r.Rate.validate(&p, f+".", r.Price.Currency)
	}
	return p.Err()
}
