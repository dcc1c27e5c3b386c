package ota_test

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
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/ota"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func fixture(t testing.TB, name string) []byte { return conformance.ReadFixture(t, "ota", name) }

// golden compares the translation of a fixture with its golden file.
func golden(t *testing.T, name string) connectors.Message {
	t.Helper()
	msg, err := ota.Translator{}.ToCanonical(fixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got, _ := json.MarshalIndent(msg, "", "  ")
	path := filepath.Join("..", "..", "testdata", "ota", strings.TrimSuffix(name, ".xml")+".canonical.json")
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
		t.Errorf("%s: translation differs from %s (run with -update after checking):\n%s", name, path, got)
	}
	return msg
}

var goldenFixtures = []string{
	"resnotif-new.xml", "resnotif-modify.xml", "resnotif-cancel.xml", "resnotif-multiroom-children.xml",
	"availnotif.xml", "rateamountnotif.xml", "invcountnotif.xml",
}

func TestGolden(t *testing.T) {
	for _, name := range goldenFixtures {
		t.Run(name, func(t *testing.T) { golden(t, name) })
	}
}

func date(s string) canonical.Date {
	d, err := canonical.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func eur(minor int64) canonical.Money { return canonical.NewMoney(minor, "EUR") }

// The facts of each fixture, checked field by field besides the golden files.
func TestTranslateFacts(t *testing.T) {
	newB := golden(t, "resnotif-new.xml").Booking
	r := newB.Reservation
	checks := []struct {
		what      string
		got, want any
	}{
		{"action", newB.Action, canonical.ChannelNew},
		{"revision", newB.Revision, "Commit@2027-03-02T09:13:58+00:00"},
		{"hotel", r.PropertyID, "HTL-LIS-01"},
		{"channel", r.Channel, "ota"},
		{"external id", r.ExternalID, "4105882311"},
		{"room type", r.RoomStays[0].RoomType, "DBL-SEA"},
		{"rate plan", r.RoomStays[0].RatePlan, "FLEX"},
		{"arrival", r.RoomStays[0].Arrival, date("2027-04-10")},
		{"departure", r.RoomStays[0].Departure, date("2027-04-12")},
		{"adults", r.RoomStays[0].Adults, 2},
		{"night 1 after tax", r.RoomStays[0].NightlyPrices[0].Price, eur(13200)},
		{"night 2 after tax", r.RoomStays[0].NightlyPrices[1].Price, eur(15400)},
		{"total", r.Total, eur(28600)},
		{"room total", r.RoomStays[0].Total, eur(28600)},
		{"guest", r.PrimaryGuest.GivenName + " " + r.PrimaryGuest.Surname, "Marta Silva"},
		{"country", r.PrimaryGuest.Address.CountryCode, "PT"},
		{"comment", r.Comments, []string{"Late arrival, around 23:00."}},
		{"token", r.Guarantee.CardToken, "tok_8Kq2ZpW4vR"},
		{"mask", r.Guarantee.CardMask, "4111XXXXXXXX1111"},
	}
	mod := golden(t, "resnotif-modify.xml").Booking
	checks = append(checks, []struct {
		what      string
		got, want any
	}{
		{"modify action", mod.Action, canonical.ChannelModify},
		{"modify nights", len(mod.Reservation.RoomStays[0].NightlyPrices), 3},
		{"modify child", mod.Reservation.RoomStays[0].ChildrenAges, []int{4}},
		{"modify total", mod.Reservation.Total, eur(41800)},
	}...)
	cancel := golden(t, "resnotif-cancel.xml").Booking
	checks = append(checks, []struct {
		what      string
		got, want any
	}{
		{"cancel action (root ResStatus Cancelled)", cancel.Action, canonical.ChannelCancel},
		{"cancel id", cancel.Reservation.ExternalID, "4105882311"},
	}...)
	multi := golden(t, "resnotif-multiroom-children.xml").Booking
	m := multi.Reservation
	checks = append(checks, []struct {
		what      string
		got, want any
	}{
		{"multi action (Book)", multi.Action, canonical.ChannelNew},
		{"rooms", len(m.RoomStays), 2},
		{"room 1 children", m.RoomStays[0].ChildrenAges, []int{7, 7, 1}},
		{"room 1 nights", len(m.RoomStays[0].NightlyPrices), 3},
		{"room 2 arrival", m.RoomStays[1].Arrival, date("2027-07-02")},
		{"room 2 DecimalPlaces", m.RoomStays[1].NightlyPrices[0].Price, eur(15400)},
		{"room 2 before tax only", m.RoomStays[1].NightlyPrices[1].Price, eur(15000)},
		{"primary guest", m.PrimaryGuest.Title + " " + m.PrimaryGuest.GivenName + " " + m.PrimaryGuest.Surname, "Dr. Zoë Ana Núñez-Åström"},
		{"other guest", m.AdditionalGuests[0].GivenName + " " + m.AdditionalGuests[0].Surname, "Søren Kierkegård"},
		{"country upper-cased", m.PrimaryGuest.Address.CountryCode, "ES"},
		{"comments", m.Comments, []string{"Connecting rooms if possible. 東京からの到着は遅れます。", "Cot for the infant"}},
		{"full card number dropped, last four kept", m.Guarantee.CardMask, "XXXXXXXXXXXX4444"},
		{"total", m.Total, eur(89800)},
		{"room 1's own total, as stated", m.RoomStays[0].Total, eur(59400)},
		{"room 2 states no total", m.RoomStays[1].Total, (*canonical.Money)(nil)},
		{"room 1's guest (ResGuestRPH 1): the primary guest", m.RoomStays[0].Guests, []int{0}},
		{"room 2's guest (ResGuestRPH 2): the other guest", m.RoomStays[1].Guests, []int{1}},
		{"room 2's own guest", m.RoomGuest(1).Surname, "Kierkegård"},
	}...)
	for _, c := range checks {
		g, _ := json.Marshal(c.got)
		w, _ := json.Marshal(c.want)
		if string(g) != string(w) {
			t.Errorf("%s: got %s, want %s", c.what, g, w)
		}
	}
}

func TestTranslateARI(t *testing.T) {
	u := golden(t, "availnotif.xml").ARI
	if len(u.Availability) != 1 || u.Availability[0].Available != 4 || u.Availability[0].To != date("2027-04-11") {
		t.Errorf("availability: %+v", u.Availability)
	}
	if len(u.Restrictions) != 2 || u.Restrictions[0].StopSell == nil || !*u.Restrictions[0].StopSell || u.Restrictions[1].MinStay == nil || *u.Restrictions[1].MinStay != 2 {
		t.Errorf("restrictions: %+v", u.Restrictions)
	}
	rates := golden(t, "rateamountnotif.xml").ARI.Rates
	if len(rates) != 1 || rates[0].Price != eur(13200) || rates[0].RatePlan != "FLEX" {
		t.Errorf("rates: %+v", rates)
	}
}

func TestVocabularyPerChannel(t *testing.T) {
	vocab, err := ota.ParseVocabulary([]string{"Reserved=new", "Amended=modify", "Withdrawn=cancel"})
	if err != nil {
		t.Fatal(err)
	}
	tr := ota.Translator{Reader: ota.Reader{Connector: "ota", Channel: "hrs", Vocabulary: vocab}}
	data := strings.Replace(string(fixture(t, "resnotif-new.xml")), `ResStatus="Commit"`, `ResStatus="Withdrawn"`, 1)
	msg, err := tr.ToCanonical([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Booking.Action != canonical.ChannelCancel || msg.Booking.Reservation.Channel != "hrs" {
		t.Errorf("got %s on %s", msg.Booking.Action, msg.Booking.Reservation.Channel)
	}
	if _, err := tr.ToCanonical(fixture(t, "resnotif-new.xml")); err == nil || !strings.Contains(err.Error(), `"Commit" is not in this channel's vocabulary`) {
		t.Errorf("Commit outside the vocabulary: %v", err)
	}
	for _, bad := range [][]string{{"Commit"}, {"Commit=book"}, {"=new"}} {
		if _, err := ota.ParseVocabulary(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestCardPolicyRefuse(t *testing.T) {
	tr := ota.Translator{Reader: ota.Reader{Connector: "ota", Channel: "ota", Cards: connectors.CardRefuse}}
	_, err := tr.ToCanonical(fixture(t, "resnotif-multiroom-children.xml"))
	if err == nil || !strings.Contains(err.Error(), "card number") || canonical.ContainsCardNumber(err.Error()) {
		t.Fatalf("got %v", err)
	}
	if typ, code := ota.ErrorFor(err); typ != "3" || code == "" {
		t.Errorf("OTA error %s/%s", typ, code)
	}
	// A card number in a comment is dropped too, keeping the last four digits.
	data := strings.Replace(string(fixture(t, "resnotif-new.xml")), "Late arrival, around 23:00.", "Pay with 4111 1111 1111 1111 please", 1)
	msg, err := ota.Translator{}.ToCanonical([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Booking.Reservation.Comments[0]; got != "Pay with XXXXXXXXXXXX1111 please" {
		t.Errorf("comment: %q", got)
	}
}

// Bad messages are refused with one clear, permanent line and never a panic.
func TestBadMessages(t *testing.T) {
	ref := string(fixture(t, "resnotif-new.xml"))
	replace := func(old, new string) string {
		if !strings.Contains(ref, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(ref, old, new, 1)
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "empty input"},
		{"truncated", ref[:len(ref)/2], "truncated"},
		{"wrong root", strings.ReplaceAll(ref, "OTA_HotelResNotifRQ", "OTA_HotelResRQ"), "root element is <OTA_HotelResRQ>"},
		{"wrong namespace", replace(`xmlns="http://www.opentravel.org/OTA/2003/05"`, `xmlns="http://example.com/ota"`), "namespace http://example.com/ota"},
		{"doctype", replace(`<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE r [<!ENTITY x "boom">]>`), "DTDs"},
		{"entity reference", replace("Late arrival", "&x; arrival"), "malformed XML"},
		{"billion laughs", `<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05">&b;</OTA_HotelResNotifRQ>`, "DTDs"},
		{"external entity", `<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><OTA_HotelResNotifRQ/>`, "DTDs"},
		{"oversized", ref + "<!--" + strings.Repeat("x", connectors.MaxMessageBytes) + "-->", "bytes; at most"},
		{"deeply nested", `<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05">` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</OTA_HotelResNotifRQ>`, "nested deeper"},
		{"two roots", ref + "<x/>", "after the document's root"},
		{"latin-1", replace(`encoding="UTF-8"`, `encoding="ISO-8859-1"`), "ISO-8859-1"},
		{"departure before arrival", replace(`<TimeSpan Start="2027-04-10" End="2027-04-12"/>`, `<TimeSpan Start="2027-04-10" End="2027-04-09"/>`), "departure 2027-04-09 is not after arrival"},
		{"impossible date", replace(`<TimeSpan Start="2027-04-10"`, `<TimeSpan Start="2027-02-30"`), "not a date"},
		{"negative total", replace(`<Total AmountBeforeTax="260.00" AmountAfterTax="286.00" CurrencyCode="EUR"/>
        <HotelReservationIDs>`, `<Total AmountAfterTax="-286.00" CurrencyCode="EUR"/>
        <HotelReservationIDs>`), "negative amount"},
		{"unknown currency", replace(`AmountAfterTax="132.00" CurrencyCode="EUR"`, `AmountAfterTax="132.00" CurrencyCode="EUX"`), `"EUX" is not an ISO 4217`},
		{"night without rate", replace(`<TimeSpan Start="2027-04-10" End="2027-04-12"/>`, `<TimeSpan Start="2027-04-10" End="2027-04-13"/>`), "2027-04-12 of the stay"},
		{"unknown status", replace(`ResStatus="Commit"`, `ResStatus="Pending"`), "vocabulary"},
		{"no id", strings.NewReplacer(`<UniqueID Type="14" ID="4105882311"/>`, ``, `ResID_Type="14"`, `ResID_Type="16"`).Replace(ref), "reservation id is missing"},
		{"child without age", replace(`<GuestCount AgeQualifyingCode="10" Count="2"/>`, `<GuestCount AgeQualifyingCode="10" Count="2"/><GuestCount AgeQualifyingCode="8" Count="1"/>`), "without Age"},
		{"two hotels", replace(`<BasicPropertyInfo HotelCode="HTL-LIS-01"/>
          <ResGuestRPHs>`, `<BasicPropertyInfo HotelCode="HTL-OPO-01"/>
          <ResGuestRPHs>`), "two hotels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ota.Translator{}.ToCanonical([]byte(tc.data))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") || connectors.ClassOf(err) != connectors.ClassPermanent {
				t.Errorf("error %q: want one line, permanent (class %s)", err, connectors.ClassOf(err))
			}
		})
	}
}

func TestRoundTripARI(t *testing.T) {
	in := canonical.ARIUpdate{PropertyID: "HTL-LIS-01",
		Availability: []canonical.AvailabilityUpdate{{RoomType: "DBL-SEA", From: date("2027-04-10"), To: date("2027-04-12"), Available: 0}},
		Restrictions: []canonical.RestrictionsUpdate{canonical.Restrictions{ClosedToArrival: true, MinStay: 2, MaxStay: 14}.Update("DBL-SEA", "FLEX", date("2027-04-13"), date("2027-04-20"))},
		Rates:        []canonical.RateUpdate{{RoomType: "DBL-SEA", RatePlan: "FLEX", From: date("2027-04-10"), To: date("2027-04-30"), Rate: canonical.Rate{Price: eur(12100)}}},
	}
	for _, inv := range []bool{false, true} {
		msgs, err := ota.ARIMessages(in, inv, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got canonical.ARIUpdate
		for _, m := range msgs {
			a, err := ota.ParseARI(m)
			if err != nil {
				t.Fatalf("%s\n%s", err, m)
			}
			got.PropertyID = a.Update.PropertyID
			got.Availability = append(got.Availability, a.Update.Availability...)
			got.Restrictions = append(got.Restrictions, a.Update.Restrictions...)
			got.Rates = append(got.Rates, a.Update.Rates...)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(in)
		if string(g) != string(w) {
			t.Errorf("invcount=%v: round trip\n got %s\nwant %s", inv, g, w)
		}
	}
}

// Each room's own total and its guests survive being written back to OTA
// (FromCanonical) and read again.
func TestRoundTripKeepsEachRoomsTotalAndGuests(t *testing.T) {
	msg := golden(t, "resnotif-multiroom-children.xml")
	out, err := ota.Translator{}.FromCanonical(&msg.Booking.Reservation)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ota.Translator{}.ToCanonical(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for i, want := range msg.Booking.Reservation.RoomStays {
		got := back.Booking.Reservation.RoomStays[i]
		g, _ := json.Marshal([]any{got.Total, got.Guests, back.Booking.Reservation.RoomGuest(i)})
		w, _ := json.Marshal([]any{want.Total, want.Guests, msg.Booking.Reservation.RoomGuest(i)})
		if string(g) != string(w) {
			t.Errorf("room %d: after the round trip %s, want %s", i+1, g, w)
		}
	}
}

// A RoomStay of several units shares its stated total out among its rooms
// (adding up to it exactly) and, naming one guest per unit, gives each room
// its own.
func TestRoomStayOfSeveralUnits(t *testing.T) {
	x := string(fixture(t, "resnotif-multiroom-children.xml"))
	x = strings.Replace(x, `<RoomRate RoomTypeCode="FAM" RatePlanCode="BB" NumberOfUnits="1">`, `<RoomRate RoomTypeCode="FAM" RatePlanCode="BB" NumberOfUnits="2">`, 1)
	x = strings.Replace(x, `<Total AmountAfterTax="594.00" CurrencyCode="EUR"/>`, `<Total AmountAfterTax="1188.01" CurrencyCode="EUR"/>`, 1)
	x = strings.Replace(x, `<ResGuestRPH RPH="1"/>`, `<ResGuestRPH RPH="1"/><ResGuestRPH RPH="2"/>`, 1)
	msg, err := ota.Translator{}.ToCanonical([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	stays := msg.Booking.Reservation.RoomStays
	if len(stays) != 3 || *stays[0].Total != eur(59401) || *stays[1].Total != eur(59400) {
		t.Fatalf("stays %+v", stays)
	}
	if fmt.Sprint(stays[0].Guests, stays[1].Guests, stays[2].Guests) != "[0] [1] [1]" {
		t.Errorf("guests per room %v %v %v", stays[0].Guests, stays[1].Guests, stays[2].Guests)
	}
}
