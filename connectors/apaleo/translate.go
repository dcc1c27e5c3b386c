package apaleo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
)

// Channel is the Roomwire channel of bookings made in Apaleo, as the
// translator gives them; an instance's bookings carry its own name.
const Channel = "apaleo"

// DefaultChannelCode is the Apaleo channel code Roomwire books with (the
// default of channel_code). Apaleo reservations carrying it were made by
// Roomwire, and are not read back.
var DefaultChannelCode = func() string {
	f, _ := spec.Lookup[Config]("channel_code")
	return f.Default
}()

// Apaleo's reservation statuses.
const (
	StatusConfirmed  = "Confirmed"
	StatusInHouse    = "InHouse"
	StatusCheckedOut = "CheckedOut"
	StatusCanceled   = "Canceled"
	StatusNoShow     = "NoShow"
)

// statusMappings are the default mappings of Apaleo's fixed statuses.
var statusMappings = []connectors.Mapping{
	{Kind: connectors.KindStatus, Partner: StatusConfirmed, Roomwire: string(canonical.StatusConfirmed)},
	{Kind: connectors.KindStatus, Partner: StatusInHouse, Roomwire: string(canonical.StatusCheckedIn)},
	{Kind: connectors.KindStatus, Partner: StatusCheckedOut, Roomwire: string(canonical.StatusCheckedOut)},
	{Kind: connectors.KindStatus, Partner: StatusCanceled, Roomwire: string(canonical.StatusCancelled)},
	{Kind: connectors.KindStatus, Partner: StatusNoShow, Roomwire: string(canonical.StatusNoShow)},
}

// Translator converts Apaleo's messages to and from canonical form.
type Translator struct {
	// ChannelCode is put on bookings Roomwire makes; default DefaultChannelCode.
	ChannelCode string
}

var _ connectors.Translator = Translator{}

// ToCanonical parses an Apaleo reservation (GET /booking/v1/reservations/{id})
// or a booking request (POST /booking/v1/bookings) into a channel booking in
// Apaleo's codes.
func (t Translator) ToCanonical(data []byte) (connectors.Message, error) {
	var probe map[string]json.RawMessage
	if err := connectors.DecodeJSON(data, &probe); err != nil {
		return connectors.Message{}, fmt.Errorf("apaleo: %w", err)
	}
	switch {
	case probe["topic"] != nil && probe["data"] != nil:
		return connectors.Message{}, connectors.Permanent(errors.New("apaleo: this is a webhook, which carries only the reservation id; translate the reservation it names (GET /booking/v1/reservations/{id})"))
	case probe["reservations"] != nil && probe["booker"] != nil:
		var req CreateBooking
		if err := connectors.DecodeJSON(data, &req); err != nil {
			return connectors.Message{}, fmt.Errorf("apaleo booking request: %w", err)
		}
		b, err := BookingRequestToBooking(&req)
		if err != nil {
			return connectors.Message{}, err
		}
		return connectors.Message{Booking: b}, nil
	}
	r, err := ParseReservation(data)
	if err != nil {
		return connectors.Message{}, err
	}
	b, err := ReservationToBooking(r)
	if err != nil {
		return connectors.Message{}, err
	}
	return connectors.Message{Booking: b}, nil
}

// FromCanonical renders a reservation in Apaleo's codes as the booking
// request Roomwire would send to create it.
func (t Translator) FromCanonical(r *canonical.Reservation) ([]byte, error) {
	req, err := BookingRequest(r, t.ChannelCode)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseReservation parses an Apaleo reservation, within the SDK's size and
// depth bounds.
func ParseReservation(data []byte) (*Reservation, error) {
	var r Reservation
	if err := connectors.DecodeJSON(data, &r); err != nil {
		return nil, fmt.Errorf("apaleo reservation: %w", err)
	}
	return &r, nil
}

// ReservationToBooking translates an Apaleo reservation into a channel
// booking. Codes (property, unit group, rate plan, status) stay Apaleo's; the
// inbound applier maps them. Every problem is named by its Apaleo field.
func ReservationToBooking(r *Reservation) (*canonical.ChannelBooking, error) {
	var p canonical.Problems
	need := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			p.Add(field, "is required")
		}
	}
	need("id", r.ID)
	need("property.id", r.Property.ID)
	need("status", r.Status)
	need("unitGroup.id", r.UnitGroup.ID)
	need("ratePlan.id", r.RatePlan.ID)
	arrival := parseDate(&p, "arrival", r.Arrival)
	departure := parseDate(&p, "departure", r.Departure)
	if r.Adults < 1 || r.Adults > canonical.MaxGuestsInRoom {
		p.Add("adults", "must be between 1 and %d (got %d)", canonical.MaxGuestsInRoom, r.Adults)
	}
	if len(r.ChildrenAges) > canonical.MaxGuestsInRoom {
		p.Add("childrenAges", "has %d children; at most %d are allowed", len(r.ChildrenAges), canonical.MaxGuestsInRoom)
	}
	if len(r.TimeSlices) > canonical.MaxStayNights {
		p.Add("timeSlices", "has %d nights; at most %d are allowed", len(r.TimeSlices), canonical.MaxStayNights)
	}
	stay := canonical.RoomStay{
		RoomType: r.UnitGroup.ID, RatePlan: r.RatePlan.ID,
		Arrival: arrival, Departure: departure,
		Adults: r.Adults, ChildrenAges: append([]int(nil), r.ChildrenAges...),
	}
	for i, ts := range r.TimeSlices {
		if len(r.TimeSlices) > canonical.MaxStayNights {
			break
		}
		f := fmt.Sprintf("timeSlices[%d]", i)
		day := ts.ServiceDate
		if day == "" {
			day = ts.From
		}
		night := parseDate(&p, f+".serviceDate", day)
		if ts.TotalGrossAmount == nil {
			continue // a night without a price is priced by the store
		}
		price, err := toMoney(ts.TotalGrossAmount)
		if err != nil {
			p.Add(f+".totalGrossAmount", "%v", err)
			continue
		}
		stay.NightlyPrices = append(stay.NightlyPrices, canonical.NightlyPrice{Date: night, Price: price})
	}
	res := canonical.Reservation{
		SchemaVersion: canonical.SchemaVersion,
		PropertyID:    r.Property.ID,
		Status:        canonical.Status(r.Status),
		Channel:       Channel,
		ExternalID:    r.ID,
		RoomStays:     []canonical.RoomStay{stay},
	}
	if r.TotalGrossAmount != nil {
		total, err := toMoney(r.TotalGrossAmount)
		if err != nil {
			p.Add("totalGrossAmount", "%v", err)
		}
		res.Total = total
	}
	if r.PrimaryGuest == nil {
		p.Add("primaryGuest", "is required")
	} else {
		res.PrimaryGuest = toGuest(r.PrimaryGuest)
	}
	for _, g := range r.AdditionalGuests {
		res.AdditionalGuests = append(res.AdditionalGuests, toGuest(&g))
	}
	for _, c := range []string{r.Comment, r.GuestComment} {
		if strings.TrimSpace(c) != "" {
			res.Comments = append(res.Comments, c)
		}
	}
	res.Guarantee = toGuarantee(r.GuaranteeType, r.PaymentAccount)
	times := []*time.Time{&res.CreatedAt, &res.ModifiedAt}
	for i, s := range []string{r.Created, r.Modified} {
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			p.Add([]string{"created", "modified"}[i], "%q is not a time such as 2027-03-02T09:14:11+00:00", connectors.SafeText(s, 40))
			continue
		}
		*times[i] = t.UTC()
	}
	if err := p.Err(); err != nil {
		return nil, connectors.Permanent(fmt.Errorf("apaleo reservation %s: %w", connectors.SafeText(r.ID, 40), err))
	}
	action := canonical.ChannelModify
	switch {
	case r.Status == StatusCanceled:
		action = canonical.ChannelCancel
	case r.Modified == "" || r.Modified == r.Created:
		action = canonical.ChannelNew
	}
	revision := r.Modified
	if revision == "" {
		revision = r.Created
	}
	return &canonical.ChannelBooking{
		SchemaVersion: canonical.SchemaVersion,
		Connector:     Channel,
		Action:        action,
		Revision:      revision,
		Reservation:   res,
	}, nil
}

// BookingRequestToBooking reads a booking request. Apaleo's request names
// rate plans only; the property is the prefix of the rate plan id (Apaleo's
// ids are property-prefixed, e.g. LIS-FLEX-DBL), and the unit group is left
// empty: it follows from the rate plan.
func BookingRequestToBooking(req *CreateBooking) (*canonical.ChannelBooking, error) {
	var p canonical.Problems
	if len(req.Reservations) == 0 {
		p.Add("reservations", "at least one reservation is required")
	}
	if len(req.Reservations) > canonical.MaxRoomStays {
		p.Add("reservations", "has %d reservations; at most %d are allowed", len(req.Reservations), canonical.MaxRoomStays)
		return nil, connectors.Permanent(fmt.Errorf("apaleo booking request: %w", p.Err()))
	}
	res := canonical.Reservation{SchemaVersion: canonical.SchemaVersion, Channel: Channel, Status: StatusConfirmed}
	var total canonical.Money
	for i, cr := range req.Reservations {
		f := fmt.Sprintf("reservations[%d]", i)
		stay := canonical.RoomStay{
			Arrival:      parseDate(&p, f+".arrival", cr.Arrival),
			Departure:    parseDate(&p, f+".departure", cr.Departure),
			Adults:       cr.Adults,
			ChildrenAges: append([]int(nil), cr.ChildrenAges...),
		}
		if len(cr.TimeSlices) == 0 {
			p.Add(f+".timeSlices", "at least one time slice is required")
		}
		var nights []canonical.Date
		if n := stay.Arrival.DaysUntil(stay.Departure); n > canonical.MaxStayNights {
			p.Add(f+".departure", "a stay of %d nights is longer than the %d allowed", n, canonical.MaxStayNights)
		} else {
			nights = canonical.Nights(stay.Arrival, stay.Departure)
		}
		if len(cr.TimeSlices) > canonical.MaxStayNights {
			p.Add(f+".timeSlices", "has %d nights; at most %d are allowed", len(cr.TimeSlices), canonical.MaxStayNights)
			continue
		}
		for j, ts := range cr.TimeSlices {
			g := fmt.Sprintf("%s.timeSlices[%d]", f, j)
			if ts.RatePlanID == "" {
				p.Add(g+".ratePlanId", "is required")
			} else if stay.RatePlan == "" {
				stay.RatePlan = ts.RatePlanID
			}
			if ts.TotalAmount == nil || j >= len(nights) {
				continue
			}
			price, err := toMoney(ts.TotalAmount)
			if err != nil {
				p.Add(g+".totalAmount", "%v", err)
				continue
			}
			stay.NightlyPrices = append(stay.NightlyPrices, canonical.NightlyPrice{Date: nights[j], Price: price})
			if t, err := total.Add(price); err == nil {
				total = t
			}
		}
		if i == 0 {
			res.PrimaryGuest = toGuest(&cr.PrimaryGuest)
			res.ExternalID = cr.ExternalCode
			if prop, _, ok := strings.Cut(stay.RatePlan, "-"); ok {
				res.PropertyID = prop
			}
		}
		// Each reservation is one room with its own guests.
		for _, g := range append([]Guest{cr.PrimaryGuest}, cr.AdditionalGuests...) {
			stay.Guests = append(stay.Guests, guestPosition(&res, toGuest(&g)))
		}
		res.RoomStays = append(res.RoomStays, stay)
	}
	res.Total = total
	if req.Comment != "" {
		res.Comments = []string{req.Comment}
	}
	if err := p.Err(); err != nil {
		return nil, connectors.Permanent(fmt.Errorf("apaleo booking request: %w", err))
	}
	return &canonical.ChannelBooking{SchemaVersion: canonical.SchemaVersion, Connector: Channel, Action: canonical.ChannelNew, Reservation: res}, nil
}

// guestPosition returns g's position in the reservation's guests (0 the
// primary guest, n additional n-1), adding g when it is not among them.
func guestPosition(r *canonical.Reservation, g canonical.Guest) int {
	for i, have := range r.Guests() {
		if have.GivenName == g.GivenName && have.Surname == g.Surname && have.Email == g.Email {
			return i
		}
	}
	r.AdditionalGuests = append(r.AdditionalGuests, g)
	return len(r.AdditionalGuests)
}

// BookingRequest renders a reservation (in Apaleo's codes) as a booking
// request: one Apaleo reservation per room stay, each with the room's own
// primary guest, one time slice per night.
func BookingRequest(r *canonical.Reservation, channelCode string) (*CreateBooking, error) {
	if len(r.RoomStays) == 0 {
		return nil, connectors.Permanent(errors.New("apaleo: the reservation has no room stays"))
	}
	req := &CreateBooking{Booker: fromGuest(r.PrimaryGuest)}
	for i := range r.RoomStays {
		cr, err := roomReservation(r, i, channelCode)
		if err != nil {
			return nil, err
		}
		req.Reservations = append(req.Reservations, cr)
	}
	return req, nil
}

// roomReservation renders room stay i of r as one Apaleo reservation, with
// the room's own primary guest and the others staying in it.
func roomReservation(r *canonical.Reservation, i int, channelCode string) (CreateReservation, error) {
	if channelCode == "" {
		channelCode = DefaultChannelCode
	}
	s := r.RoomStays[i]
	// Bounded before a time slice is made per night.
	if n := s.Arrival.DaysUntil(s.Departure); n < 1 || n > canonical.MaxStayNights {
		return CreateReservation{}, connectors.Permanent(fmt.Errorf("apaleo: room stay %d: %d nights; Apaleo needs 1 to %d", i, n, canonical.MaxStayNights))
	}
	external := r.ExternalID
	if external == "" {
		external = r.ConfirmationNumber
	}
	guests := r.RoomGuests(i)
	if len(guests) == 0 || strings.TrimSpace(guests[0].Surname) == "" {
		// Apaleo needs the primary guest's last name; the booker's is known.
		guests = append([]canonical.Guest{r.PrimaryGuest}, guests...)
	}
	cr := CreateReservation{
		Arrival:       s.Arrival.String(),
		Departure:     s.Departure.String(),
		Adults:        s.Adults,
		ChildrenAges:  s.ChildrenAges,
		ChannelCode:   channelCode,
		Source:        r.Channel,
		ExternalCode:  external,
		PrimaryGuest:  fromGuest(guests[0]),
		GuaranteeType: fromGuarantee(r.Guarantee),
		Comment:       strings.Join(r.Comments, "\n"),
		TimeSlices:    timeSlices(s),
	}
	for _, g := range guests[1:] {
		cr.AdditionalGuests = append(cr.AdditionalGuests, fromGuest(g))
	}
	return cr, nil
}

// AmendRequest renders one room stay as an amendment.
func AmendRequest(s canonical.RoomStay, comments []string) Amend {
	return Amend{
		Arrival: s.Arrival.String(), Departure: s.Departure.String(),
		Adults: s.Adults, ChildrenAges: s.ChildrenAges,
		Comment:    strings.Join(comments, "\n"),
		TimeSlices: timeSlices(s),
	}
}

// timeSlices renders the stay's nights. Apaleo prices a reservation by its
// time slices, so they carry the room's own total when the channel stated
// one: a total the nightly prices do not add up to has the difference
// spread over the nights, and a total with no nightly prices is shared out
// among them.
func timeSlices(s canonical.RoomStay) []CreateTimeSlice {
	nights := s.Nights()
	prices := nightPrices(s, nights)
	out := make([]CreateTimeSlice, 0, len(nights))
	for i := range nights {
		ts := CreateTimeSlice{RatePlanID: s.RatePlan}
		if prices[i] != nil {
			ts.TotalAmount = fromMoney(*prices[i])
		}
		out = append(out, ts)
	}
	return out
}

// nightPrices returns each night's price (nil: Apaleo's rate plan prices it).
func nightPrices(s canonical.RoomStay, nights []canonical.Date) []*canonical.Money {
	out := make([]*canonical.Money, len(nights))
	byNight := map[canonical.Date]canonical.Money{}
	for _, n := range s.NightlyPrices {
		byNight[n.Date] = n.Price
	}
	var sum canonical.Money
	priced := 0
	for i, night := range nights {
		if p, ok := byNight[night]; ok {
			out[i] = &p
			sum, _ = sum.Add(p)
			priced++
		}
	}
	if s.Total == nil || len(nights) == 0 || (priced > 0 && priced < len(nights)) {
		return out
	}
	if priced == 0 || sum.Currency != s.Total.Currency {
		for i, share := range s.Total.Split(len(nights)) {
			out[i] = &share
		}
		return out
	}
	for i, d := range (canonical.Money{Minor: s.Total.Minor - sum.Minor, Currency: sum.Currency}).Split(len(nights)) {
		p := canonical.Money{Minor: out[i].Minor + d.Minor, Currency: sum.Currency}
		if p.Minor < 0 {
			// A total below the nightly prices' sum is shared out evenly instead.
			for j, share := range s.Total.Split(len(nights)) {
				out[j] = &share
			}
			return out
		}
		out[i] = &p
	}
	return out
}

// parseDate reads Apaleo's dates: "2027-04-10", or a time such as
// "2027-04-10T15:00:00+01:00", whose date is taken in its own offset (the
// property's local date).
func parseDate(p *canonical.Problems, field, s string) canonical.Date {
	if s == "" {
		p.Add(field, "is required")
		return canonical.Date{}
	}
	if len(s) == len(canonical.DateLayout) {
		d, err := canonical.ParseDate(s)
		if err != nil {
			p.Add(field, "%v", err)
		}
		return d
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		p.Add(field, "%q is not a date (2027-04-10) or a time (2027-04-10T15:00:00+01:00)", connectors.SafeText(s, 40))
		return canonical.Date{}
	}
	return canonical.DateOf(t)
}

func toMoney(m *Money) (canonical.Money, error) {
	return connectors.ParseAmount(string(m.Amount), m.Currency)
}

func fromMoney(m canonical.Money) *Money {
	return &Money{Amount: json.Number(m.Decimal()), Currency: m.Currency}
}

func toGuest(g *Guest) canonical.Guest {
	out := canonical.Guest{Title: g.Title, GivenName: g.FirstName, Surname: g.LastName, Email: g.Email, Phone: g.Phone}
	if a := g.Address; a != nil {
		addr := &canonical.Address{City: a.City, PostalCode: a.PostalCode, CountryCode: a.CountryCode}
		for _, l := range []string{a.AddressLine1, a.AddressLine2} {
			if l != "" {
				addr.Lines = append(addr.Lines, l)
			}
		}
		out.Address = addr
	}
	return out
}

func fromGuest(g canonical.Guest) Guest {
	out := Guest{Title: g.Title, FirstName: g.GivenName, LastName: g.Surname, Email: g.Email, Phone: g.Phone}
	if a := g.Address; a != nil {
		out.Address = &Address{City: a.City, PostalCode: a.PostalCode, CountryCode: a.CountryCode}
		if len(a.Lines) > 0 {
			out.Address.AddressLine1 = a.Lines[0]
		}
		if len(a.Lines) > 1 {
			out.Address.AddressLine2 = strings.Join(a.Lines[1:], ", ")
		}
	}
	return out
}

// Apaleo's guarantee types and Roomwire's.
var guaranteeTypes = map[string]string{
	"CreditCard": "card",
	"Prepayment": "deposit",
	"Company":    "company",
	"PM6Hold":    "none",
	"Non":        "none",
}

var cardBrands = map[string]string{
	"visa": "VI", "mastercard": "MC", "amex": "AX", "americanexpress": "AX", "diners": "DC",
	"dinersclub": "DC", "discover": "DS", "jcb": "JC", "unionpay": "UP", "maestro": "MA",
}

func toGuarantee(kind string, acct *PaymentAccount) *canonical.Guarantee {
	if kind == "" && acct == nil {
		return nil
	}
	g := &canonical.Guarantee{Type: guaranteeTypes[kind]}
	if g.Type == "" {
		g.Type = "none"
	}
	if acct != nil {
		g.CardMask = maskAccount(acct.AccountNumber)
		g.CardBrand = cardBrands[strings.ToLower(strings.ReplaceAll(acct.PaymentMethod, " ", ""))]
		g.HolderName = acct.AccountHolder
		if m, err := strconv.Atoi(acct.ExpiryMonth); err == nil && m >= 1 && m <= 12 && len(acct.ExpiryYear) >= 2 {
			g.CardExpiry = fmt.Sprintf("%02d%s", m, acct.ExpiryYear[len(acct.ExpiryYear)-2:])
		}
	}
	return g
}

// maskAccount keeps at most the last four digits of an account number. Apaleo
// sends it masked, but Roomwire never trusts a partner with that: a full card
// number must not enter the model.
func maskAccount(s string) string {
	var digits []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	if len(digits) == 0 {
		return ""
	}
	last := digits[max(0, len(digits)-4):]
	return strings.Repeat("X", 12) + string(last)
}

func fromGuarantee(g *canonical.Guarantee) string {
	if g == nil {
		return ""
	}
	switch g.Type {
	case "card":
		return "CreditCard"
	case "deposit":
		return "Prepayment"
	case "company":
		return "Company"
	}
	return "PM6Hold"
}
