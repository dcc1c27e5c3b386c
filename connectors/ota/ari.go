package ota

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"sort"
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
// OTA_HotelRateAmountNotifRQ: one BaseByGuestAmt per priced number of adults
// (NumberOfGuests, AgeQualifyingCode 10) with AdditionalGuestAmounts for
// extra adults and children. A rate priced once carries occupancy, when
// above zero, as its NumberOfGuests. Each message's EchoToken is a hash of its content, so a
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
			// Only the restrictions the update sets: the others stay as the
			// channel has them.
			for _, x := range []struct {
				name string
				v    *bool
			}{{"Master", r.StopSell}, {"Arrival", r.ClosedToArrival}, {"Departure", r.ClosedToDeparture}} {
				if x.v != nil {
					m.RestrictionStatus = append(m.RestrictionStatus, RestrictionStatus{Restriction: x.name, Status: openClose(*x.v)})
				}
			}
			// 0 lifts a minimum or maximum stay.
			for _, x := range []struct {
				kind string
				v    *int
			}{{LOSMinArrival, r.MinStay}, {LOSMinThrough, r.MinStayThrough}, {LOSMax, r.MaxStay}} {
				if x.v != nil {
					m.LengthsOfStay = append(m.LengthsOfStay, LengthOfStay{Time: strconv.Itoa(*x.v), TimeUnit: "Day", MinMaxMessageType: x.kind})
				}
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
			rq.Messages.List = append(rq.Messages.List, RateAmountMessage{
				StatusApplicationControl: StatusApplicationControl{Start: r.From.String(), End: r.To.String(), InvTypeCode: r.RoomType, RatePlanCode: r.RatePlan},
				Rates:                    []RateAmount{rateAmount(r.Rate, occupancy)},
			})
		}
		rq.EchoToken = echo(rq.Messages)
		if err := add(rq); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// The MinMaxMessageType values of LengthOfStay: the minimum stay of stays
// arriving on a night, of stays through it, and the maximum stay.
const (
	LOSMinArrival = "SetMinLOS"
	LOSMinThrough = "SetForwardMinStay"
	LOSMax        = "SetMaxLOS"
)

// rateAmount renders a rate: a BaseByGuestAmt per priced number of adults,
// or one (for occupancy guests, when above zero) for a rate priced once.
func rateAmount(r canonical.Rate, occupancy int) RateAmount {
	var out RateAmount
	if len(r.Occupancy) == 0 {
		amt := BaseByGuestAmt{AmountAfterTax: r.Price.Decimal(), CurrencyCode: r.Price.Currency}
		if occupancy > 0 {
			amt.NumberOfGuests = strconv.Itoa(occupancy)
		}
		out.BaseByGuestAmts = []BaseByGuestAmt{amt}
	}
	for _, o := range r.Occupancy {
		out.BaseByGuestAmts = append(out.BaseByGuestAmts, BaseByGuestAmt{NumberOfGuests: strconv.Itoa(o.Adults), AgeQualifyingCode: AgeAdult,
			AmountAfterTax: o.Price.Decimal(), CurrencyCode: o.Price.Currency})
	}
	for _, x := range []struct {
		code string
		m    canonical.Money
	}{{AgeAdult, r.ExtraAdult}, {AgeChild, r.ExtraChild}} {
		if x.m.Minor != 0 {
			out.AdditionalGuestAmounts = append(out.AdditionalGuestAmounts, AdditionalGuestAmount{AgeQualifyingCode: x.code, Amount: x.m.Decimal(), CurrencyCode: x.m.Currency})
		}
	}
	return out
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
	// Update holds what the message sets; restrictions it leaves unset
	// are nil.
	Update canonical.ARIUpdate
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
			for _, rs := range m.RestrictionStatus {
				closed := rs.Status == "Close"
				if !closed && rs.Status != "Open" {
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AvailStatusMessage %d: Status %q is not Open or Close", i+1, connectors.SafeText(rs.Status, 20))
				}
				switch rs.Restriction {
				case "Master", "":
					r.StopSell = &closed
				case "Arrival":
					r.ClosedToArrival = &closed
				case "Departure":
					r.ClosedToDeparture = &closed
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
				case LOSMinArrival:
					r.MinStay = &n
				case LOSMinThrough:
					r.MinStayThrough = &n
				case LOSMax:
					r.MaxStay = &n
				default:
					return nil, inputErr(ErrTypeBizRule, CodeInvalidValue, "AvailStatusMessage %d: MinMaxMessageType %q is not %s, %s or %s", i+1,
						connectors.SafeText(los.MinMaxMessageType, 20), LOSMinArrival, LOSMinThrough, LOSMax)
				}
			}
			out.Update.Restrictions = append(out.Update.Restrictions, r)
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
			rate, err := parseRate(m.Rates, fmt.Sprintf("RateAmountMessage %d", i+1))
			if err != nil {
				return nil, err
			}
			sac := m.StatusApplicationControl
			out.Update.Rates = append(out.Update.Rates, canonical.RateUpdate{RatePlan: sac.RatePlanCode, RoomType: sac.InvTypeCode, From: from, To: to, Rate: rate})
		}
	}
	if out.Update.PropertyID == "" {
		return nil, inputErr(ErrTypeRequired, CodeRequiredMissing, "HotelCode is missing")
	}
	return out, nil
}

// parseRate reads a message's rates: prices by NumberOfGuests (adults) and
// extra adult and child amounts. The standard price is the amount without
// NumberOfGuests, else the one for the most guests.
func parseRate(rates []RateAmount, where string) (canonical.Rate, error) {
	var out canonical.Rate
	bestN := -1
	for _, rt := range rates {
		for _, a := range rt.BaseByGuestAmts {
			price, err := amount(Amount{AmountBeforeTax: a.AmountBeforeTax, AmountAfterTax: a.AmountAfterTax, CurrencyCode: a.CurrencyCode}, where)
			if err != nil {
				return out, err
			}
			n := 1 << 20
			if a.NumberOfGuests != "" {
				n, err = strconv.Atoi(a.NumberOfGuests)
				if err != nil || n < 1 || n > canonical.MaxGuestsInRoom {
					return out, inputErr(ErrTypeBizRule, CodeInvalidValue, "%s: NumberOfGuests %q is not 1 to %d", where, connectors.SafeText(a.NumberOfGuests, 10), canonical.MaxGuestsInRoom)
				}
				out.Occupancy = append(out.Occupancy, canonical.OccupancyPrice{Adults: n, Price: price})
			}
			if n > bestN {
				out.Price, bestN = price, n
			}
		}
		for _, g := range rt.AdditionalGuestAmounts {
			cur := g.CurrencyCode
			if cur == "" {
				cur = out.Price.Currency
			}
			m, err := amount(Amount{AmountAfterTax: g.Amount, CurrencyCode: cur}, where+" AdditionalGuestAmount")
			if err != nil {
				return out, err
			}
			switch g.AgeQualifyingCode {
			case AgeAdult:
				out.ExtraAdult = m
			case AgeChild:
				out.ExtraChild = m
			default:
				return out, inputErr(ErrTypeBizRule, CodeInvalidValue, "%s: AdditionalGuestAmount AgeQualifyingCode %q is not %s (adult) or %s (child)", where,
					connectors.SafeText(g.AgeQualifyingCode, 10), AgeAdult, AgeChild)
			}
		}
	}
	if bestN < 0 {
		return out, inputErr(ErrTypeRequired, CodeRequiredMissing, "%s has no BaseByGuestAmt", where)
	}
	if len(out.Occupancy) == 1 {
		out.Occupancy = nil // one price is not pricing by occupancy
	}
	sort.Slice(out.Occupancy, func(i, j int) bool { return out.Occupancy[i].Adults < out.Occupancy[j].Adults })
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
