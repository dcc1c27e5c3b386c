package reservations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// Property is a hotel with its room types and rate plans.
type Property struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Timezone  string     `json:"timezone"`
	Currency  string     `json:"currency"`
	RoomTypes []RoomType `json:"room_types"`
	RatePlans []RatePlan `json:"rate_plans"`
}

// RoomType is a kind of room and how many of it the property has. Units is the
// default number sellable each night; PutInventory overrides it per night.
type RoomType struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	Units        int    `json:"units"`
	MaxOccupancy int    `json:"max_occupancy,omitempty"` // 0: no limit
}

// RatePlan is a way of selling one room type, priced per night: by its own
// rates, or derived from a parent plan's.
type RatePlan struct {
	Code     string                `json:"code"`
	RoomType string                `json:"room_type"`
	Name     string                `json:"name"`
	Policy   canonical.RatePolicy  `json:"policy"`
	Derived  *canonical.Derivation `json:"derived,omitempty"`
}

// derivedFrom returns the plans derived from parent.
func (p *Property) derivedFrom(parent string) []RatePlan {
	var out []RatePlan
	for _, rp := range p.RatePlans {
		if rp.Derived != nil && rp.Derived.Parent == parent {
			out = append(out, rp)
		}
	}
	return out
}

// Limits on catalogue changes, so one request cannot write an unbounded number of rows.
const (
	MaxRoomTypes    = 200
	MaxRatePlans    = 1000
	MaxUnits        = 10000
	MaxUpdateNights = 3 * 366
	MaxUpdates      = 500
)

func (p *Property) validate() error {
	var pr canonical.Problems
	pr.CheckCode("id", p.ID)
	if p.Name == "" {
		pr.Add("name", "is required")
	}
	pr.CheckText("name", p.Name, canonical.MaxNameLen)
	if p.Timezone == "" {
		pr.Add("timezone", "is required, an IANA zone such as Europe/Lisbon")
	} else if _, err := time.LoadLocation(p.Timezone); err != nil {
		pr.Add("timezone", "%q is not an IANA time zone such as Europe/Lisbon", p.Timezone)
	}
	if _, ok := canonical.CurrencyExponent(p.Currency); !ok {
		pr.Add("currency", "%q is not an ISO 4217 currency code such as EUR", p.Currency)
	}
	if len(p.RoomTypes) > MaxRoomTypes {
		pr.Add("room_types", "has %d room types; at most %d are allowed", len(p.RoomTypes), MaxRoomTypes)
	}
	if len(p.RatePlans) > MaxRatePlans {
		pr.Add("rate_plans", "has %d rate plans; at most %d are allowed", len(p.RatePlans), MaxRatePlans)
	}
	roomTypes := map[string]bool{}
	for i, rt := range p.RoomTypes {
		f := fmt.Sprintf("room_types[%d]", i)
		pr.CheckCode(f+".code", rt.Code)
		if roomTypes[rt.Code] {
			pr.Add(f+".code", "%q appears twice", rt.Code)
		}
		roomTypes[rt.Code] = true
		pr.CheckText(f+".name", rt.Name, canonical.MaxNameLen)
		if rt.Units < 0 || rt.Units > MaxUnits {
			pr.Add(f+".units", "must be between 0 and %d", MaxUnits)
		}
		if rt.MaxOccupancy < 0 || rt.MaxOccupancy > canonical.MaxGuestsInRoom {
			pr.Add(f+".max_occupancy", "must be between 1 and %d, or left out for no limit", canonical.MaxGuestsInRoom)
		}
	}
	ratePlans := map[string]bool{}
	for i, rp := range p.RatePlans {
		f := fmt.Sprintf("rate_plans[%d]", i)
		pr.CheckCode(f+".code", rp.Code)
		if ratePlans[rp.Code] {
			pr.Add(f+".code", "%q appears twice", rp.Code)
		}
		ratePlans[rp.Code] = true
		if !roomTypes[rp.RoomType] {
			pr.Add(f+".room_type", "%q is not one of this property's room types", rp.RoomType)
		}
		pr.CheckText(f+".name", rp.Name, canonical.MaxNameLen)
		pr.Merge(f+".policy", rp.Policy.Validate())
	}
	for i, rp := range p.RatePlans {
		if rp.Derived == nil {
			continue
		}
		f := fmt.Sprintf("rate_plans[%d].derived", i)
		pr.Merge(f, rp.Derived.Validate(p.Currency))
		parent, ok := p.ratePlan(rp.Derived.Parent)
		switch {
		case rp.Derived.Parent == rp.Code:
			pr.Add(f+".parent_rate_plan", "a rate plan cannot derive from itself")
		case !ok:
			pr.Add(f+".parent_rate_plan", "%q is not one of this property's rate plans", rp.Derived.Parent)
		case parent.Derived != nil:
			pr.Add(f+".parent_rate_plan", "%s is itself derived (from %s); derive from a plan with its own rates", parent.Code, parent.Derived.Parent)
		}
	}
	return pr.Err()
}

// PutProperty creates or replaces a property with its room types and rate
// plans. Room types and rate plans left out are removed, unless a room type
// still has rooms sold, which is refused.
func (s *Store) PutProperty(ctx context.Context, p Property) (created bool, err error) {
	if err := p.validate(); err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := loadProperty(ctx, tx, p.ID)
		if errors.Is(err, ErrNotFound) {
			old, err = &Property{ID: p.ID}, nil
		}
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO properties (id, name, timezone, currency) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET name = $2, timezone = $3, currency = $4, updated_at = now()
			RETURNING (xmax = 0)`, p.ID, p.Name, p.Timezone, p.Currency).Scan(&created)
		if err != nil {
			return err
		}
		codes := make([]string, len(p.RoomTypes))
		for i, rt := range p.RoomTypes {
			codes[i] = rt.Code
			var maxOcc *int
			if rt.MaxOccupancy > 0 {
				maxOcc = &p.RoomTypes[i].MaxOccupancy
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO room_types (property_id, code, name, units, max_occupancy) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (property_id, code) DO UPDATE SET name = $3, units = $4, max_occupancy = $5`,
				p.ID, rt.Code, rt.Name, rt.Units, maxOcc); err != nil {
				return err
			}
		}
		var inUse string
		err = tx.QueryRow(ctx, `
			SELECT room_type FROM inventory
			WHERE property_id = $1 AND NOT (room_type = ANY($2)) AND units_sold > 0 AND night >= current_date - 1
			LIMIT 1`, p.ID, codes).Scan(&inUse)
		if err == nil {
			var pr canonical.Problems
			pr.Add("room_types", "room type %q still has rooms sold; keep it until its reservations are gone", inUse)
			return pr.Err()
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		planCodes := make([]string, len(p.RatePlans))
		for i, rp := range p.RatePlans {
			planCodes[i] = rp.Code
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rate_plans WHERE property_id = $1 AND NOT (code = ANY($2))`, p.ID, planCodes); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM room_types WHERE property_id = $1 AND NOT (code = ANY($2))`, p.ID, codes); err != nil {
			return err
		}
		for _, rp := range p.RatePlans {
			if _, err := tx.Exec(ctx, `
				INSERT INTO rate_plans (property_id, code, room_type, name, policy, derived) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (property_id, code) DO UPDATE SET room_type = $3, name = $4, policy = $5, derived = $6`,
				p.ID, rp.Code, rp.RoomType, rp.Name, rp.Policy, rp.Derived); err != nil {
				return err
			}
		}
		return s.rederive(ctx, tx, old, &p)
	})
	s.catalog.forget(p.ID)
	return created, err
}

// GetProperty returns a property with its room types and rate plans, if scope allows it.
func (s *Store) GetProperty(ctx context.Context, scope Scope, id string) (*Property, error) {
	if !scope.Allows(id) {
		return nil, notFound("property", id)
	}
	return loadProperty(ctx, s.pool, id)
}

// querier is what pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadProperty reads a property with its room types and rate plans in one
// round trip: it is on the path of every booking.
func loadProperty(ctx context.Context, q querier, id string) (*Property, error) {
	p := &Property{ID: id}
	var roomTypes, ratePlans []byte
	err := q.QueryRow(ctx, `
		SELECT p.name, p.timezone, p.currency,
			coalesce((SELECT json_agg(json_build_object('code', code, 'name', name, 'units', units,
				'max_occupancy', coalesce(max_occupancy, 0)) ORDER BY code) FROM room_types WHERE property_id = p.id), '[]'),
			coalesce((SELECT json_agg(json_build_object('code', code, 'room_type', room_type, 'name', name, 'policy', policy, 'derived', derived) ORDER BY code)
				FROM rate_plans WHERE property_id = p.id), '[]')
		FROM properties p WHERE p.id = $1`, id).Scan(&p.Name, &p.Timezone, &p.Currency, &roomTypes, &ratePlans)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("property", id)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(roomTypes, &p.RoomTypes); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(ratePlans, &p.RatePlans); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Property) roomType(code string) (RoomType, bool) {
	for _, rt := range p.RoomTypes {
		if rt.Code == code {
			return rt, true
		}
	}
	return RoomType{}, false
}

func (p *Property) ratePlan(code string) (RatePlan, bool) {
	for _, rp := range p.RatePlans {
		if rp.Code == code {
			return rp, true
		}
	}
	return RatePlan{}, false
}

// InventoryUpdate sets the units sellable of a room type for the nights From..To, both inclusive.
type InventoryUpdate struct {
	RoomType string         `json:"room_type"`
	From     canonical.Date `json:"from"`
	To       canonical.Date `json:"to"`
	Units    int            `json:"units"`
}

// RateUpdate sets the prices of a rate plan for the nights From..To, both inclusive.
type RateUpdate struct {
	RatePlan string
	From     canonical.Date
	To       canonical.Date
	Rate     canonical.Rate
}

func checkRange(pr *canonical.Problems, field string, from, to canonical.Date) {
	okF := pr.CheckDate(field+".from", from)
	okT := pr.CheckDate(field+".to", to)
	if okF && okT {
		switch n := from.DaysUntil(to); {
		case n < 0:
			pr.Add(field+".to", "must not be before from (%s)", from)
		case n >= MaxUpdateNights:
			pr.Add(field+".to", "a range of %d nights is longer than the %d allowed", n+1, MaxUpdateNights)
		}
	}
}

func checkUpdateCount(pr *canonical.Problems, n int) bool {
	switch {
	case n == 0:
		pr.Add("updates", "at least one update is required")
	case n > MaxUpdates:
		pr.Add("updates", "has %d updates; at most %d are allowed per request", n, MaxUpdates)
	default:
		return true
	}
	return false
}

// changeProperty runs fn in a transaction with the property as it stands
// in it, if scope allows the property.
func (s *Store) changeProperty(ctx context.Context, scope Scope, propertyID string, fn func(tx pgx.Tx, prop *Property) error) error {
	if !scope.Allows(propertyID) {
		return notFound("property", propertyID)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := loadProperty(ctx, tx, propertyID)
		if err != nil {
			return err
		}
		return fn(tx, prop)
	})
}

// PutInventory sets units sellable per night and publishes the new availability.
func (s *Store) PutInventory(ctx context.Context, scope Scope, propertyID string, updates []InventoryUpdate) error {
	return s.changeProperty(ctx, scope, propertyID, func(tx pgx.Tx, prop *Property) error {
		var pr canonical.Problems
		if checkUpdateCount(&pr, len(updates)) {
			checkInventory(&pr, "updates", prop, updates)
		}
		if err := pr.Err(); err != nil {
			return err
		}
		return s.setInventory(ctx, tx, propertyID, updates, false)
	})
}

// checkInventory adds the problems of inventory updates, named field[i].
func checkInventory(pr *canonical.Problems, field string, prop *Property, updates []InventoryUpdate) {
	for i, u := range updates {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, ok := prop.roomType(u.RoomType); !ok {
			pr.Add(f+".room_type", "%q is not a room type of property %s", u.RoomType, prop.ID)
		}
		checkRange(pr, f, u.From, u.To)
		if u.Units < 0 || u.Units > MaxUnits {
			pr.Add(f+".units", "must be between 0 and %d", MaxUnits)
		}
	}
}

// setInventory writes checked inventory updates in tx and publishes the new
// availability. With unsold, Units is what is left to sell, and each night's
// units already sold are added to it in the statement that writes it, so a
// booking committing meanwhile is counted.
func (s *Store) setInventory(ctx context.Context, tx pgx.Tx, propertyID string, updates []InventoryUpdate, unsold bool) error {
	set := "$5"
	if unsold {
		set = "$5 + inventory.units_sold"
	}
	var nights []nightAvailability
	for _, u := range updates {
		rows, _ := tx.Query(ctx, `
			INSERT INTO inventory (property_id, room_type, night, units_sellable)
			SELECT $1, $2, d::date, $5 FROM generate_series($3::date, $4::date, interval '1 day') d
			ON CONFLICT (property_id, room_type, night) DO UPDATE SET units_sellable = `+set+`
			RETURNING room_type, night, units_sellable - units_sold`,
			propertyID, u.RoomType, u.From.Time(), u.To.Time(), u.Units)
		got, err := pgx.CollectRows(rows, scanNightAvailability)
		if err != nil {
			return err
		}
		nights = append(nights, got...)
	}
	return AppendEvents(ctx, tx, availabilityEvent(ctx, propertyID, s.now(), nights)...)
}

// Offer is one room type and rate plan bookable for a stay.
type Offer struct {
	RoomType      string                   `json:"room_type"`
	RoomTypeName  string                   `json:"room_type_name"`
	RatePlan      string                   `json:"rate_plan"`
	RatePlanName  string                   `json:"rate_plan_name"`
	Available     int                      `json:"available"`
	Total         canonical.Money          `json:"total"`
	NightlyPrices []canonical.NightlyPrice `json:"nightly_prices"`
	// Restricted names the restriction the stay breaks; such offers are
	// listed only when asked for (IncludeRestricted), and cannot be booked.
	Restricted *canonical.RestrictionBreach `json:"restricted,omitempty"`
}

// AvailabilityQuery asks what can be booked for a stay.
type AvailabilityQuery struct {
	PropertyID         string
	Arrival, Departure canonical.Date
	Adults             int
	Children           int
	IncludeSoldOut     bool // also list offers with no unit left
	IncludeRestricted  bool // also list offers a restriction forbids, marked
}

// Availability returns the offers for a stay: every rate plan priced for every
// night for the guests, with the units its room type has left on the fullest
// night. Offers whose restrictions forbid the stay are left out.
func (s *Store) Availability(ctx context.Context, scope Scope, q AvailabilityQuery) ([]Offer, error) {
	if !scope.Allows(q.PropertyID) {
		return nil, notFound("property", q.PropertyID)
	}
	var pr canonical.Problems
	okA := pr.CheckDate("arrival", q.Arrival)
	okD := pr.CheckDate("departure", q.Departure)
	if okA && okD {
		if n := q.Arrival.DaysUntil(q.Departure); n <= 0 {
			pr.Add("departure", "must be after arrival (%s)", q.Arrival)
		} else if n > canonical.MaxStayNights {
			pr.Add("departure", "stay of %d nights is longer than the %d allowed", n, canonical.MaxStayNights)
		}
	}
	if q.Adults < 1 || q.Adults > canonical.MaxGuestsInRoom {
		pr.Add("adults", "must be between 1 and %d", canonical.MaxGuestsInRoom)
	}
	if q.Children < 0 || q.Adults+q.Children > canonical.MaxGuestsInRoom {
		pr.Add("children", "must be between 0 and %d less the adults", canonical.MaxGuestsInRoom)
	}
	if err := pr.Err(); err != nil {
		return nil, err
	}
	prop, err := s.catalog.get(ctx, s.pool, q.PropertyID)
	if err != nil {
		return nil, err
	}
	nights := q.Arrival.DaysUntil(q.Departure)
	rows, _ := s.pool.Query(ctx, `
		WITH nights AS (
			SELECT d::date AS night FROM generate_series($2::date, $3::date - 1, interval '1 day') d
		), avail AS (
			SELECT rt.code, min(coalesce(i.units_sellable, rt.units) - coalesce(i.units_sold, 0)) AS available
			FROM room_types rt CROSS JOIN nights n
			LEFT JOIN inventory i ON i.property_id = rt.property_id AND i.room_type = rt.code AND i.night = n.night
			WHERE rt.property_id = $1 AND (rt.max_occupancy IS NULL OR rt.max_occupancy >= $4)
			GROUP BY rt.code
		)
		SELECT rp.code, a.code, greatest(a.available, 0), array_agg(r.night ORDER BY r.night), array_agg(r.amount ORDER BY r.night), min(r.currency),
			json_agg(r.rate ORDER BY r.night)
		FROM rate_plans rp
		JOIN avail a ON a.code = rp.room_type
		JOIN rates r ON r.property_id = rp.property_id AND r.rate_plan = rp.code AND r.night >= $2 AND r.night < $3
		WHERE rp.property_id = $1
		GROUP BY rp.code, a.code, a.available
		HAVING count(*) = $5
		ORDER BY a.code, rp.code`,
		q.PropertyID, q.Arrival.Time(), q.Departure.Time(), q.Adults+q.Children, nights)
	var offers []Offer
	var ratePlan, roomType, currency string
	var available int
	var dates []time.Time
	var amounts []int64
	var details []json.RawMessage
	_, err = pgx.ForEachRow(rows, []any{&ratePlan, &roomType, &available, &dates, &amounts, &currency, &details}, func() error {
		if available <= 0 && !q.IncludeSoldOut {
			return nil
		}
		rt, _ := prop.roomType(roomType)
		rp, _ := prop.ratePlan(ratePlan)
		o := Offer{RoomType: roomType, RoomTypeName: rt.Name, RatePlan: ratePlan, RatePlanName: rp.Name, Available: available}
		o.Total.Currency = currency
		for i, d := range dates {
			var detail []byte
			if i < len(details) && string(details[i]) != "null" {
				detail = details[i]
			}
			rate, err := rateOf(amounts[i], currency, detail)
			if err != nil {
				return err
			}
			price := rate.For(q.Adults, q.Children)
			o.NightlyPrices = append(o.NightlyPrices, canonical.NightlyPrice{Date: canonical.DateOf(d), Price: price})
			o.Total.Minor += price.Minor
		}
		offers = append(offers, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(offers) > 0 {
		plans := make([]string, len(offers))
		for i, o := range offers {
			plans[i] = o.RatePlan
		}
		b := &pgx.Batch{}
		restr := queueStayRestrictions(b, q.PropertyID, plans, q.Arrival, q.Departure)
		br := s.pool.SendBatch(ctx, b)
		err := restr.read(br)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		kept := offers[:0]
		for _, o := range offers {
			o.Restricted = restr.check(o.RatePlan, q.Arrival, q.Departure)
			if o.Restricted == nil || q.IncludeRestricted {
				kept = append(kept, o)
			}
		}
		offers = kept
	}
	if offers == nil {
		offers = []Offer{}
	}
	return offers, nil
}

// PolicyOf returns the policy that governs r at this property: its first
// room stay's rate plan's (the zero policy when the plan is unknown).
func (p *Property) PolicyOf(r *canonical.Reservation) canonical.RatePolicy {
	if len(r.RoomStays) == 0 {
		return canonical.RatePolicy{}
	}
	rp, _ := p.ratePlan(r.RoomStays[0].RatePlan)
	return rp.Policy
}

// Location returns the property's time zone (UTC if it cannot be loaded,
// which validation prevents).
func (p *Property) Location() *time.Location {
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// lifecycle returns the lifecycle rules for r at this property.
func (p *Property) lifecycle(r *canonical.Reservation) canonical.Lifecycle {
	return canonical.LifecycleOf(p.PolicyOf(r), p.Location())
}
