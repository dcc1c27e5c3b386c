package expedia

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// Name is the connector's registered name. An instance's bookings carry its
// instance name as their channel: "expedia" unless configured otherwise.
const Name = "expedia"

// actions maps Expedia's booking types.
var actions = map[string]canonical.ChannelAction{
	"Book": canonical.ChannelNew, "Modify": canonical.ChannelModify, "Cancel": canonical.ChannelCancel,
}

func bad(format string, args ...any) error { return connectors.Permanent(fmt.Errorf(format, args...)) }

// ParseRetrievalRS safely decodes a BookingRetrievalRS. Errors in it come
// back as an error: a code of 4000 or more (Expedia's own failure) is
// retryable, others permanent.
func ParseRetrievalRS(data []byte) (*RetrievalRS, error) {
	var rs RetrievalRS
	if _, err := connectors.DecodeXML(data, &rs, RootRetrievalRS); err != nil {
		return nil, fmt.Errorf("expedia: %w", err)
	}
	if len(rs.Errors) > 0 {
		return nil, errorOf(rs.Errors[0])
	}
	return &rs, nil
}

// errorOf classifies a QuickConnect error.
func errorOf(e Error) error {
	err := fmt.Errorf("expedia: error %s: %s", connectors.SafeText(e.Code, 10), connectors.SafeText(strings.TrimSpace(e.Text), 300))
	if n, _ := strconv.Atoi(e.Code); n >= 4000 {
		return connectors.Retryable(err)
	}
	return connectors.Permanent(err)
}

// ParseRS reads a BookingConfirmRS or AvailRateUpdateRS: nil for Success.
func ParseRS(data []byte) error {
	var rs RS
	if _, err := connectors.DecodeXML(data, &rs, RootConfirmRS, RootARRS); err != nil {
		return connectors.Permanent(fmt.Errorf("expedia: reply: %w", err))
	}
	if len(rs.Errors) > 0 {
		return errorOf(rs.Errors[0])
	}
	if rs.Success == nil {
		return connectors.Permanent(fmt.Errorf("expedia: reply %s has neither Success nor Error", rs.XMLName.Local))
	}
	return nil
}

// ToBooking reads one booking message into a channel booking in Expedia's
// codes. Nightly prices are Expedia's per-day base rates (before taxes); the
// total is the amount after taxes.
func ToBooking(b *Booking, cards connectors.CardPolicy) (*canonical.ChannelBooking, error) {
	if cards == connectors.CardRefuse {
		if raw, _ := json.Marshal(b); canonical.ContainsCardData(string(raw)) {
			return nil, connectors.Permanent(fmt.Errorf("%w; refused as configured (card_policy: refuse)", connectors.ErrCardNumber))
		}
	}
	action, ok := actions[b.Type]
	if !ok {
		return nil, bad("booking %s: type %q is not Book, Modify or Cancel", connectors.SafeText(b.ID, 20), connectors.SafeText(b.Type, 20))
	}
	if strings.TrimSpace(b.ID) == "" || b.Hotel.ID == "" {
		return nil, bad("booking: id and Hotel id are required")
	}
	r := canonical.Reservation{SchemaVersion: canonical.SchemaVersion, PropertyID: b.Hotel.ID, Channel: Name, ExternalID: strings.TrimSpace(b.ID)}
	if t, err := time.Parse(time.RFC3339, b.CreateDateTime); err == nil {
		r.CreatedAt, r.ModifiedAt = t.UTC(), t.UTC()
	}
	if len(b.RoomStays) == 0 {
		return nil, bad("booking %s: no RoomStay", r.ExternalID)
	}
	var total canonical.Money
	var card *PaymentCard
	for i, s := range b.RoomStays {
		st, t, err := roomStay(s)
		if err != nil {
			return nil, bad("booking %s: RoomStay %d: %v", r.ExternalID, i+1, err)
		}
		r.RoomStays = append(r.RoomStays, st)
		if total, err = total.Add(t); err != nil {
			return nil, bad("booking %s: totals in two currencies", r.ExternalID)
		}
		if s.PaymentCard != nil && card == nil {
			card = s.PaymentCard
		}
	}
	r.Total = total
	g := b.PrimaryGuest
	r.PrimaryGuest = canonical.Guest{GivenName: strings.TrimSpace(g.Name.GivenName), Surname: strings.TrimSpace(g.Name.Surname), Email: strings.TrimSpace(g.Email)}
	if p := g.Phone; p != nil && p.Number != "" {
		var parts []string
		if p.CountryCode != "" {
			parts = append(parts, "+"+strings.TrimPrefix(p.CountryCode, "+"))
		}
		if p.CityAreaCode != "" {
			parts = append(parts, p.CityAreaCode)
		}
		r.PrimaryGuest.Phone = strings.Join(append(parts, p.Number), " ")
	}
	for _, sr := range b.SpecialRequests {
		if t := strings.TrimSpace(sr.Text); t != "" {
			r.Comments = append(r.Comments, t)
		}
	}
	if card != nil {
		r.Guarantee = &canonical.Guarantee{Type: "card", CardBrand: card.CardCode, CardExpiry: card.ExpireDate, CardMask: connectors.CardMask(card.CardNumber)}
		if card.CardHolder != nil {
			r.Guarantee.HolderName = strings.TrimSpace(card.CardHolder.Name)
		}
	}
	out := &canonical.ChannelBooking{SchemaVersion: canonical.SchemaVersion, Connector: Name, Action: action, Reservation: r}
	if b.CreateDateTime != "" {
		out.Revision = b.Type + "@" + b.CreateDateTime
	}
	if _, err := connectors.GuardBooking(out, cards); err != nil {
		return nil, err
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

func roomStay(s RoomStay) (canonical.RoomStay, canonical.Money, error) {
	var st canonical.RoomStay
	arrival, err := canonical.ParseDate(s.StayDate.Arrival)
	if err != nil {
		return st, canonical.Money{}, fmt.Errorf("StayDate arrival: %v", err)
	}
	departure, err := canonical.ParseDate(s.StayDate.Departure)
	if err != nil {
		return st, canonical.Money{}, fmt.Errorf("StayDate departure: %v", err)
	}
	if n := arrival.DaysUntil(departure); n <= 0 || n > canonical.MaxStayNights {
		return st, canonical.Money{}, fmt.Errorf("departure %s is not 1 to %d nights after arrival %s", departure, canonical.MaxStayNights, arrival)
	}
	st = canonical.RoomStay{RoomType: s.RoomTypeID, RatePlan: s.RatePlanID, Arrival: arrival, Departure: departure}
	if st.Adults, err = strconv.Atoi(s.GuestCount.Adult); err != nil || st.Adults < 0 || st.Adults > canonical.MaxGuestsInRoom {
		return st, canonical.Money{}, fmt.Errorf("GuestCount adult %q is not 0 to %d", connectors.SafeText(s.GuestCount.Adult, 10), canonical.MaxGuestsInRoom)
	}
	for _, c := range s.GuestCount.Children {
		age, err := strconv.Atoi(c.Age)
		if err != nil || age < 0 || age > canonical.MaxChildAge {
			return st, canonical.Money{}, fmt.Errorf("Child age %q is not 0 to %d", connectors.SafeText(c.Age, 10), canonical.MaxChildAge)
		}
		st.ChildrenAges = append(st.ChildrenAges, age)
	}
	if n, err := strconv.Atoi(s.GuestCount.Child); err == nil && n != len(st.ChildrenAges) {
		return st, canonical.Money{}, fmt.Errorf("GuestCount child=%d but %d Child ages", n, len(st.ChildrenAges))
	}
	if len(s.PerDayRates.Rates) > 0 {
		byNight := map[canonical.Date]canonical.Money{}
		for _, p := range s.PerDayRates.Rates {
			d, err := canonical.ParseDate(p.StayDate)
			if err != nil {
				return st, canonical.Money{}, fmt.Errorf("PerDayRate stayDate: %v", err)
			}
			m, err := connectors.ParseAmount(p.BaseRate, s.PerDayRates.Currency)
			if err != nil {
				return st, canonical.Money{}, fmt.Errorf("PerDayRate %s: %v", d, err)
			}
			if m.Minor < 0 {
				return st, canonical.Money{}, fmt.Errorf("PerDayRate %s: negative rate %s", d, m)
			}
			if _, dup := byNight[d]; dup {
				return st, canonical.Money{}, fmt.Errorf("night %s is priced twice", d)
			}
			byNight[d] = m
		}
		for _, n := range st.Nights() {
			m, ok := byNight[n]
			if !ok {
				return st, canonical.Money{}, fmt.Errorf("night %s has no PerDayRate", n)
			}
			st.NightlyPrices = append(st.NightlyPrices, canonical.NightlyPrice{Date: n, Price: m})
		}
		if len(byNight) != len(st.NightlyPrices) {
			return st, canonical.Money{}, fmt.Errorf("PerDayRates price nights outside the stay %s to %s", arrival, departure)
		}
	}
	var total canonical.Money
	if s.Total != nil {
		if total, err = connectors.ParseAmount(s.Total.AmountAfterTaxes, s.Total.Currency); err != nil {
			return st, canonical.Money{}, fmt.Errorf("Total: %v", err)
		}
		if total.Minor < 0 {
			return st, canonical.Money{}, fmt.Errorf("Total: negative amount %s", total)
		}
		stated := total
		st.Total = &stated // the room's own total, as Expedia stated it
	} else {
		for _, n := range st.NightlyPrices {
			total, _ = total.Add(n.Price)
		}
	}
	return st, total, nil
}

// BookingOf renders a reservation (in Expedia's codes) as a booking message
// of type typ; the simulator lists bookings with it.
func BookingOf(r *canonical.Reservation, typ string) Booking {
	b := Booking{ID: r.ExternalID, Type: typ, Source: "Expedia", Status: "pending", Hotel: Hotel{ID: r.PropertyID},
		PrimaryGuest: PrimaryGuest{Name: GuestName{GivenName: r.PrimaryGuest.GivenName, Surname: r.PrimaryGuest.Surname}, Email: r.PrimaryGuest.Email}}
	if !r.ModifiedAt.IsZero() {
		b.CreateDateTime = r.ModifiedAt.UTC().Format(time.RFC3339Nano)
	}
	if r.PrimaryGuest.Phone != "" {
		b.PrimaryGuest.Phone = &Phone{Number: r.PrimaryGuest.Phone}
	}
	for _, s := range r.RoomStays {
		rs := RoomStay{RoomTypeID: s.RoomType, RatePlanID: s.RatePlan, StayDate: StayDate{Arrival: s.Arrival.String(), Departure: s.Departure.String()},
			GuestCount: GuestCount{Adult: strconv.Itoa(s.Adults)}}
		if len(s.ChildrenAges) > 0 {
			rs.GuestCount.Child = strconv.Itoa(len(s.ChildrenAges))
		}
		for _, a := range s.ChildrenAges {
			rs.GuestCount.Children = append(rs.GuestCount.Children, Child{Age: strconv.Itoa(a)})
		}
		var sum canonical.Money
		for _, n := range s.NightlyPrices {
			rs.PerDayRates.Currency = n.Price.Currency
			rs.PerDayRates.Rates = append(rs.PerDayRates.Rates, PerDayRate{StayDate: n.Date.String(), BaseRate: n.Price.Decimal()})
			sum, _ = sum.Add(n.Price)
		}
		switch {
		case s.Total != nil:
			sum = *s.Total
		case len(r.RoomStays) == 1 && !r.Total.IsZero():
			sum = r.Total
		}
		if sum.Currency != "" {
			rs.Total = &Total{AmountAfterTaxes: sum.Decimal(), Currency: sum.Currency}
		}
		if g := r.Guarantee; g != nil && g.Type == "card" {
			rs.PaymentCard = &PaymentCard{CardCode: g.CardBrand, CardNumber: g.CardMask, ExpireDate: g.CardExpiry}
		}
		b.RoomStays = append(b.RoomStays, rs)
	}
	for _, c := range r.Comments {
		b.SpecialRequests = append(b.SpecialRequests, SpecialRequest{Text: c})
	}
	return b
}

// Translator converts QuickConnect booking retrievals.
type Translator struct{}

var _ connectors.Translator = Translator{}

// ToCanonical reads a BookingRetrievalRS holding one booking, or an
// AvailRateUpdateRQ.
func (Translator) ToCanonical(data []byte) (connectors.Message, error) {
	root, err := connectors.CheckXML(data)
	if err != nil {
		return connectors.Message{}, fmt.Errorf("expedia: %w", err)
	}
	if root.Local == RootARRQ.Local {
		rq, err := ParseAR(data)
		if err != nil {
			return connectors.Message{}, err
		}
		return connectors.Message{ARI: &rq.Update}, nil
	}
	rs, err := ParseRetrievalRS(data)
	if err != nil {
		return connectors.Message{}, err
	}
	if len(rs.Bookings) != 1 {
		return connectors.Message{}, bad("expedia: the retrieval holds %d bookings; translate them one at a time", len(rs.Bookings))
	}
	b, err := ToBooking(&rs.Bookings[0], connectors.CardDrop)
	if err != nil {
		return connectors.Message{}, fmt.Errorf("expedia: %w", err)
	}
	return connectors.Message{Booking: b}, nil
}

// FromCanonical renders a reservation as a BookingRetrievalRS.
func (Translator) FromCanonical(r *canonical.Reservation) ([]byte, error) {
	typ := "Book"
	if r.Status == canonical.StatusCancelled {
		typ = "Cancel"
	}
	return Marshal(RetrievalRS{XMLName: RootRetrievalRS, Bookings: []Booking{BookingOf(r, typ)}})
}

// Marshal renders a QuickConnect message with its XML declaration.
func Marshal(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// ARMessage is a parsed AvailRateUpdateRQ.
type ARMessage struct {
	Auth   Authentication
	Update canonical.ARIUpdate
	Count  int // AvailRateUpdate elements
}

// ParseAR safely reads an AvailRateUpdateRQ into an update in Expedia's codes.
func ParseAR(data []byte) (*ARMessage, error) {
	var rq ARRQ
	if _, err := connectors.DecodeXML(data, &rq, RootARRQ); err != nil {
		return nil, fmt.Errorf("expedia: %w", err)
	}
	if rq.Hotel.ID == "" {
		return nil, bad("expedia: Hotel id is required")
	}
	out := &ARMessage{Auth: rq.Authentication, Update: canonical.ARIUpdate{PropertyID: rq.Hotel.ID}, Count: len(rq.Updates)}
	for i, u := range rq.Updates {
		from, err1 := canonical.ParseDate(u.DateRange.From)
		to, err2 := canonical.ParseDate(u.DateRange.To)
		if err := errors.Join(err1, err2); err != nil || to.Before(from) || from.DaysUntil(to) > 3*366 {
			return nil, bad("expedia: AvailRateUpdate %d: DateRange %q to %q is not a range of dates", i+1, connectors.SafeText(u.DateRange.From, 20), connectors.SafeText(u.DateRange.To, 20))
		}
		rt := u.RoomType
		if rt.ID == "" {
			return nil, bad("expedia: AvailRateUpdate %d: RoomType id is required", i+1)
		}
		if inv := rt.Inventory; inv != nil {
			n, err := strconv.Atoi(inv.TotalInventoryAvailable)
			if err != nil || n < 0 {
				return nil, bad("expedia: AvailRateUpdate %d: totalInventoryAvailable %q is not a count", i+1, connectors.SafeText(inv.TotalInventoryAvailable, 20))
			}
			out.Update.Availability = append(out.Update.Availability, canonical.AvailabilityUpdate{RoomType: rt.ID, From: from, To: to, Available: n})
		}
		if rt.Closed != "" {
			out.Update.Restrictions = append(out.Update.Restrictions, canonical.RestrictionsUpdate{RoomType: rt.ID, From: from, To: to, StopSell: flag(rt.Closed)})
		}
		for _, rp := range rt.RatePlans {
			if rp.Rate != nil {
				rate, err := parseARRate(rp.Rate)
				if err != nil {
					return nil, bad("expedia: AvailRateUpdate %d: %v", i+1, err)
				}
				out.Update.Rates = append(out.Update.Rates, canonical.RateUpdate{RoomType: rt.ID, RatePlan: rp.ID, From: from, To: to, Rate: rate})
			}
			if rp.Restrictions != nil || rp.Closed != "" {
				r := canonical.RestrictionsUpdate{RoomType: rt.ID, RatePlan: rp.ID, From: from, To: to, StopSell: flag(rp.Closed)}
				if x := rp.Restrictions; x != nil {
					r.ClosedToArrival, r.ClosedToDeparture = flag(x.ClosedToArrival), flag(x.ClosedToDeparture)
					for _, los := range []struct {
						attr string
						dst  **int
					}{{x.MinLOS, &r.MinStay}, {x.MaxLOS, &r.MaxStay}} {
						if los.attr == "" {
							continue
						}
						n, err := strconv.Atoi(los.attr)
						if err != nil || n < 0 || n > canonical.MaxStayNights {
							return nil, bad("expedia: AvailRateUpdate %d: length of stay %q is not 0 to %d", i+1, connectors.SafeText(los.attr, 10), canonical.MaxStayNights)
						}
						*los.dst = &n
					}
				}
				out.Update.Restrictions = append(out.Update.Restrictions, r)
			}
		}
	}
	return out, nil
}

// flag reads an optional true/false attribute: nil when absent.
func flag(s string) *bool {
	if s == "" {
		return nil
	}
	v := s == "true"
	return &v
}

// parseARRate reads a Rate element: one PerDay rate, or PerOccupancy rates
// by number of adults (the most adults' is the standard price).
func parseARRate(x *ARRate) (canonical.Rate, error) {
	var out canonical.Rate
	parse := func(s string) (canonical.Money, error) {
		m, err := connectors.ParseAmount(s, x.Currency)
		if err != nil || m.Minor < 0 {
			return m, fmt.Errorf("rate %q: not an amount", connectors.SafeText(s, 20))
		}
		return m, nil
	}
	if x.PerDay != nil {
		m, err := parse(x.PerDay.Rate)
		if err != nil {
			return out, err
		}
		out.Price = m
	}
	for _, o := range x.PerOccupancy {
		n, err := strconv.Atoi(o.Occupancy)
		if err != nil || n < 1 || n > canonical.MaxGuestsInRoom {
			return out, fmt.Errorf("occupancy %q is not 1 to %d", connectors.SafeText(o.Occupancy, 10), canonical.MaxGuestsInRoom)
		}
		m, err := parse(o.Rate)
		if err != nil {
			return out, err
		}
		out.Occupancy = append(out.Occupancy, canonical.OccupancyPrice{Adults: n, Price: m})
	}
	sort.Slice(out.Occupancy, func(i, j int) bool { return out.Occupancy[i].Adults < out.Occupancy[j].Adults })
	switch {
	case x.PerDay == nil && len(out.Occupancy) == 0:
		return out, errors.New("Rate has neither PerDay nor PerOccupancy")
	case x.PerDay == nil:
		out.Price = out.Occupancy[len(out.Occupancy)-1].Price
	}
	return out, nil
}

// ARUpdates renders an ARI update (in Expedia's codes) as AvailRateUpdate
// elements, one per entry. Restrictions an entry leaves unset are left out;
// Expedia has no minimum stay through a night, so that one is not sent.
// Rates by occupancy go as PerOccupancy rates (extra adult and child
// amounts are not part of Expedia's AR rate).
func ARUpdates(u canonical.ARIUpdate) []ARUpdate {
	var out []ARUpdate
	dr := func(from, to canonical.Date) DateRange { return DateRange{From: from.String(), To: to.String()} }
	for _, a := range u.Availability {
		out = append(out, ARUpdate{DateRange: dr(a.From, a.To), RoomType: ARRoomType{ID: a.RoomType,
			Inventory: &ARInventory{TotalInventoryAvailable: strconv.Itoa(max(a.Available, 0))}}})
	}
	boolAttr := func(v *bool) string {
		if v == nil {
			return ""
		}
		return strconv.FormatBool(*v)
	}
	intAttr := func(v *int) string {
		if v == nil {
			return ""
		}
		return strconv.Itoa(*v) // 0 lifts the limit
	}
	for _, r := range u.Restrictions {
		closed := boolAttr(r.StopSell)
		if r.RatePlan == "" {
			if closed != "" {
				out = append(out, ARUpdate{DateRange: dr(r.From, r.To), RoomType: ARRoomType{ID: r.RoomType, Closed: closed}})
			}
			continue
		}
		x := &ARRestrictions{ClosedToArrival: boolAttr(r.ClosedToArrival), ClosedToDeparture: boolAttr(r.ClosedToDeparture),
			MinLOS: intAttr(r.MinStay), MaxLOS: intAttr(r.MaxStay)}
		if *x == (ARRestrictions{}) {
			x = nil
		}
		if x == nil && closed == "" {
			continue
		}
		out = append(out, ARUpdate{DateRange: dr(r.From, r.To), RoomType: ARRoomType{ID: r.RoomType,
			RatePlans: []ARRatePlan{{ID: r.RatePlan, Closed: closed, Restrictions: x}}}})
	}
	for _, r := range u.Rates {
		rate := &ARRate{Currency: r.Price.Currency}
		if len(r.Occupancy) == 0 {
			rate.PerDay = &ARPerDay{Rate: r.Price.Decimal()}
		}
		for _, o := range r.Occupancy {
			rate.PerOccupancy = append(rate.PerOccupancy, ARPerOccupancy{Rate: o.Price.Decimal(), Occupancy: strconv.Itoa(o.Adults)})
		}
		out = append(out, ARUpdate{DateRange: dr(r.From, r.To), RoomType: ARRoomType{ID: r.RoomType, RatePlans: []ARRatePlan{{ID: r.RatePlan, Rate: rate}}}})
	}
	return out
}
