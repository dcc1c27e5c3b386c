package canonical

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// validReservation is a small reservation that passes Validate: two room
// stays, the first priced per night, the second not.
func validReservation() *Reservation {
	return &Reservation{
		SchemaVersion:      SchemaVersion,
		ID:                 "res-1",
		ConfirmationNumber: "RW-1",
		PropertyID:         "lisbon-1",
		Status:             StatusConfirmed,
		Channel:            "bookingcom",
		ExternalID:         "4711",
		Version:            1,
		CreatedAt:          time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC),
		ModifiedAt:         time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC),
		PrimaryGuest: Guest{
			GivenName: "Ana",
			Surname:   "Silva",
			Email:     "ana@example.com",
			Address:   &Address{Lines: []string{"Rua Augusta 1"}, City: "Lisboa", CountryCode: "PT"},
		},
		AdditionalGuests: []Guest{{GivenName: "Rui", Address: &Address{CountryCode: "PT"}}},
		RoomStays: []RoomStay{
			{
				RoomType: "DBL", RatePlan: "BAR", Arrival: date("2027-04-10"), Departure: date("2027-04-12"),
				Adults: 2, ChildrenAges: []int{0, 17},
				NightlyPrices: []NightlyPrice{
					{Date: date("2027-04-10"), Price: NewMoney(12000, "EUR")},
					{Date: date("2027-04-11"), Price: NewMoney(13000, "EUR")},
				},
			},
			{RoomType: "SGL", RatePlan: "BAR", Arrival: date("2027-04-11"), Departure: date("2027-04-12"), Adults: 1},
		},
		Total:     NewMoney(34000, "EUR"),
		Guarantee: &Guarantee{Type: "card", CardToken: "tok_1Nv0", CardMask: "4111XXXXXXXX1111", CardBrand: "VI", CardExpiry: "1229", HolderName: "Ana Silva"},
		Comments:  []string{"Late arrival,\naround 23:00.\tThanks"},
	}
}

func TestValidReservation(t *testing.T) {
	if err := validReservation().Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidateFields(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) } // n characters, 2n bytes
	tests := []struct {
		name   string
		change func(r *Reservation)
		fields []string // the exact field paths, in order; nil for a valid reservation
	}{
		// Each room's own total and guests.
		{"room totals and guests", func(r *Reservation) {
			t := NewMoney(25000, "EUR")
			r.RoomStays[0].Total, r.RoomStays[0].Guests, r.RoomStays[1].Guests = &t, []int{0}, []int{1, 0}
		}, nil},
		{"a room total in another currency", func(r *Reservation) {
			t := NewMoney(25000, "USD")
			r.RoomStays[1].Total = &t
		}, []string{"room_stays[1].total.currency"}},
		{"a negative room total", func(r *Reservation) {
			t := NewMoney(-1, "EUR")
			r.RoomStays[0].Total = &t
		}, []string{"room_stays[0].total.amount"}},
		{"a room guest the reservation lacks", func(r *Reservation) {
			r.RoomStays[1].Guests = []int{2}
		}, []string{"room_stays[1].guests[0]"}},
		{"a room guest named twice", func(r *Reservation) {
			r.RoomStays[0].Guests = []int{1, 1}
		}, []string{"room_stays[0].guests[1]"}},
		{"a negative room guest", func(r *Reservation) {
			r.RoomStays[0].Guests = []int{-1}
		}, []string{"room_stays[0].guests[0]"}},
		// Stay dates.
		{"departure before arrival", func(r *Reservation) {
			r.RoomStays[1].Departure = date("2027-04-10")
		}, []string{"room_stays[1].departure"}},
		{"departure equal to arrival", func(r *Reservation) {
			r.RoomStays[1].Departure = r.RoomStays[1].Arrival
		}, []string{"room_stays[1].departure"}},
		{"departure before arrival with nightly prices", func(r *Reservation) {
			r.RoomStays[0].Departure = date("2027-04-09")
		}, []string{"room_stays[0].departure", "room_stays[0].nightly_prices"}},
		{"365 nights", func(r *Reservation) {
			r.RoomStays[1].Departure = r.RoomStays[1].Arrival.AddDays(MaxStayNights)
		}, nil},
		{"366 nights", func(r *Reservation) {
			r.RoomStays[1].Departure = r.RoomStays[1].Arrival.AddDays(MaxStayNights + 1)
		}, []string{"room_stays[1].departure"}},
		{"366 nights with nightly prices", func(r *Reservation) {
			r.RoomStays[0].Departure = r.RoomStays[0].Arrival.AddDays(MaxStayNights + 1)
		}, []string{"room_stays[0].departure"}},
		{"missing arrival", func(r *Reservation) {
			r.RoomStays[0].Arrival = Date{}
		}, []string{"room_stays[0].arrival"}},
		{"missing departure", func(r *Reservation) {
			r.RoomStays[1].Departure = Date{}
		}, []string{"room_stays[1].departure"}},
		{"arrival before 2000", func(r *Reservation) {
			r.RoomStays[1].Arrival = date("1999-12-31")
		}, []string{"room_stays[1].arrival"}},
		{"departure after 2199", func(r *Reservation) {
			r.RoomStays[1].Departure = date("2200-01-01")
		}, []string{"room_stays[1].departure"}},
		{"dates thousands of years apart", func(r *Reservation) {
			r.RoomStays[0].Arrival, r.RoomStays[0].Departure = date("0001-01-01"), date("9999-12-31")
		}, []string{"room_stays[0].arrival", "room_stays[0].departure"}},

		// Card data and disguised text in what people wrote.
		{"card number in a comment", func(r *Reservation) {
			r.Comments = append(r.Comments, "pay with 4111111111111111 cvv 737")
		}, []string{"comments[1]"}},
		{"card number with dots in a comment", func(r *Reservation) {
			r.Comments[0] = "card 4111.1111.1111.1111"
		}, []string{"comments[0]"}},
		{"full-width card number in an address", func(r *Reservation) {
			r.PrimaryGuest.Address.Lines[0] = "４１１１ １１１１ １１１１ １１１１"
		}, []string{"primary_guest.address.lines[0]"}},
		{"security code in a comment", func(r *Reservation) {
			r.Comments[0] = "CVV 737"
		}, []string{"comments[0]"}},
		{"bidi override in a surname", func(r *Reservation) {
			r.PrimaryGuest.Surname = "Silva\u202Egnp.exe"
		}, []string{"primary_guest.surname"}},
		{"zero-width space in a given name", func(r *Reservation) {
			r.PrimaryGuest.GivenName = "Mar\u200Bta"
		}, []string{"primary_guest.given_name"}},
		{"bidi isolate in a comment", func(r *Reservation) {
			r.Comments[0] = "late \u2067arrival"
		}, []string{"comments[0]"}},

		// Occupancy.
		{"zero adults", func(r *Reservation) {
			r.RoomStays[1].Adults = 0
		}, []string{"room_stays[1].adults"}},
		{"negative adults", func(r *Reservation) {
			r.RoomStays[0].Adults = -1
		}, []string{"room_stays[0].adults"}},
		{"child aged 18", func(r *Reservation) {
			r.RoomStays[0].ChildrenAges = []int{4, 18}
		}, []string{"room_stays[0].children_ages[1]"}},
		{"negative child age", func(r *Reservation) {
			r.RoomStays[1].ChildrenAges = []int{-1}
		}, []string{"room_stays[1].children_ages[0]"}},
		{"20 guests in a room", func(r *Reservation) {
			r.RoomStays[1].Adults, r.RoomStays[1].ChildrenAges = 10, make([]int, 10)
		}, nil},
		{"21 guests in a room", func(r *Reservation) {
			r.RoomStays[1].Adults, r.RoomStays[1].ChildrenAges = 11, make([]int, 10)
		}, []string{"room_stays[1].adults"}},

		// Money.
		{"unknown total currency", func(r *Reservation) {
			r.Total.Currency = "EURO"
		}, []string{
			"room_stays[0].nightly_prices[0].price.currency",
			"room_stays[0].nightly_prices[1].price.currency",
			"total.currency",
		}},
		{"missing total", func(r *Reservation) {
			r.Total = Money{}
		}, []string{"total.currency"}},
		{"negative total", func(r *Reservation) {
			r.Total.Minor = -1
		}, []string{"total.amount"}},
		{"zero total", func(r *Reservation) {
			r.Total.Minor = 0
		}, nil},
		{"negative nightly price", func(r *Reservation) {
			r.RoomStays[0].NightlyPrices[1].Price.Minor = -100
		}, []string{"room_stays[0].nightly_prices[1].price.amount"}},
		{"too few nightly prices", func(r *Reservation) {
			r.RoomStays[0].NightlyPrices = r.RoomStays[0].NightlyPrices[:1]
		}, []string{"room_stays[0].nightly_prices"}},
		{"too many nightly prices", func(r *Reservation) {
			r.RoomStays[1].NightlyPrices = []NightlyPrice{
				{Date: date("2027-04-11"), Price: NewMoney(1, "EUR")},
				{Date: date("2027-04-12"), Price: NewMoney(1, "EUR")},
			}
		}, []string{"room_stays[1].nightly_prices"}},
		{"nightly price for the wrong date", func(r *Reservation) {
			r.RoomStays[0].NightlyPrices[1].Date = date("2027-04-12")
		}, []string{"room_stays[0].nightly_prices[1].date"}},
		{"nightly prices out of order", func(r *Reservation) {
			p := r.RoomStays[0].NightlyPrices
			p[0], p[1] = p[1], p[0]
		}, []string{"room_stays[0].nightly_prices[0].date", "room_stays[0].nightly_prices[1].date"}},
		{"nightly price in another currency", func(r *Reservation) {
			r.RoomStays[0].NightlyPrices[0].Price = NewMoney(12000, "USD")
		}, []string{"room_stays[0].nightly_prices[0].price.currency"}},
		{"nightly price in an unknown currency", func(r *Reservation) {
			r.RoomStays[0].NightlyPrices[0].Price = NewMoney(12000, "ZZZ")
		}, []string{"room_stays[0].nightly_prices[0].price.currency", "room_stays[0].nightly_prices[0].price.currency"}},

		// Codes and ids.
		{"missing property", func(r *Reservation) {
			r.PropertyID = ""
		}, []string{"property_id"}},
		{"property with a space", func(r *Reservation) {
			r.PropertyID = "lisbon 1"
		}, []string{"property_id"}},
		{"missing channel", func(r *Reservation) {
			r.Channel = ""
		}, []string{"channel"}},
		{"room type of 65 characters", func(r *Reservation) {
			r.RoomStays[1].RoomType = strings.Repeat("A", 65)
		}, []string{"room_stays[1].room_type"}},
		{"room type of 64 characters", func(r *Reservation) {
			r.RoomStays[1].RoomType = strings.Repeat("A", 64)
		}, nil},
		{"missing rate plan", func(r *Reservation) {
			r.RoomStays[0].RatePlan = ""
		}, []string{"room_stays[0].rate_plan"}},
		{"external id too long", func(r *Reservation) {
			r.ExternalID = strings.Repeat("1", MaxIDLen+1)
		}, []string{"external_id"}},
		{"external id with a control character", func(r *Reservation) {
			r.ExternalID = "47\x0011"
		}, []string{"external_id"}},
		{"negative version", func(r *Reservation) {
			r.Version = -1
		}, []string{"version"}},

		// Status.
		{"invalid status", func(r *Reservation) {
			r.Status = "pending"
		}, []string{"status"}},
		{"missing status", func(r *Reservation) {
			r.Status = ""
		}, []string{"status"}},
		{"status in upper case", func(r *Reservation) {
			r.Status = "CONFIRMED"
		}, []string{"status"}},
		{"cancelled", func(r *Reservation) {
			r.Status = StatusCancelled
		}, nil},

		// Guests.
		{"missing surname", func(r *Reservation) {
			r.PrimaryGuest.Surname = " "
		}, []string{"primary_guest.surname"}},
		{"surname of 100 characters", func(r *Reservation) {
			r.PrimaryGuest.Surname = long(MaxNameLen)
		}, nil},
		{"surname of 101 characters", func(r *Reservation) {
			r.PrimaryGuest.Surname = long(MaxNameLen + 1)
		}, []string{"primary_guest.surname"}},
		{"given name of 101 characters", func(r *Reservation) {
			r.AdditionalGuests[0].GivenName = long(MaxNameLen + 1)
		}, []string{"additional_guests[0].given_name"}},
		{"title of 101 characters", func(r *Reservation) {
			r.PrimaryGuest.Title = long(MaxNameLen + 1)
		}, []string{"primary_guest.title"}},
		{"NUL in a name", func(r *Reservation) {
			r.PrimaryGuest.GivenName = "An\x00a"
		}, []string{"primary_guest.given_name"}},
		{"escape in a surname", func(r *Reservation) {
			r.PrimaryGuest.Surname = "Silva\x1b[31m"
		}, []string{"primary_guest.surname"}},
		{"C1 control in a city", func(r *Reservation) {
			r.PrimaryGuest.Address.City = "Lis\u0085boa"
		}, []string{"primary_guest.address.city"}},
		{"invalid UTF-8", func(r *Reservation) {
			r.PrimaryGuest.Surname = "Silva\xff"
		}, []string{"primary_guest.surname"}},
		{"email without @", func(r *Reservation) {
			r.PrimaryGuest.Email = "ana.example.com"
		}, []string{"primary_guest.email"}},
		{"email too long", func(r *Reservation) {
			r.PrimaryGuest.Email = strings.Repeat("a", MaxEmailLen) + "@x"
		}, []string{"primary_guest.email"}},
		{"phone too long", func(r *Reservation) {
			r.AdditionalGuests[0].Phone = strings.Repeat("1", MaxPhoneLen+1)
		}, []string{"additional_guests[0].phone"}},
		{"six address lines", func(r *Reservation) {
			r.PrimaryGuest.Address.Lines = make([]string, 6)
		}, []string{"primary_guest.address.lines"}},
		{"address line too long", func(r *Reservation) {
			r.PrimaryGuest.Address.Lines = []string{"ok", long(MaxNameLen + 1)}
		}, []string{"primary_guest.address.lines[1]"}},
		{"postal code too long", func(r *Reservation) {
			r.PrimaryGuest.Address.PostalCode = strings.Repeat("1", 21)
		}, []string{"primary_guest.address.postal_code"}},
		{"lower-case country", func(r *Reservation) {
			r.PrimaryGuest.Address.CountryCode = "pt"
		}, []string{"primary_guest.address.country_code"}},
		{"three-letter country", func(r *Reservation) {
			r.AdditionalGuests[0].Address.CountryCode = "PRT"
		}, []string{"additional_guests[0].address.country_code"}},
		{"country with a digit", func(r *Reservation) {
			r.PrimaryGuest.Address.CountryCode = "P1"
		}, []string{"primary_guest.address.country_code"}},
		{"100 additional guests", func(r *Reservation) {
			r.AdditionalGuests = make([]Guest, MaxGuests)
		}, nil},
		{"101 additional guests", func(r *Reservation) {
			r.AdditionalGuests = make([]Guest, MaxGuests+1)
			r.AdditionalGuests[0].GivenName = "\x00" // not checked once the list is too long
		}, []string{"additional_guests"}},

		// Room stays.
		{"no room stays", func(r *Reservation) {
			r.RoomStays = nil
		}, []string{"room_stays"}},
		{"50 room stays", func(r *Reservation) {
			r.RoomStays = repeatStay(r.RoomStays[1], MaxRoomStays)
		}, nil},
		{"51 room stays", func(r *Reservation) {
			r.RoomStays = repeatStay(r.RoomStays[1], MaxRoomStays+1)
		}, []string{"room_stays"}},

		// Guarantee.
		{"card number as token", func(r *Reservation) {
			r.Guarantee.CardToken = "4111111111111111"
		}, []string{"guarantee.card_token"}},
		{"card number with spaces as token", func(r *Reservation) {
			r.Guarantee.CardToken = "tok 5555 5555 5555 4444"
		}, []string{"guarantee.card_token"}},
		{"full card number as mask", func(r *Reservation) {
			r.Guarantee.CardMask = "4111-1111-1111-1111"
		}, []string{"guarantee.card_mask"}},
		{"card number in the holder name", func(r *Reservation) {
			r.Guarantee.HolderName = "Ana 4111111111111111"
		}, []string{"guarantee.holder_name"}},
		{"token that is a Luhn-invalid number", func(r *Reservation) {
			r.Guarantee.CardToken = "4111111111111112"
		}, nil},
		{"unknown guarantee type", func(r *Reservation) {
			r.Guarantee.Type = "cash"
		}, []string{"guarantee.type"}},
		{"missing guarantee type", func(r *Reservation) {
			r.Guarantee.Type = ""
		}, []string{"guarantee.type"}},
		{"mask too long", func(r *Reservation) {
			r.Guarantee.CardMask = strings.Repeat("X", 33)
		}, []string{"guarantee.card_mask"}},
		{"expiry too long", func(r *Reservation) {
			r.Guarantee.CardExpiry = "12/2029x"
		}, []string{"guarantee.card_expiry"}},
		{"no guarantee", func(r *Reservation) {
			r.Guarantee = nil
		}, nil},

		// Comments.
		{"21 comments", func(r *Reservation) {
			r.Comments = make([]string, MaxComments+1)
		}, []string{"comments"}},
		{"comment too long", func(r *Reservation) {
			r.Comments = []string{"ok", strings.Repeat("x", MaxCommentLen+1)}
		}, []string{"comments[1]"}},
		{"control character in a comment", func(r *Reservation) {
			r.Comments = []string{"bell\a"}
		}, []string{"comments[0]"}},

		// Many problems at once: every one is named.
		{"every problem at once", func(r *Reservation) {
			r.PropertyID = ""
			r.Status = "pending"
			r.PrimaryGuest.Surname = ""
			r.PrimaryGuest.Address.CountryCode = "Portugal"
			r.RoomStays[0].Adults = 0
			r.RoomStays[0].ChildrenAges = []int{18}
			r.RoomStays[0].NightlyPrices[1].Date = date("2027-04-12")
			r.RoomStays[1].Departure = date("2027-04-11")
			r.Total.Minor = -5
			r.Guarantee.CardToken = "4111111111111111"
			r.Comments = []string{"\x00"}
		}, []string{
			"property_id",
			"status",
			"primary_guest.surname",
			"primary_guest.address.country_code",
			"room_stays[0].adults",
			"room_stays[0].children_ages[0]",
			"room_stays[0].nightly_prices[1].date",
			"room_stays[1].departure",
			"total.amount",
			"guarantee.card_token",
			"comments[0]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validReservation()
			tt.change(r)
			got := fieldsOf(t, r.Validate())
			if !reflect.DeepEqual(got, tt.fields) {
				t.Fatalf("Validate fields = %q\nwant %q\nerror: %v", got, tt.fields, r.Validate())
			}
		})
	}
}

func repeatStay(s RoomStay, n int) []RoomStay {
	out := make([]RoomStay, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// fieldsOf returns the field paths of a ValidationError, or nil for no error.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var v ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("Validate returned %T (%v), want a ValidationError", err, err)
	}
	if len(v) == 0 {
		t.Fatal("Validate returned an empty ValidationError instead of nil")
	}
	var fields []string
	for _, fe := range v {
		if fe.Message == "" {
			t.Errorf("field %s has no message", fe.Field)
		}
		fields = append(fields, fe.Field)
	}
	return fields
}

func TestValidateMessages(t *testing.T) {
	tests := []struct {
		name    string
		change  func(r *Reservation)
		message string
	}{
		{"departure", func(r *Reservation) { r.RoomStays[1].Departure = date("2027-04-11") },
			"room_stays[1].departure: must be after arrival (2027-04-11), got 2027-04-11"},
		{"long stay", func(r *Reservation) { r.RoomStays[1].Departure = r.RoomStays[1].Arrival.AddDays(400) },
			"room_stays[1].departure: stay of 400 nights is longer than the 365 allowed"},
		{"child age", func(r *Reservation) { r.RoomStays[0].ChildrenAges = []int{18} },
			"room_stays[0].children_ages[0]: age 18 is not a child's age (0 to 17)"},
		{"nightly count", func(r *Reservation) { r.RoomStays[0].NightlyPrices = r.RoomStays[0].NightlyPrices[:1] },
			"room_stays[0].nightly_prices: has 1 prices for 2 nights"},
		{"nightly date", func(r *Reservation) { r.RoomStays[0].NightlyPrices[1].Date = date("2027-04-12") },
			"room_stays[0].nightly_prices[1].date: expected 2027-04-11, the stay's night number 2"},
		{"nightly currency", func(r *Reservation) { r.RoomStays[0].NightlyPrices[0].Price.Currency = "USD" },
			"room_stays[0].nightly_prices[0].price.currency: is USD but the reservation total is in EUR"},
		{"negative total", func(r *Reservation) { r.Total.Minor = -1250 },
			"total.amount: must not be negative (got -12.50)"},
		{"status", func(r *Reservation) { r.Status = "pending" },
			`status: "pending" is not one of confirmed, cancelled, no_show, checked_in, checked_out`},
		{"name length counts characters", func(r *Reservation) { r.PrimaryGuest.Surname = strings.Repeat("é", 101) },
			"primary_guest.surname: is 101 characters long; at most 100 are allowed"},
		{"card token", func(r *Reservation) { r.Guarantee.CardToken = "4111111111111111" },
			"guarantee.card_token: looks like a card number; send the gateway's token instead"},
	}
	for _, tt := range tests {
		r := validReservation()
		tt.change(r)
		err := r.Validate()
		if err == nil {
			t.Errorf("%s: Validate = nil, want %q", tt.name, tt.message)
			continue
		}
		if want := "invalid: " + tt.message; err.Error() != want {
			t.Errorf("%s: Validate = %q\nwant %q", tt.name, err, want)
		}
	}
}

// The error must never echo a card number back: it ends up in logs and
// dead-letter reasons.
func TestValidateDoesNotEchoCardNumbers(t *testing.T) {
	r := validReservation()
	r.Guarantee.CardToken = "4111111111111111"
	r.Guarantee.CardMask = "5555 5555 5555 4444"
	r.Guarantee.HolderName = "378282246310005"
	err := r.Validate()
	if err == nil {
		t.Fatal("Validate = nil")
	}
	if ContainsCardNumber(err.Error()) {
		t.Fatalf("error echoes a card number: %v", err)
	}
}

// Values are echoed in error messages, shortened; one that holds a card
// number is not echoed at all, wherever it was sent.
func TestErrorsHideCardNumbers(t *testing.T) {
	const card = "4111 1111 1111 1111"
	validate := func(change func(r *Reservation)) error {
		r := validReservation()
		change(r)
		return r.Validate()
	}
	tests := []struct {
		name string
		err  error
	}{
		{"amount", func() error { _, err := ParseMoney("4111111111111111", "EUR"); return err }()},
		{"currency", func() error { _, err := ParseMoney("1", card); return err }()},
		{"number amount", json.Unmarshal([]byte(`{"amount":4111111111111111,"currency":"EUR"}`), new(Money))},
		{"date", func() error { _, err := ParseDate(card); return err }()},
		{"status", validate(func(r *Reservation) { r.Status = card })},
		{"guarantee type", validate(func(r *Reservation) { r.Guarantee.Type = card })},
		{"property id", validate(func(r *Reservation) { r.PropertyID = "p " + card })},
		{"room type", validate(func(r *Reservation) { r.RoomStays[0].RoomType = card + " DBL" })},
		// The first 40 bytes would show a Luhn-valid run the whole value does not have.
		{"shortened run", func() error { _, err := ParseDate(strings.Repeat(" ", 24) + "4111111111111111" + "0"); return err }()},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if msg := tt.err.Error(); ContainsCardNumber(msg) || !strings.Contains(msg, "(not shown: holds a card number)") {
			t.Errorf("%s: error %q, want the value hidden", tt.name, msg)
		}
	}
}

func TestProblems(t *testing.T) {
	var p Problems
	if err := p.Err(); err != nil {
		t.Fatalf("empty Problems.Err() = %v, want nil", err)
	}
	p.Add("a", "is %s", "bad")
	p.Merge("b", nil)
	p.Merge("c", ValidationError{{Field: "x", Message: "m1"}, {Field: "y[0]", Message: "m2"}})
	p.Merge("", ValidationError{{Field: "z", Message: "m3"}})
	p.Merge("d", fmt.Errorf("plain"))
	p.CheckCode("e", "")
	p.CheckCode("f", "ok:code-1.2_3")
	p.CheckCode("g", "-leading-dash")
	got := p.Err()
	want := ValidationError{
		{Field: "a", Message: "is bad"},
		{Field: "c.x", Message: "m1"},
		{Field: "c.y[0]", Message: "m2"},
		{Field: "z", Message: "m3"},
		{Field: "d", Message: "plain"},
		{Field: "e", Message: "is required"},
		{Field: "g", Message: `must be 1 to 64 letters, digits and . _ : - (got "-leading-dash")`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Problems = %#v\nwant %#v", got, want)
	}
	if s, want := got.Error(), "invalid: a: is bad; c.x: m1; c.y[0]: m2; z: m3; d: plain; e: is required; g: "; !strings.HasPrefix(s, want) {
		t.Fatalf("Error() = %q, want prefix %q", s, want)
	}
}

func TestValidCode(t *testing.T) {
	tests := []struct {
		s  string
		ok bool
	}{
		{"BAR", true}, {"lisbon-1", true}, {"ota:123", true}, {"a.b_c", true}, {"9", true},
		{strings.Repeat("a", 64), true}, {strings.Repeat("a", 65), false},
		{"", false}, {"-a", false}, {".a", false}, {"a b", false}, {"a/b", false}, {"é", false}, {"a\n", false},
	}
	for _, tt := range tests {
		if got := ValidCode(tt.s); got != tt.ok {
			t.Errorf("ValidCode(%q) = %v, want %v", tt.s, got, tt.ok)
		}
	}
}

func TestRoomGuests(t *testing.T) {
	r := validReservation()
	r.RoomStays[1].Guests = []int{1, 0}
	if g := r.RoomGuest(1); g.GivenName != "Rui" {
		t.Errorf("room 2's guest is %q, want Rui", g.GivenName)
	}
	if g := r.RoomGuest(0); g.Surname != "Silva" {
		t.Errorf("a room naming no guest has %q, want the primary guest", g.Surname)
	}
	c := r.Clone()
	c.RoomStays[1].Guests[0] = 0
	if r.RoomStays[1].Guests[0] != 1 {
		t.Error("a clone shares its room guests")
	}
	r.AdditionalGuests = nil
	r.DropStaleRoomGuests()
	if fmt.Sprint(r.RoomStays[1].Guests) != "[0]" || r.Validate() != nil {
		t.Errorf("after the additional guests went: %v %v", r.RoomStays[1].Guests, r.Validate())
	}
}
