package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/canonical from the fixtures")

// goldenDir holds the canonical JSON files connectors and API clients can test against.
var goldenDir = filepath.Join("..", "testdata", "canonical")

// goldenReservation is a full reservation: every field of the model is set.
func goldenReservation() *Reservation {
	at := time.Date(2027, time.March, 1, 9, 30, 0, 0, time.UTC)
	roomTotal := NewMoney(45000, "EUR")
	return &Reservation{
		SchemaVersion:      1,
		ID:                 "01JNB7ZK3Q8V6T2M4W5X9Y0A1B",
		ConfirmationNumber: "RW-7K4Q2M",
		PropertyID:         "lisbon-baixa",
		Status:             StatusConfirmed,
		Channel:            "bookingcom",
		ExternalID:         "4105718293",
		Version:            1,
		CreatedAt:          at,
		ModifiedAt:         at,
		PrimaryGuest: Guest{
			Title:     "Ms",
			GivenName: "Ana",
			Surname:   "Silva Gonçalves",
			Email:     "ana.silva@example.com",
			Phone:     "+351 912 345 678",
			Address: &Address{
				Lines:       []string{"Rua Augusta 100", "3.º Esq."},
				City:        "Lisboa",
				PostalCode:  "1100-053",
				CountryCode: "PT",
			},
		},
		AdditionalGuests: []Guest{
			{GivenName: "Rui", Surname: "Gonçalves"},
			{GivenName: "Inês", Surname: "Gonçalves"},
		},
		RoomStays: []RoomStay{
			{
				RoomType:     "DBL-CITY",
				RatePlan:     "BAR-FLEX",
				Arrival:      date("2027-04-10"),
				Departure:    date("2027-04-13"),
				Adults:       2,
				ChildrenAges: []int{4, 9},
				NightlyPrices: []NightlyPrice{
					{Date: date("2027-04-10"), Price: NewMoney(14500, "EUR")},
					{Date: date("2027-04-11"), Price: NewMoney(16000, "EUR")},
					{Date: date("2027-04-12"), Price: NewMoney(14500, "EUR")},
				},
				Total:  &roomTotal,
				Guests: []int{0, 1},
			},
			{
				RoomType:  "SGL",
				RatePlan:  "BAR-FLEX",
				Arrival:   date("2027-04-11"),
				Departure: date("2027-04-13"),
				Adults:    1,
				NightlyPrices: []NightlyPrice{
					{Date: date("2027-04-11"), Price: NewMoney(9950, "EUR")},
					{Date: date("2027-04-12"), Price: NewMoney(9950, "EUR")},
				},
				Guests: []int{2},
			},
		},
		Total: NewMoney(64900, "EUR"),
		Guarantee: &Guarantee{
			Type:       "card",
			CardToken:  "pm_1PqR7sT2uV3wX4yZ",
			CardMask:   "4111XXXXXXXX1111",
			CardBrand:  "VI",
			CardExpiry: "0929",
			HolderName: "Ana Silva Goncalves",
			TokenVault: "stripe",
		},
		Comments: []string{"Late arrival, around 23:00.", "Baby cot in the double room, please."},
		Flags:    []Flag{FlagPaymentDeclined},
	}
}

func goldenReservationCreated() *Event {
	return &Event{
		SchemaVersion: 1,
		ID:            "01JNB7ZK4C2D3E4F5G6H7J8K9M",
		Type:          EventReservationCreated,
		PropertyID:    "lisbon-baixa",
		OccurredAt:    time.Date(2027, time.March, 1, 9, 30, 0, 250000000, time.UTC),
		CorrelationID: "req-8f14e45f",
		Reservation:   goldenReservation(),
	}
}

func goldenAvailabilityChanged() *Event {
	return &Event{
		SchemaVersion: 1,
		ID:            "01JNB7ZK4D9N8P7Q6R5S4T3V2W",
		Type:          EventAvailabilityChanged,
		PropertyID:    "lisbon-baixa",
		OccurredAt:    time.Date(2027, time.March, 1, 9, 30, 0, 250000000, time.UTC),
		CorrelationID: "req-8f14e45f",
		ARI: &ARIUpdate{
			PropertyID: "lisbon-baixa",
			Availability: []AvailabilityUpdate{
				{RoomType: "DBL-CITY", From: date("2027-04-10"), To: date("2027-04-12"), Available: 3},
				{RoomType: "SGL", From: date("2027-04-11"), To: date("2027-04-12"), Available: 0},
			},
		},
	}
}

func goldenRestrictionsChanged() *Event {
	e := goldenAvailabilityChanged()
	e.ID, e.Type = "01JNB7ZK4E1A2B3C4D5E6F7G8H", EventRestrictionsChanged
	e.ARI = &ARIUpdate{
		PropertyID: "lisbon-baixa",
		Restrictions: []RestrictionsUpdate{
			Restrictions{StopSell: true}.Update("DBL-CITY", "BAR-FLEX", date("2027-04-10"), date("2027-04-10")),
			Restrictions{ClosedToDeparture: true, MinStay: 3, MinStayThrough: 2, MaxStay: 14}.Update("DBL-CITY", "BAR-FLEX", date("2027-04-11"), date("2027-04-17")),
		},
	}
	return e
}

func goldenRatesChanged() *Event {
	e := goldenAvailabilityChanged()
	e.ID, e.Type = "01JNB7ZK4F9H8G7F6E5D4C3B2A", EventRatesChanged
	eur := func(m int64) Money { return NewMoney(m, "EUR") }
	e.ARI = &ARIUpdate{
		PropertyID: "lisbon-baixa",
		Rates: []RateUpdate{
			{RatePlan: "BAR-FLEX", RoomType: "DBL-CITY", From: date("2027-04-10"), To: date("2027-04-30"), Rate: Rate{
				Price:      eur(13200),
				Occupancy:  []OccupancyPrice{{Adults: 1, Price: eur(12100)}, {Adults: 2, Price: eur(13200)}},
				ExtraAdult: eur(2500),
				ExtraChild: eur(1500),
			}},
			{RatePlan: "BAR-NR", RoomType: "DBL-CITY", From: date("2027-04-10"), To: date("2027-04-30"), Rate: Rate{Price: eur(11880)}},
		},
	}
	return e
}

func TestGoldenARIEvents(t *testing.T) {
	checkGolden(t, "event_restrictions_changed.json", goldenRestrictionsChanged(), checkEvent)
	checkGolden(t, "event_rates_changed.json", goldenRatesChanged(), checkEvent)
}

func TestGoldenReservation(t *testing.T) {
	checkGolden(t, "reservation.json", goldenReservation(), (*Reservation).Validate)
}

func TestGoldenReservationCreatedEvent(t *testing.T) {
	checkGolden(t, "event_reservation_created.json", goldenReservationCreated(), checkEvent)
}

func TestGoldenAvailabilityChangedEvent(t *testing.T) {
	checkGolden(t, "event_availability_changed.json", goldenAvailabilityChanged(), checkEvent)
}

// encodeCanonical is the form golden files are written in: indented by two
// spaces, with a final newline.
func encodeCanonical(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// checkGolden decodes the golden file, refusing unknown fields, validates it,
// compares it with the fixture, and re-encodes it byte for byte. With -update
// it first rewrites the file from the fixture.
func checkGolden[T any](t *testing.T, name string, fixture *T, validate func(*T) error) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		b, err := encodeCanonical(fixture)
		if err != nil {
			t.Fatalf("encode fixture: %v", err)
		}
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./canonical -run Golden -update to write it)", err)
	}
	dec := json.NewDecoder(bytes.NewReader(golden))
	dec.DisallowUnknownFields()
	got := new(T)
	if err := dec.Decode(got); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	if dec.More() {
		t.Fatalf("%s holds more than one JSON value", name)
	}
	if err := validate(got); err != nil {
		t.Fatalf("%s does not validate: %v", name, err)
	}
	if !reflect.DeepEqual(got, fixture) {
		t.Errorf("%s decodes to\n%+v\nwant the fixture\n%+v", name, got, fixture)
	}
	again, err := encodeCanonical(got)
	if err != nil {
		t.Fatalf("re-encode %s: %v", name, err)
	}
	if !bytes.Equal(again, golden) {
		t.Errorf("%s does not re-encode byte for byte; %s\n(run go test ./canonical -run Golden -update after an intended change)", name, firstDiff(golden, again))
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d: file has %q, encoding gives %q", i+1, w, g)
		}
	}
	return "no line differs"
}

// checkEvent checks what the model promises of an event: a known type, and
// exactly the payload that type carries, about the event's own property.
func checkEvent(e *Event) error {
	var errs []error
	if e.SchemaVersion != SchemaVersion {
		errs = append(errs, fmt.Errorf("schema_version %d, want %d", e.SchemaVersion, SchemaVersion))
	}
	if e.ID == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if !ValidCode(e.PropertyID) {
		errs = append(errs, fmt.Errorf("property_id %q is not a code", e.PropertyID))
	}
	if e.OccurredAt.IsZero() {
		errs = append(errs, errors.New("occurred_at is missing"))
	}
	switch {
	case e.Type.IsReservation():
		if e.Reservation == nil || e.ARI != nil {
			errs = append(errs, fmt.Errorf("%s must carry a reservation and no ari", e.Type))
			break
		}
		if e.Reservation.PropertyID != e.PropertyID {
			errs = append(errs, fmt.Errorf("reservation of %s in an event of %s", e.Reservation.PropertyID, e.PropertyID))
		}
		if err := e.Reservation.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("reservation: %w", err))
		}
	case e.Type.IsARI():
		if e.ARI == nil || e.Reservation != nil {
			errs = append(errs, fmt.Errorf("%s must carry ari and no reservation", e.Type))
			break
		}
		if e.ARI.PropertyID != e.PropertyID {
			errs = append(errs, fmt.Errorf("ari of %s in an event of %s", e.ARI.PropertyID, e.PropertyID))
		}
		if len(e.ARI.Kinds()) == 0 {
			errs = append(errs, errors.New("ari carries no update"))
		}
		if err := e.ARI.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("ari: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown event type %q", e.Type))
	}
	return errors.Join(errs...)
}

func TestCheckEventRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *Event)
	}{
		{"reservation event without a reservation", func(e *Event) { e.Reservation = nil }},
		{"reservation event with ari", func(e *Event) { e.ARI = goldenAvailabilityChanged().ARI }},
		{"reservation of another property", func(e *Event) { e.Reservation.PropertyID = "porto-1" }},
		{"invalid reservation", func(e *Event) { e.Reservation.RoomStays = nil }},
		{"unknown type", func(e *Event) { e.Type = "reservation.deleted" }},
		{"newer schema", func(e *Event) { e.SchemaVersion = 2 }},
	}
	for _, tt := range tests {
		e := goldenReservationCreated()
		tt.change(e)
		if checkEvent(e) == nil {
			t.Errorf("%s: checkEvent = nil, want an error", tt.name)
		}
	}
	e := goldenAvailabilityChanged()
	e.ARI.Availability[1].To = date("2027-04-10")
	if checkEvent(e) == nil {
		t.Error("availability run ending before it starts: checkEvent = nil")
	}
}

// The golden files are the documented form: a partner reading them with a
// strict decoder sees string amounts and plain dates.
func TestGoldenReservationForm(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir, "reservation.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"schema_version": 1,`,
		`"amount": "649.00",`,
		`"arrival": "2027-04-10",`,
		`"created_at": "2027-03-01T09:30:00Z",`,
		`"card_mask": "4111XXXXXXXX1111",`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("reservation.json lacks %s", want)
		}
	}
	if ContainsCardNumber(string(b)) {
		t.Error("reservation.json holds a card number")
	}
}

// docsPath is the documentation of the JSON form; its examples are copies of
// golden files, each in a json block after a "<!-- golden: NAME -->" line.
var docsPath = filepath.Join("..", "docs", "canonical.md")

func TestDocsExamplesMatchGolden(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, name := range []string{"reservation.json", "event_availability_changed.json", "event_restrictions_changed.json", "event_rates_changed.json"} {
		golden, err := os.ReadFile(filepath.Join(goldenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		start, end, ok := docsExample(text, name)
		if !ok {
			t.Errorf("%s has no example marked <!-- golden: %s --> followed by a json block", docsPath, name)
			continue
		}
		if text[start:end] == string(golden) {
			continue
		}
		if !*update {
			t.Errorf("the %s example in %s differs from the golden file (run go test ./canonical -run 'Golden|Docs' -update)", name, docsPath)
			continue
		}
		text = text[:start] + string(golden) + text[end:]
	}
	if *update && text != string(doc) {
		if err := os.WriteFile(docsPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// docsExample returns the byte span of the json block's content after the
// golden marker for name.
func docsExample(doc, name string) (start, end int, ok bool) {
	const fenceOpen, fenceClose = "```json\n", "```\n"
	i := strings.Index(doc, "<!-- golden: "+name+" -->\n")
	if i < 0 {
		return 0, 0, false
	}
	j := strings.Index(doc[i:], fenceOpen)
	if j < 0 {
		return 0, 0, false
	}
	start = i + j + len(fenceOpen)
	k := strings.Index(doc[start:], fenceClose)
	if k < 0 {
		return 0, 0, false
	}
	return start, start + k, true
}
