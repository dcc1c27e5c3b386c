package jsonchannel

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// Booking is one booking as the channel pushes it.
type Booking struct {
	HotelID    string `json:"hotel_id"`
	BookingID  string `json:"booking_id"`
	Event      string `json:"event"`       // booked, modified or cancelled
	ModifiedAt string `json:"modified_at"` // RFC 3339; the revision
	Guest      Guest  `json:"guest"`
	Rooms      []Room `json:"rooms"`
	Currency   string `json:"currency"`
	Total      string `json:"total,omitempty"` // decimal; empty: the sum of the nights
}

// Guest is the booker.
type Guest struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email,omitempty"`
}

// Room is one room of a booking.
type Room struct {
	RoomCode string  `json:"room_code"`
	RateCode string  `json:"rate_code"`
	CheckIn  string  `json:"check_in"`
	CheckOut string  `json:"check_out"`
	Adults   int     `json:"adults"`
	Nights   []Night `json:"nights,omitempty"`
}

// Night is the price of one night.
type Night struct {
	Date  string `json:"date"`
	Price string `json:"price"`
}

// Reply is the channel's answer format, for Roomwire's answers to pushes.
type Reply struct {
	Status    string `json:"status"` // ok or error
	Reference string `json:"reference,omitempty"`
	Error     string `json:"error,omitempty"`
}

var events = map[string]canonical.ChannelAction{
	"booked": canonical.ChannelNew, "modified": canonical.ChannelModify, "cancelled": canonical.ChannelCancel,
}

// ParseBooking reads one pushed booking. Its errors are permanent and say
// what is wrong.
func ParseBooking(data []byte) (*Booking, error) {
	var b Booking
	if err := connectors.DecodeJSON(data, &b); err != nil {
		return nil, fmt.Errorf("jsonchannel: %w", err)
	}
	return &b, nil
}

// ToBooking translates b into a channel booking of the connector (and
// channel) called name, still in the channel's codes.
func ToBooking(b *Booking, name string) (*canonical.ChannelBooking, error) {
	bad := func(format string, a ...any) error {
		return connectors.Permanent(fmt.Errorf("jsonchannel: booking %s: "+format, append([]any{connectors.SafeText(b.BookingID, 40)}, a...)...))
	}
	action, ok := events[b.Event]
	if !ok {
		return nil, bad("event %q is not booked, modified or cancelled", connectors.SafeText(b.Event, 20))
	}
	if strings.TrimSpace(b.BookingID) == "" || strings.TrimSpace(b.HotelID) == "" {
		return nil, bad("hotel_id and booking_id are required")
	}
	if len(b.Rooms) == 0 {
		return nil, bad("no rooms")
	}
	r := canonical.Reservation{SchemaVersion: canonical.SchemaVersion, PropertyID: b.HotelID, Channel: name, ExternalID: b.BookingID,
		PrimaryGuest: canonical.Guest{GivenName: strings.TrimSpace(b.Guest.FirstName), Surname: strings.TrimSpace(b.Guest.LastName), Email: strings.TrimSpace(b.Guest.Email)}}
	if t, err := time.Parse(time.RFC3339, b.ModifiedAt); err == nil {
		r.CreatedAt, r.ModifiedAt = t.UTC(), t.UTC()
	} else if b.ModifiedAt != "" {
		return nil, bad("modified_at %q is not an RFC 3339 time", connectors.SafeText(b.ModifiedAt, 40))
	}
	if action == canonical.ChannelCancel {
		r.Status = canonical.StatusCancelled
	}
	for i, room := range b.Rooms {
		st := canonical.RoomStay{RoomType: room.RoomCode, RatePlan: room.RateCode, Adults: room.Adults}
		var err error
		if st.Arrival, err = canonical.ParseDate(room.CheckIn); err != nil {
			return nil, bad("rooms[%d].check_in: %v", i, err)
		}
		if st.Departure, err = canonical.ParseDate(room.CheckOut); err != nil {
			return nil, bad("rooms[%d].check_out: %v", i, err)
		}
		for j, n := range room.Nights {
			d, err := canonical.ParseDate(n.Date)
			if err != nil {
				return nil, bad("rooms[%d].nights[%d].date: %v", i, j, err)
			}
			p, err := connectors.ParseAmount(n.Price, b.Currency)
			if err != nil {
				return nil, bad("rooms[%d].nights[%d].price: %v", i, j, err)
			}
			st.NightlyPrices = append(st.NightlyPrices, canonical.NightlyPrice{Date: d, Price: p})
		}
		r.RoomStays = append(r.RoomStays, st)
	}
	if b.Total != "" {
		t, err := connectors.ParseAmount(b.Total, b.Currency)
		if err != nil {
			return nil, bad("total: %v", err)
		}
		r.Total = t
	}
	out := &canonical.ChannelBooking{SchemaVersion: canonical.SchemaVersion, Connector: name, Action: action, Revision: b.ModifiedAt, Reservation: r}
	if err := out.Validate(); err != nil {
		return nil, connectors.Permanent(fmt.Errorf("jsonchannel: %w", err))
	}
	return out, nil
}

// FromReservation renders r as the channel pushes a booking.
func FromReservation(r *canonical.Reservation) ([]byte, error) {
	b := Booking{HotelID: r.PropertyID, BookingID: r.ExternalID, Event: "booked", Currency: r.Total.Currency, Total: r.Total.Decimal(),
		Guest: Guest{FirstName: r.PrimaryGuest.GivenName, LastName: r.PrimaryGuest.Surname, Email: r.PrimaryGuest.Email}}
	if !r.ModifiedAt.IsZero() {
		b.ModifiedAt = r.ModifiedAt.UTC().Format(time.RFC3339)
	}
	if r.Status == canonical.StatusCancelled {
		b.Event = "cancelled"
	}
	for _, s := range r.RoomStays {
		room := Room{RoomCode: s.RoomType, RateCode: s.RatePlan, CheckIn: s.Arrival.String(), CheckOut: s.Departure.String(), Adults: s.Adults}
		for _, n := range s.NightlyPrices {
			room.Nights = append(room.Nights, Night{Date: n.Date.String(), Price: n.Price.Decimal()})
		}
		b.Rooms = append(b.Rooms, room)
	}
	return json.Marshal(b)
}
