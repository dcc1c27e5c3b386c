package ota

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
)

// Vocabulary maps a partner's ResStatus values to what they mean. OTA
// partners differ: one sends Commit for a new booking, another Book or
// Reserved; one Cancel, another Cancelled.
type Vocabulary map[string]canonical.ChannelAction

// DefaultVocabulary is the ResStatus vocabulary most OTA partners use:
// the default of the res_status setting.
var DefaultVocabulary = func() Vocabulary {
	f, _ := spec.Lookup[Config]("res_status")
	v, err := ParseVocabulary(strings.Split(f.Default, ","))
	if err != nil {
		panic(err)
	}
	return v
}()

// ParseVocabulary reads a vocabulary from its configuration form: a list of
// Status=action, action being new, modify or cancel.
func ParseVocabulary(list []string) (Vocabulary, error) {
	v := Vocabulary{}
	for _, item := range list {
		status, action, ok := strings.Cut(strings.TrimSpace(item), "=")
		a := canonical.ChannelAction(strings.TrimSpace(action))
		if !ok || strings.TrimSpace(status) == "" || (a != canonical.ChannelNew && a != canonical.ChannelModify && a != canonical.ChannelCancel) {
			return nil, fmt.Errorf("res_status: %q is not Status=new|modify|cancel", connectors.SafeText(item, 40))
		}
		v[strings.TrimSpace(status)] = a
	}
	if len(v) == 0 {
		return nil, errors.New("res_status: at least one Status=action is required")
	}
	return v, nil
}

// Action returns what status means, matching case-insensitively when no
// exact entry exists.
func (v Vocabulary) Action(status string) (canonical.ChannelAction, bool) {
	if a, ok := v[status]; ok {
		return a, true
	}
	for k, a := range v {
		if strings.EqualFold(k, status) {
			return a, true
		}
	}
	return "", false
}

// InputError is a refusal of a partner message, with the OTA error type and
// code to answer it with. It is permanent.
type InputError struct {
	Type string // OTA error type, e.g. 3 (business rule)
	Code string // OTA ERR code, e.g. 402 (invalid room type)
	Err  error
}

func (e *InputError) Error() string   { return e.Err.Error() }
func (e *InputError) Unwrap() error   { return e.Err }
func (e *InputError) Permanent() bool { return true }

// OTA error types and codes Roomwire answers with.
const (
	ErrTypeBizRule        = "3"
	ErrTypeAuthentication = "4"
	ErrTypeProtocol       = "7"
	ErrTypeRequired       = "10"
	ErrTypeProcessing     = "12"
	ErrTypeApplication    = "13"

	CodeInvalidDate      = "15"
	CodeInvalidRatePlan  = "249"
	CodeInvalidValue     = "320"
	CodeRequiredMissing  = "321"
	CodeInvalidHotel     = "392"
	CodeInvalidRoomType  = "402"
	CodeSystemError      = "448"
	CodeUnableToProcess  = "450"
	CodeAuthorization    = "497"
	CodeInvalidCurrency  = "61"
	CodeCardNotPermitted = "321"
	CodeAlreadyCancelled = "95"
	CodeBookingNotFound  = "97"
)

func inputErr(typ, code, format string, args ...any) error {
	return &InputError{Type: typ, Code: code, Err: fmt.Errorf(format, args...)}
}

// ErrorFor returns the OTA error type and code that answer err.
func ErrorFor(err error) (typ, code string) {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie.Type, ie.Code
	}
	var ue *connectors.UnmappedError
	if errors.As(err, &ue) {
		switch ue.Kind {
		case connectors.KindProperty:
			return ErrTypeBizRule, CodeInvalidHotel
		case connectors.KindRoomType:
			return ErrTypeBizRule, CodeInvalidRoomType
		case connectors.KindRatePlan:
			return ErrTypeBizRule, CodeInvalidRatePlan
		}
		return ErrTypeBizRule, CodeInvalidValue
	}
	var v canonical.ValidationError
	if errors.As(err, &v) {
		for _, fe := range v {
			switch {
			case strings.HasSuffix(fe.Field, "currency"):
				return ErrTypeBizRule, CodeInvalidCurrency
			case strings.HasSuffix(fe.Field, "arrival"), strings.HasSuffix(fe.Field, "departure"), strings.HasSuffix(fe.Field, ".date"):
				return ErrTypeBizRule, CodeInvalidDate
			}
		}
		return ErrTypeBizRule, CodeInvalidValue
	}
	switch {
	case errors.Is(err, connectors.ErrCardNumber):
		return ErrTypeBizRule, CodeCardNotPermitted
	case errors.Is(err, connectors.ErrBookingUnknown):
		return ErrTypeBizRule, CodeBookingNotFound
	case errors.Is(err, connectors.ErrBookingFinal):
		return ErrTypeBizRule, CodeAlreadyCancelled
	case errors.Is(err, connectors.ErrCurrencyMismatch):
		return ErrTypeBizRule, CodeInvalidCurrency
	}
	if connectors.ClassOf(err) == connectors.ClassPermanent {
		return ErrTypeProtocol, CodeUnableToProcess
	}
	return ErrTypeApplication, CodeSystemError
}

// ParseResNotif safely decodes an OTA_HotelResNotifRQ or
// OTA_HotelResModifyNotifRQ (see connectors.DecodeXML).
func ParseResNotif(data []byte) (*ResNotifRQ, error) {
	var rq ResNotifRQ
	if _, err := connectors.DecodeXML(data, &rq, RootResNotifRQ, RootResModifyNotifRQ); err != nil {
		return nil, fmt.Errorf("ota: %w", err)
	}
	if len(rq.Reservations()) == 0 {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "ota: %s holds no reservation", rq.XMLName.Local)
	}
	if n := len(rq.Reservations()); n > canonical.MaxRoomStays {
		return nil, inputErr(ErrTypeBizRule, CodeUnableToProcess, "ota: %d reservations in one message; at most %d are accepted", n, canonical.MaxRoomStays)
	}
	return &rq, nil
}

// Reader turns OTA reservations into channel bookings in the partner's codes.
type Reader struct {
	// Connector is the name of the receiving connector, e.g. "ota".
	Connector string
	// Channel is Roomwire's code of the channel, e.g. "ota" or "bookingcom".
	Channel string
	// Vocabulary reads ResStatus; nil means DefaultVocabulary.
	Vocabulary Vocabulary
	// Cards is what to do with a full card number; "" means CardDrop.
	Cards connectors.CardPolicy
}

// Bookings reads every reservation of rq. It fails, naming the reservation,
// if any one is bad: a message is applied whole or not at all.
func (rd Reader) Bookings(rq *ResNotifRQ) ([]canonical.ChannelBooking, error) {
	var out []canonical.ChannelBooking
	seen := map[[2]string]bool{}
	for i, h := range rq.Reservations() {
		b, err := rd.Booking(rq, &h)
		if err != nil {
			if len(rq.Reservations()) > 1 {
				return nil, prefixErr(fmt.Sprintf("reservation %d", i+1), err)
			}
			return nil, err
		}
		// Only one of two versions in one message could be applied, and
		// which one the channel meant is unknown.
		key := [2]string{b.Reservation.PropertyID, b.Reservation.ExternalID}
		if seen[key] {
			return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "reservation %s appears twice in one message; send each version in a message of its own",
				connectors.SafeText(b.Reservation.ExternalID, 40))
		}
		seen[key] = true
		out = append(out, *b)
	}
	return out, nil
}

// prefixErr adds context to err's text, keeping its OTA code and class.
func prefixErr(prefix string, err error) error {
	typ, code := ErrorFor(err)
	if connectors.ClassOf(err) == connectors.ClassUnmapped {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return &InputError{Type: typ, Code: code, Err: fmt.Errorf("%s: %w", prefix, err)}
}

// Booking reads one reservation of rq.
func (rd Reader) Booking(rq *ResNotifRQ, h *HotelReservation) (*canonical.ChannelBooking, error) {
	if rd.Cards == connectors.CardRefuse {
		// The guarantee is masked while read, so look at the input itself.
		if raw, err := json.Marshal(h); err != nil || canonical.ContainsCardData(string(raw)) {
			return nil, &InputError{Type: ErrTypeBizRule, Code: CodeCardNotPermitted,
				Err: fmt.Errorf("%w; refused as configured (card_policy: refuse): send the payment provider's token instead", connectors.ErrCardNumber)}
		}
	}
	vocab := rd.Vocabulary
	if vocab == nil {
		vocab = DefaultVocabulary
	}
	channel := rd.Channel
	if channel == "" {
		channel = rd.Connector
	}
	status := h.ResStatus
	if status == "" {
		status = rq.ResStatus
	}
	if status == "" {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "ResStatus is missing (on HotelReservation or the root element)")
	}
	action, ok := vocab.Action(status)
	if !ok {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "ResStatus %q is not in this channel's vocabulary (res_status)", connectors.SafeText(status, 30))
	}
	id := externalID(h)
	if id == "" {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "the channel's reservation id is missing (UniqueID Type 14, or HotelReservationID ResID_Type 14)")
	}
	hotel, err := hotelCode(h)
	if err != nil {
		return nil, err
	}
	r := canonical.Reservation{
		SchemaVersion: canonical.SchemaVersion,
		PropertyID:    hotel,
		Channel:       channel,
		ExternalID:    id,
	}
	if t, ok := parseTime(h.CreateDateTime); ok {
		r.CreatedAt = t
	}
	if t, ok := parseTime(h.LastModifyDateTime); ok {
		r.ModifiedAt = t
	} else {
		r.ModifiedAt = r.CreatedAt
	}
	if len(h.RoomStays) == 0 && action != canonical.ChannelCancel {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "no RoomStay")
	}
	if len(h.RoomStays) > canonical.MaxRoomStays {
		return nil, inputErr(ErrTypeBizRule, CodeUnableToProcess, "%d room stays; at most %d are accepted", len(h.RoomStays), canonical.MaxRoomStays)
	}
	byRPH := guests(h, &r)
	for i := range h.RoomStays {
		stays, err := roomStays(&h.RoomStays[i], byRPH)
		if err != nil {
			return nil, prefixErr(fmt.Sprintf("RoomStay %d", i+1), err)
		}
		r.RoomStays = append(r.RoomStays, stays...)
		if len(r.RoomStays) > canonical.MaxRoomStays {
			return nil, inputErr(ErrTypeBizRule, CodeUnableToProcess, "more than %d rooms", canonical.MaxRoomStays)
		}
		r.Comments = append(r.Comments, commentTexts(h.RoomStays[i].Comments)...)
	}
	r.Comments = append(r.Comments, commentTexts(h.ResGlobalInfo.Comments)...)
	r.Comments = append(r.Comments, commentTexts(h.ResGlobalInfo.SpecialRequests)...)
	if err := total(h, &r); err != nil {
		return nil, err
	}
	r.Guarantee = guarantee(h.ResGlobalInfo.Guarantee)
	revision := h.LastModifyDateTime
	if revision == "" {
		revision = h.CreateDateTime
	}
	if revision != "" {
		revision = status + "@" + revision
	}
	b := &canonical.ChannelBooking{
		SchemaVersion: canonical.SchemaVersion,
		Connector:     rd.Connector,
		Action:        action,
		Revision:      revision,
		Reservation:   r,
	}
	if _, err := connectors.GuardBooking(b, rd.Cards); err != nil {
		return nil, err
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

func externalID(h *HotelReservation) string {
	if h.UniqueID != nil && h.UniqueID.ID != "" && (h.UniqueID.Type == "14" || h.UniqueID.Type == "") {
		return strings.TrimSpace(h.UniqueID.ID)
	}
	for _, x := range h.ResGlobalInfo.HotelReservationIDs {
		if x.ResIDType == "14" && x.ResIDValue != "" {
			return strings.TrimSpace(x.ResIDValue)
		}
	}
	return ""
}

// hotelCode finds the hotel code, which every place naming one must agree on.
func hotelCode(h *HotelReservation) (string, error) {
	code := ""
	check := func(bpi *BasicPropertyInfo) error {
		if bpi == nil || bpi.HotelCode == "" {
			return nil
		}
		if code != "" && code != bpi.HotelCode {
			return inputErr(ErrTypeBizRule, CodeInvalidHotel, "the reservation names two hotels, %q and %q", connectors.SafeText(code, 40), connectors.SafeText(bpi.HotelCode, 40))
		}
		code = bpi.HotelCode
		return nil
	}
	if err := check(h.ResGlobalInfo.BasicPropertyInfo); err != nil {
		return "", err
	}
	for i := range h.RoomStays {
		if err := check(h.RoomStays[i].BasicPropertyInfo); err != nil {
			return "", err
		}
	}
	if code == "" {
		return "", inputErr(ErrTypeRequired, CodeRequiredMissing, "the hotel code is missing (BasicPropertyInfo HotelCode)")
	}
	return code, nil
}

// roomStays reads one RoomStay: one canonical room stay per unit, each with
// its share of the stated total and its guests (byRPH maps a ResGuestRPH to
// the guest's position in the reservation's guests).
func roomStays(s *RoomStay, byRPH map[string]int) ([]canonical.RoomStay, error) {
	if s.TimeSpan == nil {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "TimeSpan is missing")
	}
	arrival, err := parseDate("TimeSpan Start", s.TimeSpan.Start)
	if err != nil {
		return nil, err
	}
	departure, err := parseDate("TimeSpan End", s.TimeSpan.End)
	if err != nil {
		return nil, err
	}
	if n := arrival.DaysUntil(departure); n <= 0 {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidDate, "departure %s is not after arrival %s", departure, arrival)
	} else if n > canonical.MaxStayNights {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidDate, "a stay of %d nights is longer than the %d allowed", n, canonical.MaxStayNights)
	}
	roomType, ratePlan, units := "", "", 1
	for _, rt := range s.RoomTypes {
		roomType = pick(roomType, rt.RoomTypeCode)
		if n, err := strconv.Atoi(rt.NumberOfUnits); err == nil {
			units = n
		}
	}
	for _, rp := range s.RatePlans {
		ratePlan = pick(ratePlan, rp.RatePlanCode)
	}
	var prices []canonical.NightlyPrice
	for _, rr := range s.RoomRates {
		if (rr.RoomTypeCode != "" && roomType != "" && rr.RoomTypeCode != roomType) || (rr.RatePlanCode != "" && ratePlan != "" && rr.RatePlanCode != ratePlan) {
			return nil, inputErr(ErrTypeBizRule, CodeUnableToProcess, "several room types or rate plans in one RoomStay; send one RoomStay for each")
		}
		roomType, ratePlan = pick(roomType, rr.RoomTypeCode), pick(ratePlan, rr.RatePlanCode)
		if rr.NumberOfUnits != "" {
			n, err := strconv.Atoi(rr.NumberOfUnits)
			if err != nil {
				return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "NumberOfUnits %q is not a number", connectors.SafeText(rr.NumberOfUnits, 20))
			}
			units = n
		}
		for _, rate := range rr.Rates {
			p, err := nightlyPrices(rate)
			if err != nil {
				return nil, err
			}
			prices = append(prices, p...)
			if len(prices) > canonical.MaxStayNights {
				return nil, inputErr(ErrTypeBizRule, CodeInvalidDate, "rates for more than %d nights", canonical.MaxStayNights)
			}
		}
	}
	if roomType == "" {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "the room type is missing (RoomType or RoomRate RoomTypeCode)")
	}
	if ratePlan == "" {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "the rate plan is missing (RatePlan or RoomRate RatePlanCode)")
	}
	if units < 1 || units > canonical.MaxRoomStays {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "NumberOfUnits %d is not between 1 and %d", units, canonical.MaxRoomStays)
	}
	if len(prices) > 0 {
		if prices, err = orderNights(prices, arrival, departure); err != nil {
			return nil, err
		}
	}
	adults, children, err := guestCounts(s.GuestCounts)
	if err != nil {
		return nil, err
	}
	var totals []canonical.Money
	if s.Total != nil {
		t, err := amount(*s.Total, "Total")
		if err != nil {
			return nil, err
		}
		totals = t.Split(units)
	}
	var guests []int
	for _, g := range s.ResGuestRPHs {
		if n, ok := byRPH[strings.TrimSpace(g.RPH)]; ok && !slices.Contains(guests, n) {
			guests = append(guests, n)
		}
	}
	stay := canonical.RoomStay{RoomType: roomType, RatePlan: ratePlan, Arrival: arrival, Departure: departure,
		Adults: adults, ChildrenAges: children, NightlyPrices: prices}
	out := make([]canonical.RoomStay, 0, units)
	for i := 0; i < units; i++ {
		c := stay
		c.ChildrenAges = append([]int(nil), children...)
		c.NightlyPrices = append([]canonical.NightlyPrice(nil), prices...)
		if totals != nil {
			c.Total = &totals[i]
		}
		switch {
		case len(guests) == units && units > 1:
			c.Guests = []int{guests[i]} // one guest named per room
		case len(guests) > 0:
			c.Guests = append([]int(nil), guests...)
		}
		out = append(out, c)
	}
	return out, nil
}

func pick(have, next string) string {
	if have != "" {
		return have
	}
	return strings.TrimSpace(next)
}

// nightlyPrices expands one Rate to a price per night. ExpireDate is the
// first night not covered (as in the OTA reference), unless
// ExpireDateExclusiveIndicator is "false" or it equals EffectiveDate.
func nightlyPrices(rate Rate) ([]canonical.NightlyPrice, error) {
	if u := rate.RateTimeUnit; u != "" && u != "Day" {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "RateTimeUnit %q is not supported; send nightly rates (Day)", connectors.SafeText(u, 20))
	}
	if m := rate.UnitMultiplier; m != "" && m != "1" {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "UnitMultiplier %q is not supported; send one Rate per night or per run of nights at the same price", connectors.SafeText(m, 20))
	}
	from, err := parseDate("Rate EffectiveDate", rate.EffectiveDate)
	if err != nil {
		return nil, err
	}
	to := from.AddDays(1)
	if rate.ExpireDate != "" {
		exp, err := parseDate("Rate ExpireDate", rate.ExpireDate)
		if err != nil {
			return nil, err
		}
		switch {
		case exp == from:
		case rate.ExpireDateExclusiveIndicator == "false":
			to = exp.AddDays(1)
		default:
			to = exp
		}
	}
	if n := from.DaysUntil(to); n <= 0 || n > canonical.MaxStayNights {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidDate, "Rate from %s to %s is not a run of 1 to %d nights", from, to, canonical.MaxStayNights)
	}
	if rate.Base == nil {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "Rate %s has no Base amount", from)
	}
	price, err := amount(*rate.Base, "Rate "+from.String()+" Base")
	if err != nil {
		return nil, err
	}
	var out []canonical.NightlyPrice
	for _, night := range canonical.Nights(from, to) {
		out = append(out, canonical.NightlyPrice{Date: night, Price: price})
	}
	return out, nil
}

// orderNights checks that the rates price every night of the stay exactly once.
func orderNights(prices []canonical.NightlyPrice, arrival, departure canonical.Date) ([]canonical.NightlyPrice, error) {
	byNight := map[canonical.Date]canonical.Money{}
	for _, p := range prices {
		if _, dup := byNight[p.Date]; dup {
			return nil, inputErr(ErrTypeBizRule, CodeInvalidDate, "night %s is priced twice", p.Date)
		}
		byNight[p.Date] = p.Price
	}
	nights := canonical.Nights(arrival, departure)
	out := make([]canonical.NightlyPrice, 0, len(nights))
	for _, n := range nights {
		price, ok := byNight[n]
		if !ok {
			return nil, inputErr(ErrTypeBizRule, CodeInvalidDate, "night %s of the stay %s to %s has no rate", n, arrival, departure)
		}
		out = append(out, canonical.NightlyPrice{Date: n, Price: price})
	}
	if len(out) != len(prices) {
		return nil, inputErr(ErrTypeBizRule, CodeInvalidDate, "rates cover %d nights but the stay %s to %s has %d", len(prices), arrival, departure, len(nights))
	}
	return out, nil
}

// amount reads an OTA amount, after tax when given.
func amount(a Amount, where string) (canonical.Money, error) {
	value := a.AmountAfterTax
	if value == "" {
		value = a.AmountBeforeTax
	}
	if value == "" {
		return canonical.Money{}, inputErr(ErrTypeRequired, CodeRequiredMissing, "%s: no AmountAfterTax or AmountBeforeTax", where)
	}
	if _, ok := canonical.CurrencyExponent(a.CurrencyCode); !ok {
		return canonical.Money{}, inputErr(ErrTypeBizRule, CodeInvalidCurrency, "%s: %q is not an ISO 4217 currency code", where, connectors.SafeText(a.CurrencyCode, 10))
	}
	if a.DecimalPlaces != "" && !strings.ContainsAny(value, ".eE") {
		dp, err := strconv.Atoi(a.DecimalPlaces)
		if err != nil || dp < 0 || dp > 4 {
			return canonical.Money{}, inputErr(ErrTypeBizRule, CodeInvalidValue, "%s: DecimalPlaces %q is not 0 to 4", where, connectors.SafeText(a.DecimalPlaces, 10))
		}
		if dp > 0 {
			neg := strings.HasPrefix(value, "-")
			digits := strings.TrimPrefix(value, "-")
			for len(digits) <= dp {
				digits = "0" + digits
			}
			value = digits[:len(digits)-dp] + "." + digits[len(digits)-dp:]
			if neg {
				value = "-" + value
			}
		}
	}
	m, err := connectors.ParseAmount(value, a.CurrencyCode)
	if err != nil {
		return canonical.Money{}, inputErr(ErrTypeBizRule, CodeInvalidValue, "%s: %v", where, err)
	}
	if m.Minor < 0 {
		return canonical.Money{}, inputErr(ErrTypeBizRule, CodeInvalidValue, "%s: negative amount %s", where, m)
	}
	return m, nil
}

// guestCounts reads adults (AgeQualifyingCode 10) and children's ages (8,
// and infants 7, each with Age).
func guestCounts(list []GuestCount) (adults int, children []int, err error) {
	for _, g := range list {
		n := 1
		if g.Count != "" {
			if n, err = strconv.Atoi(g.Count); err != nil || n < 0 || n > canonical.MaxGuestsInRoom {
				return 0, nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "GuestCount Count %q is not 0 to %d", connectors.SafeText(g.Count, 10), canonical.MaxGuestsInRoom)
			}
		}
		switch g.AgeQualifyingCode {
		case "10", "":
			adults += n
		case "8", "7":
			age := 0
			if g.Age == "" && g.AgeQualifyingCode == "8" {
				return 0, nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "GuestCount of children (AgeQualifyingCode 8) without Age")
			}
			if g.Age != "" {
				if age, err = strconv.Atoi(g.Age); err != nil || age < 0 || age > canonical.MaxChildAge {
					return 0, nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "child's Age %q is not 0 to %d", connectors.SafeText(g.Age, 10), canonical.MaxChildAge)
				}
			}
			for i := 0; i < n; i++ {
				children = append(children, age)
			}
		default:
			return 0, nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AgeQualifyingCode %q is not 10 (adult), 8 (child) or 7 (infant)", connectors.SafeText(g.AgeQualifyingCode, 10))
		}
		if adults+len(children) > canonical.MaxGuestsInRoom {
			return 0, nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "more than %d guests in one room", canonical.MaxGuestsInRoom)
		}
	}
	return adults, children, nil
}

// guests reads the primary guest (PrimaryIndicator, else the first) and the
// others, and returns where each ResGuestRPH's guest is in the
// reservation's guests (0 the primary, n additional n-1).
func guests(h *HotelReservation, r *canonical.Reservation) map[string]int {
	primary := -1
	for i, g := range h.ResGuests {
		if g.PrimaryIndicator == "true" || g.PrimaryIndicator == "1" {
			primary = i
			break
		}
	}
	if primary < 0 && len(h.ResGuests) > 0 {
		primary = 0
	}
	byRPH := map[string]int{}
	for i, g := range h.ResGuests {
		guest, ok := guestOf(g)
		if !ok {
			continue
		}
		at := -1
		if i == primary {
			r.PrimaryGuest, at = guest, 0
		} else if len(r.AdditionalGuests) < canonical.MaxGuests {
			r.AdditionalGuests = append(r.AdditionalGuests, guest)
			at = len(r.AdditionalGuests)
		}
		if rph := strings.TrimSpace(g.ResGuestRPH); rph != "" && at >= 0 {
			if _, dup := byRPH[rph]; !dup {
				byRPH[rph] = at
			}
		}
	}
	return byRPH
}

func guestOf(g ResGuest) (canonical.Guest, bool) {
	for _, p := range g.Profiles {
		c := p.Customer
		if c == nil {
			continue
		}
		out := canonical.Guest{
			Title:     strings.TrimSpace(c.PersonName.NamePrefix),
			GivenName: strings.TrimSpace(strings.Join(c.PersonName.GivenName, " ")),
			Surname:   strings.TrimSpace(c.PersonName.Surname),
		}
		if len(c.Email) > 0 {
			out.Email = strings.TrimSpace(c.Email[0])
		}
		if len(c.Telephone) > 0 {
			out.Phone = strings.TrimSpace(c.Telephone[0].PhoneNumber)
		}
		if a := c.Address; a != nil {
			addr := &canonical.Address{City: strings.TrimSpace(a.CityName), PostalCode: strings.TrimSpace(a.PostalCode)}
			for _, l := range a.AddressLine {
				if l = strings.TrimSpace(l); l != "" {
					addr.Lines = append(addr.Lines, l)
				}
			}
			if a.CountryName != nil {
				addr.CountryCode = strings.ToUpper(strings.TrimSpace(a.CountryName.Code))
			}
			if addr.City != "" || addr.PostalCode != "" || len(addr.Lines) > 0 || addr.CountryCode != "" {
				out.Address = addr
			}
		}
		return out, true
	}
	return canonical.Guest{}, false
}

func commentTexts(list []Comment) []string {
	var out []string
	for _, c := range list {
		texts := c.Text
		if len(texts) == 0 {
			texts = []string{c.Plain}
		}
		for _, t := range texts {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// total reads the reservation's total: ResGlobalInfo's, else the sum of the
// room stays' totals, else the sum of the nightly prices.
func total(h *HotelReservation, r *canonical.Reservation) error {
	if t := h.ResGlobalInfo.Total; t != nil {
		m, err := amount(*t, "ResGlobalInfo Total")
		if err != nil {
			return err
		}
		r.Total = m
		return nil
	}
	var sum canonical.Money
	for i, s := range h.RoomStays {
		if s.Total == nil {
			sum = canonical.Money{}
			break
		}
		m, err := amount(*s.Total, fmt.Sprintf("RoomStay %d Total", i+1))
		if err != nil {
			return err
		}
		if sum, err = sum.Add(m); err != nil {
			return inputErr(ErrTypeBizRule, CodeInvalidCurrency, "room stay totals: %v", err)
		}
	}
	if sum.IsZero() {
		var err error
		if sum, err = r.SumNightlyPrices(); err != nil {
			return inputErr(ErrTypeBizRule, CodeInvalidCurrency, "nightly prices: %v", err)
		}
	}
	r.Total = sum
	return nil
}

// guarantee keeps a card's token and mask; a full number becomes a mask
// keeping its last four digits.
func guarantee(g *Guarantee) *canonical.Guarantee {
	if g == nil || len(g.PaymentCards) == 0 {
		return nil
	}
	pc := g.PaymentCards[0]
	out := &canonical.Guarantee{Type: "card", CardBrand: strings.TrimSpace(pc.CardCode), CardExpiry: strings.TrimSpace(pc.ExpireDate),
		HolderName: strings.TrimSpace(pc.CardHolderName)}
	if cn := pc.CardNumber; cn != nil {
		out.CardToken, out.TokenVault = strings.TrimSpace(cn.Token), strings.TrimSpace(cn.TokenProviderID)
		out.CardMask = connectors.CardMask(cn.Mask)
		if out.CardMask == "" && cn.PlainText != "" {
			out.CardMask = connectors.CardMask(cn.PlainText)
		}
	}
	if out.CardMask == "" && pc.CardNumberAttr != "" {
		out.CardMask = connectors.CardMask(pc.CardNumberAttr)
	}
	return out
}

func parseDate(what, s string) (canonical.Date, error) {
	if strings.TrimSpace(s) == "" {
		return canonical.Date{}, inputErr(ErrTypeRequired, CodeRequiredMissing, "%s is missing", what)
	}
	d, err := canonical.ParseDate(strings.TrimSpace(s))
	if err != nil {
		return canonical.Date{}, inputErr(ErrTypeBizRule, CodeInvalidDate, "%s: %v", what, err)
	}
	if d.Year < canonical.MinYear || d.Year > canonical.MaxYear {
		return canonical.Date{}, inputErr(ErrTypeBizRule, CodeInvalidDate, "%s: %s is outside the years %d to %d", what, d, canonical.MinYear, canonical.MaxYear)
	}
	return d, nil
}

func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Status returns the ResStatus that stands for action in v (the first in
// alphabetical order when several do), for messages Roomwire writes.
func (v Vocabulary) Status(action canonical.ChannelAction) string {
	best := ""
	for k, a := range v {
		if a == action && (best == "" || k < best) {
			best = k
		}
	}
	return best
}

// BuildResNotif renders reservations in one OTA_HotelResNotifRQ with status
// as ResStatus; the simulators push with it, and `roomwire translate
// --reverse` prints it.
func BuildResNotif(echoToken string, status string, rs ...*canonical.Reservation) ([]byte, error) {
	rq := ResNotifRQ{XMLName: RootResNotifRQ, Version: "1.0", EchoToken: echoToken, TimeStamp: time.Now().UTC().Format(time.RFC3339)}
	for _, r := range rs {
		rq.HotelReservations = append(rq.HotelReservations, HotelReservationOf(r, status))
	}
	return Marshal(rq)
}

// HotelReservationOf renders a reservation (in the partner's codes) as an
// OTA HotelReservation: one RoomStay per room, one Rate per night.
func HotelReservationOf(r *canonical.Reservation, status string) HotelReservation {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	h := HotelReservation{ResStatus: status, CreateDateTime: stamp(r.CreatedAt), LastModifyDateTime: stamp(r.ModifiedAt),
		UniqueID: &UniqueID{Type: "14", ID: r.ExternalID}}
	for _, s := range r.RoomStays {
		rs := RoomStay{
			RoomTypes:         []RoomType{{RoomTypeCode: s.RoomType}},
			RatePlans:         []RatePlan{{RatePlanCode: s.RatePlan}},
			TimeSpan:          &TimeSpan{Start: s.Arrival.String(), End: s.Departure.String()},
			GuestCounts:       []GuestCount{{AgeQualifyingCode: "10", Count: strconv.Itoa(s.Adults)}},
			BasicPropertyInfo: &BasicPropertyInfo{HotelCode: r.PropertyID},
			ResGuestRPHs:      []ResGuestRPH{{RPH: "1"}},
		}
		if len(s.Guests) > 0 {
			rs.ResGuestRPHs = nil
			for _, n := range s.Guests {
				rs.ResGuestRPHs = append(rs.ResGuestRPHs, ResGuestRPH{RPH: strconv.Itoa(n + 1)})
			}
		}
		for _, age := range s.ChildrenAges {
			rs.GuestCounts = append(rs.GuestCounts, GuestCount{AgeQualifyingCode: "8", Count: "1", Age: strconv.Itoa(age)})
		}
		if len(s.NightlyPrices) > 0 {
			rr := RoomRate{RoomTypeCode: s.RoomType, RatePlanCode: s.RatePlan, NumberOfUnits: "1"}
			for _, n := range s.NightlyPrices {
				rr.Rates = append(rr.Rates, Rate{EffectiveDate: n.Date.String(), ExpireDate: n.Date.AddDays(1).String(), RateTimeUnit: "Day", UnitMultiplier: "1",
					Base: &Amount{AmountAfterTax: n.Price.Decimal(), CurrencyCode: n.Price.Currency}})
			}
			rs.RoomRates = []RoomRate{rr}
		}
		// The room's total only when one was stated: its nightly rates say the rest.
		if t := s.Total; t != nil {
			rs.Total = &Amount{AmountAfterTax: t.Decimal(), CurrencyCode: t.Currency}
		}
		h.RoomStays = append(h.RoomStays, rs)
	}
	for i, g := range append([]canonical.Guest{r.PrimaryGuest}, r.AdditionalGuests...) {
		c := &Customer{PersonName: PersonName{NamePrefix: g.Title, Surname: g.Surname}}
		if g.GivenName != "" {
			c.PersonName.GivenName = []string{g.GivenName}
		}
		if g.Phone != "" {
			c.Telephone = []Telephone{{PhoneNumber: g.Phone}}
		}
		if g.Email != "" {
			c.Email = []string{g.Email}
		}
		if a := g.Address; a != nil {
			c.Address = &Address{AddressLine: a.Lines, CityName: a.City, PostalCode: a.PostalCode}
			if a.CountryCode != "" {
				c.Address.CountryName = &CountryName{Code: a.CountryCode}
			}
		}
		rg := ResGuest{ResGuestRPH: strconv.Itoa(i + 1), AgeQualifyingCode: "10", Profiles: []Profile{{ProfileType: "1", Customer: c}}}
		if i == 0 {
			rg.PrimaryIndicator = "true"
		}
		h.ResGuests = append(h.ResGuests, rg)
	}
	for _, c := range r.Comments {
		h.ResGlobalInfo.Comments = append(h.ResGlobalInfo.Comments, Comment{Text: []string{c}})
	}
	if g := r.Guarantee; g != nil && g.Type == "card" {
		pc := PaymentCard{CardCode: g.CardBrand, ExpireDate: g.CardExpiry, CardHolderName: g.HolderName}
		if g.CardMask != "" || g.CardToken != "" {
			pc.CardNumber = &CardNumber{Mask: g.CardMask, Token: g.CardToken, TokenProviderID: g.TokenVault}
		}
		h.ResGlobalInfo.Guarantee = &Guarantee{PaymentCards: []PaymentCard{pc}}
	}
	if !r.Total.IsZero() {
		h.ResGlobalInfo.Total = &Amount{AmountAfterTax: r.Total.Decimal(), CurrencyCode: r.Total.Currency}
	}
	h.ResGlobalInfo.HotelReservationIDs = []HotelReservationID{{ResIDType: "14", ResIDValue: r.ExternalID}}
	h.ResGlobalInfo.BasicPropertyInfo = &BasicPropertyInfo{HotelCode: r.PropertyID}
	return h
}

// Marshal renders an OTA message with its XML declaration.
func Marshal(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
