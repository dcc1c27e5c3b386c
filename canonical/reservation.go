// Package canonical is Roomwire's one model of reservations, events and ARI
// (availability, rates, inventory) updates. Every connector translates its
// partner's format to and from these types; the store and the event backbone
// speak nothing else. The package does no I/O and imports nothing of Roomwire.
//
// The JSON form of every type here is versioned by SchemaVersion and documented
// in docs/canonical.md. Additive changes (a new optional field) keep the version;
// anything that changes the meaning of an existing field raises it.
package canonical

import "time"

// SchemaVersion is the version of the canonical JSON form written by this code.
const SchemaVersion = 1

// Status is the lifecycle state of a reservation.
type Status string

// The reservation statuses.
const (
	StatusConfirmed  Status = "confirmed"
	StatusCancelled  Status = "cancelled"
	StatusNoShow     Status = "no_show"
	StatusCheckedIn  Status = "checked_in"
	StatusCheckedOut Status = "checked_out"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusConfirmed, StatusCancelled, StatusNoShow, StatusCheckedIn, StatusCheckedOut:
		return true
	}
	return false
}

// HoldsInventory reports whether a reservation in this status occupies rooms.
// A cancelled or no-show reservation gives its units back.
func (s Status) HoldsInventory() bool {
	return s == StatusConfirmed || s == StatusCheckedIn || s == StatusCheckedOut
}

// Flag marks a reservation that needs a person's attention.
type Flag string

// The reservation flags.
const (
	// FlagOverbooked: a channel sold a room Roomwire had no availability for.
	// The reservation is kept, because the guest has already booked.
	FlagOverbooked Flag = "overbooked"
	// FlagRestricted: a channel sold a stay the rate plan's restrictions
	// forbid (stop sell, closed to arrival, a minimum stay...). The
	// reservation is kept, because the guest has already booked.
	FlagRestricted Flag = "restricted"
	// FlagPaymentDeclined: the payment gateway declined the guarantee.
	FlagPaymentDeclined Flag = "payment_declined"
)

// ChannelDirect is the channel of bookings made through Roomwire's own API
// when the caller names no other.
const ChannelDirect = "direct"

// Reservation is one booking of one or more rooms at one property.
type Reservation struct {
	SchemaVersion      int       `json:"schema_version"`
	ID                 string    `json:"id"`
	ConfirmationNumber string    `json:"confirmation_number"`
	PropertyID         string    `json:"property_id"`
	Status             Status    `json:"status"`
	Channel            string    `json:"channel"`
	ExternalID         string    `json:"external_id,omitempty"` // the channel's own reservation id
	Version            int       `json:"version"`               // raised by one on every change
	CreatedAt          time.Time `json:"created_at"`
	ModifiedAt         time.Time `json:"modified_at"`

	PrimaryGuest     Guest      `json:"primary_guest"`
	AdditionalGuests []Guest    `json:"additional_guests,omitempty"`
	RoomStays        []RoomStay `json:"room_stays"`
	Total            Money      `json:"total"`
	Guarantee        *Guarantee `json:"guarantee,omitempty"`
	Comments         []string   `json:"comments,omitempty"`
	Flags            []Flag     `json:"flags,omitempty"`
}

// HasFlag reports whether the reservation carries f.
func (r *Reservation) HasFlag(f Flag) bool {
	for _, x := range r.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// ClearFlag removes f.
func (r *Reservation) ClearFlag(f Flag) {
	out := r.Flags[:0:0]
	for _, x := range r.Flags {
		if x != f {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	r.Flags = out
}

// SetFlag adds f unless the reservation already carries it.
func (r *Reservation) SetFlag(f Flag) {
	if !r.HasFlag(f) {
		r.Flags = append(r.Flags, f)
	}
}

// Arrival returns the earliest arrival of the reservation's room stays.
func (r *Reservation) Arrival() Date {
	var d Date
	for i, s := range r.RoomStays {
		if i == 0 || s.Arrival.Before(d) {
			d = s.Arrival
		}
	}
	return d
}

// Departure returns the latest departure of the reservation's room stays.
func (r *Reservation) Departure() Date {
	var d Date
	for i, s := range r.RoomStays {
		if i == 0 || s.Departure.After(d) {
			d = s.Departure
		}
	}
	return d
}

// SumNightlyPrices returns the sum of every room stay's nightly prices.
func (r *Reservation) SumNightlyPrices() (Money, error) {
	var total Money
	for _, s := range r.RoomStays {
		for _, n := range s.NightlyPrices {
			var err error
			if total, err = total.Add(n.Price); err != nil {
				return Money{}, err
			}
		}
	}
	return total, nil
}

// Guests returns the primary guest followed by the additional guests: the
// list RoomStay.Guests points into.
func (r *Reservation) Guests() []Guest {
	return append([]Guest{r.PrimaryGuest}, r.AdditionalGuests...)
}

// RoomGuest returns the primary guest of room stay i: the first guest its
// Guests names, else the reservation's primary guest.
func (r *Reservation) RoomGuest(i int) Guest {
	if g := r.RoomGuests(i); len(g) > 0 {
		return g[0]
	}
	return r.PrimaryGuest
}

// RoomGuests returns the guests room stay i names, in order; positions
// outside the reservation's guests are skipped.
func (r *Reservation) RoomGuests(i int) []Guest {
	if i < 0 || i >= len(r.RoomStays) {
		return nil
	}
	var out []Guest
	for _, n := range r.RoomStays[i].Guests {
		switch {
		case n == 0:
			out = append(out, r.PrimaryGuest)
		case n > 0 && n <= len(r.AdditionalGuests):
			out = append(out, r.AdditionalGuests[n-1])
		}
	}
	return out
}

// DropStaleRoomGuests removes from the room stays the positions of guests
// the reservation no longer has, after its guests were replaced.
func (r *Reservation) DropStaleRoomGuests() {
	for i := range r.RoomStays {
		kept := r.RoomStays[i].Guests[:0:0]
		for _, n := range r.RoomStays[i].Guests {
			if n >= 0 && n <= len(r.AdditionalGuests) {
				kept = append(kept, n)
			}
		}
		if len(kept) == 0 {
			kept = nil
		}
		r.RoomStays[i].Guests = kept
	}
}

// Guest is a person staying or booking. Contact details are personal data:
// they are stored, but never logged or put in a dead-letter reason.
type Guest struct {
	Title     string   `json:"title,omitempty"`
	GivenName string   `json:"given_name"`
	Surname   string   `json:"surname"`
	Email     string   `json:"email,omitempty"`
	Phone     string   `json:"phone,omitempty"`
	Address   *Address `json:"address,omitempty"`
}

// Address is a postal address.
type Address struct {
	Lines       []string `json:"lines,omitempty"`
	City        string   `json:"city,omitempty"`
	PostalCode  string   `json:"postal_code,omitempty"`
	CountryCode string   `json:"country_code,omitempty"` // ISO 3166-1 alpha-2
}

// RoomStay is one room for a run of nights at one rate plan.
type RoomStay struct {
	RoomType      string         `json:"room_type"`
	RatePlan      string         `json:"rate_plan"`
	Arrival       Date           `json:"arrival"`
	Departure     Date           `json:"departure"`
	Adults        int            `json:"adults"`
	ChildrenAges  []int          `json:"children_ages,omitempty"`
	NightlyPrices []NightlyPrice `json:"nightly_prices,omitempty"`
	// Total is the room's own total as the channel stated it, which taxes
	// or fees it counts in may set apart from the sum of the nightly
	// prices; nil when the channel stated none.
	Total *Money `json:"total,omitempty"`
	// Guests says who stays in the room, as positions in the reservation's
	// guests: 0 is primary_guest, n is additional_guests[n-1]. The first
	// is the room's own primary guest. Empty when the channel did not say.
	Guests []int `json:"guests,omitempty"`
}

// Nights lists the nights of the stay.
func (s RoomStay) Nights() []Date { return Nights(s.Arrival, s.Departure) }

// NightlyPrice is the price of one night of a room stay.
type NightlyPrice struct {
	Date  Date  `json:"date"`
	Price Money `json:"price"`
}

// Guarantee is how a booking is secured. Roomwire keeps only a gateway token
// and a masked number: a card number or CVV never enters the model.
type Guarantee struct {
	Type       string `json:"type"`                  // "card", "deposit", "company", "none"
	CardToken  string `json:"card_token,omitempty"`  // the payment gateway's or vault's token
	CardMask   string `json:"card_mask,omitempty"`   // e.g. "4111XXXXXXXX1111"
	CardBrand  string `json:"card_brand,omitempty"`  // e.g. "VI", "MC"
	CardExpiry string `json:"card_expiry,omitempty"` // "MMYY" as channels send it
	HolderName string `json:"holder_name,omitempty"`
	TokenVault string `json:"token_vault,omitempty"` // who issued the token
}

// Clone returns a deep copy of r, so that changing the copy's lists never
// changes r.
func (r *Reservation) Clone() *Reservation {
	c := *r
	c.AdditionalGuests = cloneGuests(r.AdditionalGuests)
	c.PrimaryGuest = cloneGuests([]Guest{r.PrimaryGuest})[0]
	if r.RoomStays != nil {
		c.RoomStays = make([]RoomStay, len(r.RoomStays))
		for i, s := range r.RoomStays {
			s.ChildrenAges = cloneSlice(s.ChildrenAges)
			s.NightlyPrices = cloneSlice(s.NightlyPrices)
			s.Guests = cloneSlice(s.Guests)
			if s.Total != nil {
				t := *s.Total
				s.Total = &t
			}
			c.RoomStays[i] = s
		}
	}
	if r.Guarantee != nil {
		g := *r.Guarantee
		c.Guarantee = &g
	}
	c.Comments = cloneSlice(r.Comments)
	c.Flags = cloneSlice(r.Flags)
	return &c
}

func cloneGuests(in []Guest) []Guest {
	if in == nil {
		return nil
	}
	out := make([]Guest, len(in))
	for i, g := range in {
		if g.Address != nil {
			a := *g.Address
			a.Lines = cloneSlice(a.Lines)
			g.Address = &a
		}
		out[i] = g
	}
	return out
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// Final reports whether nothing about a reservation in this status may
// change. A no-show may still be undone within its grace period (see
// Lifecycle); nothing else about it changes.
func (s Status) Final() bool {
	return s == StatusCancelled || s == StatusCheckedOut || s == StatusNoShow
}
