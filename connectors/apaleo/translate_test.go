package apaleo_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares the translation of a fixture with its golden file.
func golden(t *testing.T, fixtureName string) []byte {
	t.Helper()
	msg, err := apaleo.Translator{}.ToCanonical(fixture(t, fixtureName))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(msg, "", "  ")
	path := filepath.Join("..", "..", "testdata", "apaleo", strings.TrimSuffix(fixtureName, ".json")+".canonical.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("%s: translation differs from %s (run with -update after checking):\n%s", fixtureName, path, got)
	}
	return want
}

func TestTranslateReferenceReservation(t *testing.T) {
	golden(t, "reservation.json")
	msg, err := apaleo.Translator{}.ToCanonical(fixture(t, "reservation.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := msg.Booking
	r := b.Reservation
	s := r.RoomStays[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"connector", b.Connector, "apaleo"},
		{"action", b.Action, canonical.ChannelNew},
		{"revision", b.Revision, "2027-03-02T09:14:11+00:00"},
		{"property", r.PropertyID, "LIS"},
		{"status", r.Status, canonical.Status("Confirmed")},
		{"channel", r.Channel, "apaleo"},
		{"external id", r.ExternalID, "KQWTRZXM-1"},
		{"arrival", s.Arrival, date("2027-04-10")},
		{"departure", s.Departure, date("2027-04-12")},
		{"room type", s.RoomType, "LIS-DBL"},
		{"rate plan", s.RatePlan, "LIS-FLEX-DBL"},
		{"adults", s.Adults, 2},
		{"children", len(s.ChildrenAges), 0},
		{"nights priced", len(s.NightlyPrices), 2},
		{"first night", s.NightlyPrices[0].Price, canonical.NewMoney(13200, "EUR")},
		{"second night", s.NightlyPrices[1].Price, canonical.NewMoney(15400, "EUR")},
		{"total", r.Total, canonical.NewMoney(28600, "EUR")},
		{"guest", r.PrimaryGuest.GivenName + " " + r.PrimaryGuest.Surname, "Marta Silva"},
		{"email", r.PrimaryGuest.Email, "marta.silva@example.com"},
		{"city", r.PrimaryGuest.Address.City, "Porto"},
		{"guarantee", r.Guarantee.Type, "card"},
		{"comment", r.Comments[0], "Late arrival, around 23:00."},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	// Mapped with Apaleo's default statuses, the booking is valid canonical data.
	set := connectors.NewMappingSet(apaleo.Name, mustSpec(t).DefaultMappings, testMappings)
	if err := set.MapBooking(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if b.Reservation.Status != canonical.StatusConfirmed || b.Reservation.RoomStays[0].RoomType != "DBL" {
		t.Errorf("mapped: status %s room type %s", b.Reservation.Status, b.Reservation.RoomStays[0].RoomType)
	}
}

func TestTranslateCanceledWithChildren(t *testing.T) {
	golden(t, "reservation-canceled-children.json")
	msg, err := apaleo.Translator{}.ToCanonical(fixture(t, "reservation-canceled-children.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := msg.Booking
	s := b.Reservation.RoomStays[0]
	if b.Action != canonical.ChannelCancel || len(s.ChildrenAges) != 2 || s.ChildrenAges[1] != 11 {
		t.Errorf("action %s children %v", b.Action, s.ChildrenAges)
	}
	if p := s.NightlyPrices[1].Price; p != canonical.NewMoney(9825, "EUR") {
		t.Errorf("price written 9.825e1 read as %v", p)
	}
	g := b.Reservation.Guarantee
	if g.CardMask != "XXXXXXXXXXXX1111" || g.CardBrand != "VI" || g.CardExpiry != "0729" {
		t.Errorf("guarantee %+v", g)
	}
	if len(b.Reservation.PrimaryGuest.Address.Lines) != 1 || b.Reservation.Comments[0] != "Cot for the little one, please." {
		t.Errorf("guest %+v comments %v", b.Reservation.PrimaryGuest, b.Reservation.Comments)
	}
}

func TestFullCardNumberNeverEntersTheModel(t *testing.T) {
	data := strings.Replace(string(fixture(t, "reservation-canceled-children.json")), "xxxxxxxxxxxx1111", "4111111111111111", 1)
	msg, err := apaleo.Translator{}.ToCanonical([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(msg)
	if canonical.ContainsCardNumber(string(out)) {
		t.Fatalf("card number in the canonical form: %s", out)
	}
}

func TestTranslateRefusesBadInputClearly(t *testing.T) {
	ref := string(fixture(t, "reservation.json"))
	tests := []struct{ name, in, want string }{
		{"truncated", ref[:200], "truncated"},
		{"mistyped", strings.Replace(ref, `"adults": 2`, `"adults": "two"`, 1), "field adults must be a whole number, not a string"},
		{"bad date", strings.Replace(ref, `"arrival": "2027-04-10T15:00:00+01:00"`, `"arrival": "10/04/2027"`, 1), "arrival"},
		{"no guest", strings.Replace(ref, `"primaryGuest"`, `"someoneElse"`, 1), "primaryGuest: is required"},
		{"bad amount", strings.Replace(ref, `"amount": 132.0`, `"amount": 132.001`, 1), "timeSlices[0].totalGrossAmount"},
		{"webhook", string(fixture(t, "webhook.reservation-created.json")), "webhook"},
		{"a list", `[{"id": "X"}]`, "the document must be an object, not a list"},
		{"a string for the guest", strings.Replace(ref, `"primaryGuest": {`, `"primaryGuest": "Silva", "x": {`, 1), "field primaryGuest must be an object, not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apaleo.Translator{}.ToCanonical([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tt.want)
			}
			for _, goText := range []string{"json", "map[", "Go ", "apaleo.Guest", "RawMessage"} {
				if strings.Contains(err.Error(), goText) {
					t.Errorf("the error speaks Go (%q): %v", goText, err)
				}
			}
			if connectors.ClassOf(err) != connectors.ClassPermanent {
				t.Errorf("class %s, want permanent", connectors.ClassOf(err))
			}
		})
	}
}

func TestReverseIsTheBookingRequest(t *testing.T) {
	msg, err := apaleo.Translator{}.ToCanonical(fixture(t, "reservation.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := msg.Booking.Reservation
	r.ExternalID = "4105882311"
	r.Channel = "Booking.com"
	out, err := apaleo.Translator{}.FromCanonical(&r)
	if err != nil {
		t.Fatal(err)
	}
	var got, want apaleo.CreateBooking
	json.Unmarshal(out, &got)
	json.Unmarshal(fixture(t, "create-booking.request.json"), &want)
	g, w := got.Reservations[0], want.Reservations[0]
	if g.Arrival != w.Arrival || g.Departure != w.Departure || g.Adults != w.Adults || g.ExternalCode != w.ExternalCode ||
		g.ChannelCode != w.ChannelCode || g.Source != w.Source || g.GuaranteeType != w.GuaranteeType || len(g.TimeSlices) != 2 ||
		g.TimeSlices[0].RatePlanID != w.TimeSlices[0].RatePlanID || g.TimeSlices[1].TotalAmount.Amount != "154.00" {
		t.Errorf("got %s", out)
	}
}

func mustSpec(t *testing.T) connectors.Spec {
	s, ok := connectors.Lookup(apaleo.Name)
	if !ok {
		t.Fatal("apaleo is not registered")
	}
	return s
}

// Apaleo's prices by adults and restrictions become Roomwire's, as runs.
func TestRatesToARIWithOccupancyAndRestrictions(t *testing.T) {
	var list apaleo.RateList
	if err := json.Unmarshal([]byte(`{"rates": [
		{"from": "2027-04-10T15:00:00+01:00", "to": "2027-04-11T11:00:00+01:00", "price": {"amount": 130, "currency": "EUR"},
		 "calculatedPrices": [{"adults": 2, "price": {"amount": 130, "currency": "EUR"}}, {"adults": 1, "price": {"amount": 100, "currency": "EUR"}}],
		 "restrictions": {"minLengthOfStay": 3, "closed": false, "closedOnArrival": true, "closedOnDeparture": false}},
		{"from": "2027-04-11T15:00:00+01:00", "to": "2027-04-12T11:00:00+01:00", "price": {"amount": 130, "currency": "EUR"},
		 "calculatedPrices": [{"adults": 1, "price": {"amount": 100, "currency": "EUR"}}, {"adults": 2, "price": {"amount": 130, "currency": "EUR"}}],
		 "restrictions": {"minLengthOfStay": 3, "closed": false, "closedOnArrival": true, "closedOnDeparture": false}},
		{"from": "2027-04-12T15:00:00+01:00", "to": "2027-04-13T11:00:00+01:00", "price": {"amount": 120, "currency": "EUR"},
		 "restrictions": {"closed": true, "closedOnArrival": false, "closedOnDeparture": false}}
	]}`), &list); err != nil {
		t.Fatal(err)
	}
	rates, restr, err := apaleo.RatesToARI(apaleo.RatePlan{ID: "LIS-FLEX-DBL", UnitGroup: apaleo.Embedded{ID: "LIS-DBL"}}, &list)
	if err != nil {
		t.Fatal(err)
	}
	eur := func(m int64) canonical.Money { return canonical.NewMoney(m, "EUR") }
	d := func(s string) canonical.Date { x, _ := canonical.ParseDate(s); return x }
	wantRates := []canonical.RateUpdate{
		{RatePlan: "LIS-FLEX-DBL", RoomType: "LIS-DBL", From: d("2027-04-10"), To: d("2027-04-11"), Rate: canonical.Rate{Price: eur(13000),
			Occupancy: []canonical.OccupancyPrice{{Adults: 1, Price: eur(10000)}, {Adults: 2, Price: eur(13000)}}}},
		{RatePlan: "LIS-FLEX-DBL", RoomType: "LIS-DBL", From: d("2027-04-12"), To: d("2027-04-12"), Rate: canonical.Rate{Price: eur(12000)}},
	}
	wantRestr := []canonical.RestrictionsUpdate{
		canonical.Restrictions{ClosedToArrival: true, MinStay: 3}.Update("LIS-DBL", "LIS-FLEX-DBL", d("2027-04-10"), d("2027-04-11")),
		canonical.Restrictions{StopSell: true}.Update("LIS-DBL", "LIS-FLEX-DBL", d("2027-04-12"), d("2027-04-12")),
	}
	for _, c := range []struct{ got, want any }{{rates, wantRates}, {restr, wantRestr}} {
		g, _ := json.Marshal(c.got)
		w, _ := json.Marshal(c.want)
		if string(g) != string(w) {
			t.Errorf("got  %s\nwant %s", g, w)
		}
	}
}

// The booking request gives each room its own primary guest (and the other
// guests staying in it) and time slices adding up to the room's own total,
// and reads back into the same rooms and guests.
func TestBookingRequestBooksEachRoomWithItsOwnGuestAndTotal(t *testing.T) {
	roomTotal := canonical.NewMoney(30001, "EUR")
	r := &canonical.Reservation{
		PropertyID: "LIS", Channel: "hrs", ExternalID: "HRS-88213", Status: canonical.StatusConfirmed,
		PrimaryGuest:     canonical.Guest{GivenName: "Zoë", Surname: "Núñez"},
		AdditionalGuests: []canonical.Guest{{GivenName: "Søren", Surname: "Kierkegård"}, {GivenName: "Ana", Surname: "Lind"}},
		RoomStays: []canonical.RoomStay{
			{RoomType: "LIS-DBL", RatePlan: "LIS-FLEX-DBL", Arrival: date("2027-04-10"), Departure: date("2027-04-12"), Adults: 2, Total: &roomTotal, Guests: []int{1, 2},
				NightlyPrices: []canonical.NightlyPrice{{Date: date("2027-04-10"), Price: canonical.NewMoney(13200, "EUR")}, {Date: date("2027-04-11"), Price: canonical.NewMoney(15400, "EUR")}}},
			{RoomType: "LIS-SGL", RatePlan: "LIS-FLEX-SGL", Arrival: date("2027-04-11"), Departure: date("2027-04-14"), Adults: 1, Total: &roomTotal},
		},
	}
	req, err := apaleo.BookingRequest(r, "")
	if err != nil {
		t.Fatal(err)
	}
	first, second := req.Reservations[0], req.Reservations[1]
	if req.Booker.LastName != "Núñez" || first.PrimaryGuest.LastName != "Kierkegård" || len(first.AdditionalGuests) != 1 ||
		first.AdditionalGuests[0].LastName != "Lind" || second.PrimaryGuest.LastName != "Núñez" {
		t.Errorf("booker %s, room 1 %s + %v, room 2 %s", req.Booker.LastName, first.PrimaryGuest.LastName, first.AdditionalGuests, second.PrimaryGuest.LastName)
	}
	sum := func(cr apaleo.CreateReservation) (out []string, total canonical.Money) {
		for _, ts := range cr.TimeSlices {
			m, err := connectors.ParseAmount(string(ts.TotalAmount.Amount), ts.TotalAmount.Currency)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m.Decimal())
			total, _ = total.Add(m)
		}
		return out, total
	}
	// 286.00 of nights and a total of 300.01: the difference is spread over the nights.
	if nights, total := sum(first); total != roomTotal || fmt.Sprint(nights) != "[139.01 161.00]" {
		t.Errorf("room 1's nights %v (total %s), want [139.01 161.00] adding up to %s", nights, total, roomTotal)
	}
	// A total with no nightly prices is shared out among the nights.
	if nights, total := sum(second); total != roomTotal || fmt.Sprint(nights) != "[100.01 100.00 100.00]" {
		t.Errorf("room 2's nights %v (total %s), want [100.01 100.00 100.00]", nights, total)
	}
	b, err := apaleo.BookingRequestToBooking(req)
	if err != nil {
		t.Fatal(err)
	}
	back := b.Reservation
	for i := range r.RoomStays {
		want, got := r.RoomGuests(i), back.RoomGuests(i)
		if i == 1 {
			want = []canonical.Guest{r.PrimaryGuest} // a room naming no guest is the booker's
		}
		if len(got) != len(want) || got[0].Surname != want[0].Surname {
			t.Errorf("room %d's guests read back %v, want %v", i+1, got, want)
		}
	}
}
