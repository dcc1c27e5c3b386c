package canonical

import (
	"reflect"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		s              Status
		valid, inStock bool
	}{
		{StatusConfirmed, true, true},
		{StatusCheckedIn, true, true},
		{StatusCheckedOut, true, true},
		{StatusCancelled, true, false},
		{StatusNoShow, true, false},
		{"", false, false},
		{"pending", false, false},
		{"Confirmed", false, false},
	}
	for _, tt := range tests {
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("Status(%q).Valid() = %v, want %v", tt.s, got, tt.valid)
		}
		if got := tt.s.HoldsInventory(); got != tt.inStock {
			t.Errorf("Status(%q).HoldsInventory() = %v, want %v", tt.s, got, tt.inStock)
		}
	}
}

func TestFlags(t *testing.T) {
	var r Reservation
	if r.HasFlag(FlagOverbooked) {
		t.Fatal("a new reservation has the overbooked flag")
	}
	r.SetFlag(FlagOverbooked)
	r.SetFlag(FlagOverbooked)
	r.SetFlag(FlagPaymentDeclined)
	if want := []Flag{FlagOverbooked, FlagPaymentDeclined}; !reflect.DeepEqual(r.Flags, want) {
		t.Fatalf("Flags = %v, want %v", r.Flags, want)
	}
	if !r.HasFlag(FlagOverbooked) || !r.HasFlag(FlagPaymentDeclined) {
		t.Fatalf("HasFlag is false for a flag that is set: %v", r.Flags)
	}
}

func TestArrivalDeparture(t *testing.T) {
	r := goldenReservation()
	r.RoomStays = append(r.RoomStays, RoomStay{Arrival: date("2027-04-09"), Departure: date("2027-04-11")})
	if got, want := r.Arrival(), date("2027-04-09"); got != want {
		t.Errorf("Arrival() = %v, want %v", got, want)
	}
	if got, want := r.Departure(), date("2027-04-13"); got != want {
		t.Errorf("Departure() = %v, want %v", got, want)
	}
	var empty Reservation
	if !empty.Arrival().IsZero() || !empty.Departure().IsZero() {
		t.Errorf("a reservation with no stays has arrival %v, departure %v", empty.Arrival(), empty.Departure())
	}
}

func TestSumNightlyPrices(t *testing.T) {
	r := goldenReservation()
	got, err := r.SumNightlyPrices()
	if err != nil || got != r.Total {
		t.Fatalf("SumNightlyPrices() = %v, %v; want %v", got, err, r.Total)
	}

	r.RoomStays[1].NightlyPrices[0].Price = NewMoney(9950, "USD")
	if _, err := r.SumNightlyPrices(); err == nil || !strings.Contains(err.Error(), "cannot add USD to EUR") {
		t.Fatalf("SumNightlyPrices() with two currencies: error %v", err)
	}

	var none Reservation
	if got, err := none.SumNightlyPrices(); err != nil || !got.IsZero() {
		t.Fatalf("SumNightlyPrices() of no prices = %#v, %v; want zero Money", got, err)
	}
}

// The most a valid reservation can price: every stay of MaxStayNights at the
// largest amount. The sum must fail cleanly rather than wrap around.
func TestSumNightlyPricesOverflow(t *testing.T) {
	stay := RoomStay{Arrival: date("2027-01-01"), Departure: date("2027-01-01").AddDays(MaxStayNights)}
	for _, n := range stay.Nights() {
		stay.NightlyPrices = append(stay.NightlyPrices, NightlyPrice{Date: n, Price: NewMoney(maxMinor, "EUR")})
	}
	r := Reservation{RoomStays: repeatStay(stay, MaxRoomStays)}
	got, err := r.SumNightlyPrices()
	if err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Fatalf("SumNightlyPrices() = %v, %v; want an overflow error", got, err)
	}
}

func TestEventTypes(t *testing.T) {
	tests := []struct {
		t           EventType
		reservation bool
		topic       string
	}{
		{EventReservationCreated, true, "roomwire.reservation.events"},
		{EventReservationModified, true, "roomwire.reservation.events"},
		{EventReservationCancelled, true, "roomwire.reservation.events"},
		{EventReservationOverbooked, true, "roomwire.reservation.events"},
		{EventAvailabilityChanged, false, "roomwire.availability.events"},
		{EventRatesChanged, false, "roomwire.availability.events"},
	}
	for _, tt := range tests {
		if got := tt.t.IsReservation(); got != tt.reservation {
			t.Errorf("%s.IsReservation() = %v, want %v", tt.t, got, tt.reservation)
		}
		if got := tt.t.Topic(); got != tt.topic {
			t.Errorf("%s.Topic() = %q, want %q", tt.t, got, tt.topic)
		}
	}
}

func TestARIKinds(t *testing.T) {
	av := []AvailabilityUpdate{{RoomType: "DBL"}}
	re := []RestrictionsUpdate{{RatePlan: "BAR"}}
	ra := []RateUpdate{{RatePlan: "BAR"}}
	tests := []struct {
		u    ARIUpdate
		want []ARIKind
	}{
		{ARIUpdate{}, nil},
		{ARIUpdate{Availability: av}, []ARIKind{ARIAvailability}},
		{ARIUpdate{Rates: ra}, []ARIKind{ARIRates}},
		{ARIUpdate{Availability: av, Restrictions: re, Rates: ra}, []ARIKind{ARIAvailability, ARIRestrictions, ARIRates}},
	}
	for _, tt := range tests {
		if got := tt.u.Kinds(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Kinds() = %v, want %v", got, tt.want)
		}
	}
}

func TestCloneSharesNothing(t *testing.T) {
	r := &Reservation{
		PrimaryGuest:     Guest{Surname: "Silva", Address: &Address{Lines: []string{"Rua 1"}}},
		AdditionalGuests: []Guest{{Surname: "Costa"}},
		RoomStays:        []RoomStay{{ChildrenAges: []int{7}, NightlyPrices: []NightlyPrice{{Price: NewMoney(1, "EUR")}}}},
		Guarantee:        &Guarantee{Type: "card"},
		Comments:         []string{"a"},
		Flags:            []Flag{FlagOverbooked},
	}
	c := r.Clone()
	if !reflect.DeepEqual(c, r) {
		t.Fatalf("clone differs: %+v", c)
	}
	c.PrimaryGuest.Address.Lines[0] = "x"
	c.AdditionalGuests[0].Surname = "x"
	c.RoomStays[0].ChildrenAges[0] = 9
	c.RoomStays[0].NightlyPrices[0].Price.Minor = 9
	c.Guarantee.Type = "x"
	c.Comments[0] = "x"
	c.Flags[0] = "x"
	if r.PrimaryGuest.Address.Lines[0] != "Rua 1" || r.AdditionalGuests[0].Surname != "Costa" || r.RoomStays[0].ChildrenAges[0] != 7 ||
		r.RoomStays[0].NightlyPrices[0].Price.Minor != 1 || r.Guarantee.Type != "card" || r.Comments[0] != "a" || r.Flags[0] != FlagOverbooked {
		t.Fatalf("changing the clone changed the original: %+v", r)
	}
}
