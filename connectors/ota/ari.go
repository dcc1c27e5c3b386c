package ota

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// ARIMessages renders an ARI update (in the partner's codes) as the OTA
// messages that carry it: availability as OTA_HotelAvailNotifRQ booking limits
// (or, with invCount, OTA_HotelInvCountNotifRQ counts), restrictions as
// OTA_HotelAvailNotifRQ restriction statuses and lengths of stay, and rates as
// OTA_HotelRateAmountNotifRQ. occupancy, when above zero, is put on each rate
// as NumberOfGuests. Each message's EchoToken is a hash of its content, so a
// retry of the same content is recognisably the same message.
func ARIMessages(u canonical.ARIUpdate, invCount bool, occupancy int, pos *POS) ([][]byte, error) {
	var out [][]byte
	add := func(v any) error {
		b, err := Marshal(v)
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	}
	now := time.Now().UTC().Format(time.RFC3339)
	if len(u.Availability) > 0 && invCount {
		rq := InvCountNotifRQ{XMLName: RootInvCountNotifRQ, Version: "1.0", TimeStamp: now, POS: pos, Inventories: Inventories{HotelCode: u.PropertyID}}
		for _, a := range u.Availability {
			rq.Inventories.List = append(rq.Inventories.List, Inventory{
				StatusApplicationControl: StatusApplicationControl{Start: a.From.String(), End: a.To.String(), InvTypeCode: a.RoomType},
				InvCounts:                []InvCount{{CountType: "2", Count: strconv.Itoa(max(a.Available, 0))}},
			})
		}
		rq.EchoToken = echo(rq.Inventories)
		if err := add(rq); err != nil {
			return nil, err
		}
	}
	if (len(u.Availability) > 0 && !invCount) || len(u.Restrictions) > 0 {
		rq := AvailNotifRQ{XMLName: RootAvailNotifRQ, Version: "1.0", TimeStamp: now, POS: pos, Messages: AvailStatusMessages{HotelCode: u.PropertyID}}
		if !invCount {
			for _, a := range u.Availability {
				rq.Messages.List = append(rq.Messages.List, AvailStatusMessage{
					BookingLimit:             strconv.Itoa(max(a.Available, 0)),
					StatusApplicationControl: StatusApplicationControl{Start: a.From.String(), End: a.To.String(), InvTypeCode: a.RoomType},
				})
			}
		}
		for _, r := range u.Restrictions {
			m := AvailStatusMessage{StatusApplicationControl: StatusApplicationControl{Start: r.From.String(), End: r.To.String(), InvTypeCode: r.RoomType, RatePlanCode: r.RatePlan}}
			m.RestrictionStatus = []RestrictionStatus{
				{Restriction: "Master", Status: openClose(r.Closed)},
				{Restriction: "Arrival", Status: openClose(r.ClosedToArrival)},
				{Restriction: "Departure", Status: openClose(r.ClosedToDeparture)},
			}
			// 0 lifts a minimum or maximum stay.
			m.LengthsOfStay = []LengthOfStay{
				{Time: strconv.Itoa(r.MinStay), TimeUnit: "Day", MinMaxMessageType: "SetMinLOS"},
				{Time: strconv.Itoa(r.MaxStay), TimeUnit: "Day", MinMaxMessageType: "SetMaxLOS"},
			}
			rq.Messages.List = append(rq.Messages.List, m)
		}
		rq.EchoToken = echo(rq.Messages)
		if err := add(rq); err != nil {
			return nil, err
		}
	}
	if len(u.Rates) > 0 {
		rq := RateAmountNotifRQ{XMLName: RootRateAmountNotifRQ, Version: "1.0", TimeStamp: now, NotifType: "Delta", POS: pos, Messages: RateAmountMessages{HotelCode: u.PropertyID}}
		for _, r := range u.Rates {
			amt := BaseByGuestAmt{AmountAfterTax: r.Price.Decimal(), CurrencyCode: r.Price.Currency}
			if occupancy > 0 {
				amt.NumberOfGuests = strconv.Itoa(occupancy)
			}
			rq.Messages.List = append(rq.Messages.List, RateAmountMessage{
				StatusApplicationControl: StatusApplicationControl{Start: r.From.String(), End: r.To.String(), InvTypeCode: r.RoomType, RatePlanCode: r.RatePlan},
				Rates:                    []RateAmount{{BaseByGuestAmts: []BaseByGuestAmt{amt}}},
			})
		}
		rq.EchoToken = echo(rq.Messages)
		if err := add(rq); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func openClose(closed bool) string {
	if closed {
		return "Close"
	}
	return "Open"
}

// ReplyRoot returns the root element of the reply to a request: the same
// name ending RS instead of RQ.
func ReplyRoot(rq xml.Name) xml.Name {
	return xml.Name{Space: rq.Space, Local: strings.TrimSuffix(rq.Local, "RQ") + "RS"}
}

// EchoOf returns a short hash of a message, for echo tokens and idempotency keys.
func EchoOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func echo(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ARIMessage is an ARI notification read by ParseARI: the update in the
// partner's codes, and the request's root and echo token.
type ARIMessage struct {
	Root      xml.Name
	EchoToken string
	Update    canonical.ARIUpdate
	// Set lists, per index of Update.Restrictions, which of its fields the
	// message set: an OTA message may set one restriction and leave the
	// others as they were.
	Set []RestrictionFields
}

// RestrictionFields says which restriction fields an AvailStatusMessage set.
type RestrictionFields struct {
	Closed, ClosedToArrival, ClosedToDeparture, MinStay, MaxStay bool
}

// ParseARI safely reads an OTA_HotelAvailNotifRQ, OTA_HotelInvCountNotifRQ or
// OTA_HotelRateAmountNotifRQ. Spans are inclusive of End, as OTA has them.
func ParseARI(data []byte) (*ARIMessage, error) {
	root, err := connectors.CheckXML(data)
	if err != nil {
		return nil, fmt.Errorf("ota: %w", err)
	}
	if err := connectors.CheckXMLRoot(root, RootAvailNotifRQ, RootInvCountNotifRQ, RootRateAmountNotifRQ); err != nil {
		return nil, fmt.Errorf("ota: %w", err)
	}
	out := &ARIMessage{Root: root}
	switch root.Local {
	case RootAvailNotifRQ.Local:
		var rq AvailNotifRQ
		if _, err := connectors.DecodeXML(data, &rq, RootAvailNotifRQ); err != nil {
			return nil, fmt.Errorf("ota: %w", err)
		}
		out.EchoToken, out.Update.PropertyID = rq.EchoToken, rq.Messages.HotelCode
		for i, m := range rq.Messages.List {
			from, to, err := span(m.StatusApplicationControl, i)
			if err != nil {
				return nil, err
			}
			sac := m.StatusApplicationControl
			if m.BookingLimit != "" {
				n, err := strconv.Atoi(m.BookingLimit)
				if err != nil || n < 0 {
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AvailStatusMessage %d: BookingLimit %q is not a count", i+1, connectors.SafeText(m.BookingLimit, 20))
				}
				out.Update.Availability = append(out.Update.Availability, canonical.AvailabilityUpdate{RoomType: sac.InvTypeCode, From: from, To: to, Available: n})
			}
			if len(m.RestrictionStatus) == 0 && len(m.LengthsOfStay) == 0 {
				continue
			}
			r := canonical.RestrictionsUpdate{RoomType: sac.InvTypeCode, RatePlan: sac.RatePlanCode, From: from, To: to}
			var set RestrictionFields
			for _, rs := range m.RestrictionStatus {
				closed := rs.Status == "Close"
				if !closed && rs.Status != "Open" {
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AvailStatusMessage %d: Status %q is not Open or Close", i+1, connectors.SafeText(rs.Status, 20))
				}
				switch rs.Restriction {
				case "Master", "":
					r.Closed, set.Closed = closed, true
				case "Arrival":
					r.ClosedToArrival, set.ClosedToArrival = closed, true
				case "Departure":
					r.ClosedToDeparture, set.ClosedToDeparture = closed, true
				default:
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AvailStatusMessage %d: Restriction %q is not Master, Arrival or Departure", i+1, connectors.SafeText(rs.Restriction, 20))
				}
			}
			for _, los := range m.LengthsOfStay {
				n, err := strconv.Atoi(los.Time)
				if err != nil || n < 0 || n > canonical.MaxStayNights {
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AvailStatusMessage %d: LengthOfStay Time %q is not 0 to %d", i+1, connectors.SafeText(los.Time, 20), canonical.MaxStayNights)
				}
				switch los.MinMaxMessageType {
				case "SetMinLOS":
					r.MinStay, set.MinStay = n, true
				case "SetMaxLOS":
					r.MaxStay, set.MaxStay = n, true
				default:
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AvailStatusMessage %d: MinMaxMessageType %q is not SetMinLOS or SetMaxLOS", i+1, connectors.SafeText(los.MinMaxMessageType, 20))
				}
			}
			out.Update.Restrictions = append(out.Update.Restrictions, r)
			out.Set = append(out.Set, set)
		}
	case RootInvCountNotifRQ.Local:
		var rq InvCountNotifRQ
		if _, err := connectors.DecodeXML(data, &rq, RootInvCountNotifRQ); err != nil {
			return nil, fmt.Errorf("ota: %w", err)
		}
		out.EchoToken, out.Update.PropertyID = rq.EchoToken, rq.Inventories.HotelCode
		for i, inv := range rq.Inventories.List {
			from, to, err := span(inv.StatusApplicationControl, i)
			if err != nil {
				return nil, err
			}
			for _, c := range inv.InvCounts {
				if c.CountType != "2" && c.CountType != "" {
					continue // only rooms available is Roomwire's business
				}
				n, err := strconv.Atoi(c.Count)
				if err != nil || n < 0 {
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "Inventory %d: Count %q is not a count", i+1, connectors.SafeText(c.Count, 20))
				}
				out.Update.Availability = append(out.Update.Availability, canonical.AvailabilityUpdate{RoomType: inv.StatusApplicationControl.InvTypeCode, From: from, To: to, Available: n})
			}
		}
	case RootRateAmountNotifRQ.Local:
		var rq RateAmountNotifRQ
		if _, err := connectors.DecodeXML(data, &rq, RootRateAmountNotifRQ); err != nil {
			return nil, fmt.Errorf("ota: %w", err)
		}
		out.EchoToken, out.Update.PropertyID = rq.EchoToken, rq.Messages.HotelCode
		for i, m := range rq.Messages.List {
			from, to, err := span(m.StatusApplicationControl, i)
			if err != nil {
				return nil, err
			}
			// The standard occupancy's price: the amount without NumberOfGuests,
			// else the one for the most guests.
			var best *BaseByGuestAmt
			bestN := -1
			for _, rt := range m.Rates {
				for j := range rt.BaseByGuestAmts {
					a := &rt.BaseByGuestAmts[j]
					n, _ := strconv.Atoi(a.NumberOfGuests)
					if a.NumberOfGuests == "" {
						n = 1 << 20
					}
					if n > bestN {
						best, bestN = a, n
					}
				}
			}
			if best == nil {
				return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "RateAmountMessage %d has no BaseByGuestAmt", i+1)
			}
			price, err := amount(Amount{AmountBeforeTax: best.AmountBeforeTax, AmountAfterTax: best.AmountAfterTax, CurrencyCode: best.CurrencyCode}, fmt.Sprintf("RateAmountMessage %d", i+1))
			if err != nil {
				return nil, err
			}
			sac := m.StatusApplicationControl
			out.Update.Rates = append(out.Update.Rates, canonical.RateUpdate{RatePlan: sac.RatePlanCode, RoomType: sac.InvTypeCode, From: from, To: to, Price: price})
		}
	}
	if out.Update.PropertyID == "" {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "HotelCode is missing")
	}
	return out, nil
}

func span(sac StatusApplicationControl, i int) (canonical.Date, canonical.Date, error) {
	from, err := parseDate(fmt.Sprintf("message %d: StatusApplicationControl Start", i+1), sac.Start)
	if err != nil {
		return from, from, err
	}
	to, err := parseDate(fmt.Sprintf("message %d: StatusApplicationControl End", i+1), sac.End)
	if err != nil {
		return from, to, err
	}
	if to.Before(from) || from.DaysUntil(to) > 3*366 {
		return from, to, inputErr(ErrTypeBizRule, CodeInvalidDate, "message %d: Start %s to End %s is not a span of at most %d nights", i+1, from, to, 3*366)
	}
	if sac.InvTypeCode == "" {
		return from, to, inputErr(ErrTypeRequired, CodeRequiredMissing, "message %d: InvTypeCode is missing", i+1)
	}
	return from, to, nil
}

// ParseRS reads the reply to an ARI notification or a reservation reply: nil
// for Success, a permanent error with the partner's Errors otherwise.
func ParseRS(data []byte) error {
	var rs GenericRS
	if _, err := connectors.DecodeXML(data, &rs, RootAvailNotifRS, RootInvCountNotifRS, RootRateAmountNotifRS, RootResNotifRS, RootResModifyNotifRS); err != nil {
		return connectors.Permanent(fmt.Errorf("ota: reply: %w", err))
	}
	if len(rs.Errors) > 0 {
		e := rs.Errors[0]
		return connectors.Permanent(fmt.Errorf("ota: partner refused: error type %s code %s: %s", connectors.SafeText(e.Type, 10), connectors.SafeText(e.Code, 10), connectors.SafeText(e.Text+e.ShortText, 300)))
	}
	if rs.Success == nil {
		return connectors.Permanent(fmt.Errorf("ota: reply %s has neither Success nor Errors", rs.XMLName.Local))
	}
	return nil
}
