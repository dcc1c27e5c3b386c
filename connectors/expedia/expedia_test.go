package expedia_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/expedia"
	"github.com/roomwire/roomwire/connectors/expedia/expediasim"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var update = flag.Bool("update", false, "rewrite the golden files")

const password = "eqc-Pw2k-never-logged"

var fastHTTP = conformance.FastHTTP(1)

var testMappings = []connectors.Mapping{
	{Kind: connectors.KindProperty, Partner: "4411903", Roomwire: "LIS"},
	{Kind: connectors.KindRoomType, Property: "LIS", Partner: "200719312", Roomwire: "DBL"},
	{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "211004551A", Roomwire: "FLEX-DBL"},
}

var lisbon = reservations.Property{
	ID: "LIS", Name: "Roomwire Demo Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
	RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 5}},
	RatePlans: []reservations.RatePlan{{Code: "FLEX-DBL", RoomType: "DBL", Name: "Flexible"}},
}

var fixtureNames = []string{"retrieval-book.xml", "retrieval-modify.xml", "retrieval-cancel.xml", "ar-update.xml"}

func fixture(t testing.TB, name string) []byte { return conformance.ReadFixture(t, "expedia", name) }

func date(s string) canonical.Date {
	d, _ := canonical.ParseDate(s)
	return d
}

func goldenOf(t *testing.T, name string) []byte {
	t.Helper()
	msg, err := expedia.Translator{}.ToCanonical(fixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got, _ := json.MarshalIndent(msg, "", "  ")
	path := filepath.Join("..", "..", "testdata", "expedia", strings.TrimSuffix(name, ".xml")+".canonical.json")
	if *update {
		os.WriteFile(path, append(got, '\n'), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("%s differs from its golden file:\n%s", name, got)
	}
	return want
}

func TestTranslate(t *testing.T) {
	for _, n := range fixtureNames {
		goldenOf(t, n)
	}
	msg, _ := expedia.Translator{}.ToCanonical(fixture(t, "retrieval-book.xml"))
	b := msg.Booking
	r := b.Reservation
	s := r.RoomStays[0]
	if b.Action != canonical.ChannelNew || r.ExternalID != "901245778" || r.PropertyID != "4411903" || s.RoomType != "200719312" ||
		s.RatePlan != "211004551A" || s.Adults != 2 || len(s.ChildrenAges) != 1 || s.ChildrenAges[0] != 7 || len(s.NightlyPrices) != 3 ||
		s.NightlyPrices[2].Price.Minor != 12500 || r.Total.Minor != 37950 || r.PrimaryGuest.Phone != "+46 8 5550123" ||
		r.Comments[0] != "Non-smoking" || r.Guarantee.CardMask != "XXXXXXXXXXXX4444" || b.Revision != "Book@2027-03-02T08:55:10Z" {
		t.Errorf("book: %+v", b)
	}
	if s.Total == nil || *s.Total != canonical.NewMoney(37950, "EUR") {
		t.Errorf("the room's own total (379.50 EUR after taxes) is not kept: %v", s.Total)
	}
	mod, _ := expedia.Translator{}.ToCanonical(fixture(t, "retrieval-modify.xml"))
	if mod.Booking.Action != canonical.ChannelModify || mod.Booking.Reservation.Guarantee.CardMask != "XXXXXXXXXXXX4444" ||
		mod.Booking.Reservation.PrimaryGuest.GivenName != "Jöns" {
		t.Errorf("modify: %+v", mod.Booking)
	}
	// A full card number is refused when so configured.
	rs, _ := expedia.ParseRetrievalRS(fixture(t, "retrieval-modify.xml"))
	if _, err := expedia.ToBooking(&rs.Bookings[0], connectors.CardRefuse); !errors.Is(err, connectors.ErrCardNumber) || canonical.ContainsCardNumber(err.Error()) {
		t.Errorf("refuse: %v", err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"departure before arrival", `departure="2027-05-04"`, `departure="2027-04-30"`, "is not 1 to"},
		{"impossible date", `arrival="2027-05-01"`, `arrival="2027-02-29"`, "not a date"},
		{"unknown currency", `currency="EUR">`, `currency="XXX">`, "unknown currency"},
		{"negative total", `amountAfterTaxes="379.50"`, `amountAfterTaxes="-379.50"`, "negative"},
		{"wrong root", `BookingRetrievalRS`, `BookingRetrievalRQ`, "root element"},
		{"unknown type", `type="Book"`, `type="Hold"`, "not Book, Modify or Cancel"},
		{"doctype", `<?xml version="1.0" encoding="UTF-8"?>`, `<!DOCTYPE x SYSTEM "http://evil/x.dtd">`, "DTDs"},
	} {
		data := bytes.ReplaceAll(fixture(t, "retrieval-book.xml"), []byte(tc.old), []byte(tc.new))
		_, err := expedia.Translator{}.ToCanonical(data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || connectors.ClassOf(err) != connectors.ClassPermanent {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

type world struct {
	store *reservations.Store
	sim   *expediasim.Sim
	conn  *expedia.Connector
	sink  connectors.Sink
	logs  *lockedBuffer
}

func newWorld(t *testing.T, maxUpdates int) *world {
	pool := pgtest.Pool(t)
	logs := &lockedBuffer{}
	res := connectors.NewResources(pool, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		if strings.Contains(logs.String(), password) || canonical.ContainsCardNumber(logs.String()) {
			t.Error("the log holds the password or a card number")
		}
	})
	ctx := context.Background()
	if err := res.Mappings.Replace(ctx, expedia.Name, testMappings); err != nil {
		t.Fatal(err)
	}
	store := reservations.New(pool)
	if _, err := store.PutProperty(ctx, lisbon); err != nil {
		t.Fatal(err)
	}
	sim := expediasim.New(expediasim.Config{Username: "roomwire", Password: password, MaxUpdates: 3})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	conn, err := expedia.New(expedia.Config{APIURL: srv.URL, Username: "roomwire", Password: password, HotelIDs: []string{"4411903"},
		MaxUpdates: maxUpdates, HTTP: fastHTTP}, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &world{store: store, sim: sim, conn: conn, logs: logs,
		sink: &inbound.DirectSink{Connector: expedia.Name, Applier: inbound.NewApplier(store, res.Mappings, res.Links, res.Logger)}}
}

func guestBooking(nights int) canonical.Reservation {
	s := canonical.RoomStay{RoomType: "200719312", RatePlan: "211004551A", Arrival: date("2027-05-01"), Departure: date("2027-05-01").AddDays(nights), Adults: 2, ChildrenAges: []int{7}}
	for _, n := range s.Nights() {
		s.NightlyPrices = append(s.NightlyPrices, canonical.NightlyPrice{Date: n, Price: canonical.NewMoney(11000, "EUR")})
	}
	return canonical.Reservation{PropertyID: "4411903", PrimaryGuest: canonical.Guest{GivenName: "Jonas", Surname: "Berg"}, RoomStays: []canonical.RoomStay{s}}
}

func TestRetrieveConfirm(t *testing.T) {
	w := newWorld(t, 100)
	ctx := context.Background()
	id := w.sim.Book(guestBooking(3))
	n, err := w.conn.Retrieve(ctx, w.sink, "4411903")
	if err != nil || n != 1 {
		t.Fatalf("retrieve: %d %v", n, err)
	}
	number, all := w.sim.Confirmed(id)
	if !all || number != connectors.ConfirmationReference(expedia.Name, "4411903", id) {
		t.Errorf("confirmation %q %v", number, all)
	}
	r, err := w.store.FindByExternalID(ctx, "LIS", expedia.Name, id)
	if err != nil || r.RoomStays[0].RoomType != "DBL" || r.Total.Minor != 33000 {
		t.Fatalf("stored %+v %v", r, err)
	}
	w.sim.Modify(id, func(r *canonical.Reservation) { r.RoomStays[0].Adults = 1 })
	w.sim.Cancel(id)
	if n, err := w.conn.Retrieve(ctx, w.sink, "4411903"); err != nil || n != 2 {
		t.Fatalf("retrieve: %d %v", n, err)
	}
	r, _ = w.store.FindByExternalID(ctx, "LIS", expedia.Name, id)
	if r.Status != canonical.StatusCancelled || r.RoomStays[0].Adults != 1 {
		t.Errorf("after modify and cancel: %s adults %d", r.Status, r.RoomStays[0].Adults)
	}
	// A confirmed booking listed again changes nothing.
	w.sim.SetFaults(channelsim.Faults{Duplicates: 1})
	id2 := w.sim.Book(guestBooking(1))
	w.conn.Retrieve(ctx, w.sink, "4411903")
	w.conn.Retrieve(ctx, w.sink, "4411903")
	r2, _ := w.store.FindByExternalID(ctx, "LIS", expedia.Name, id2)
	if r2 == nil || r2.Version != 1 {
		t.Errorf("duplicate listing: %+v", r2)
	}
}

func TestUnconfirmedUntilDurable(t *testing.T) {
	w := newWorld(t, 100)
	ctx := context.Background()
	id := w.sim.Book(guestBooking(2))
	failing := &failingSink{err: connectors.Retryable(errors.New("kafka unavailable"))}
	if _, err := w.conn.Retrieve(ctx, failing, "4411903"); err == nil {
		t.Error("no error while the sink is down")
	}
	if _, all := w.sim.Confirmed(id); all {
		t.Fatal("confirmed before durable")
	}
	unmapped := guestBooking(1)
	unmapped.RoomStays[0].RoomType = "999"
	uid := w.sim.Book(unmapped)
	w.conn.Retrieve(ctx, &failingSink{}, "4411903")
	if _, all := w.sim.Confirmed(uid); all {
		t.Error("a quarantined booking was confirmed")
	}
	if _, all := w.sim.Confirmed(id); !all {
		t.Error("not confirmed once durable")
	}
}

type failingSink struct {
	mu  sync.Mutex
	err error
}

func (f *failingSink) Deliver(context.Context, canonical.ChannelBooking) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
func (f *failingSink) DeliverARI(context.Context, canonical.ARIUpdate) error { return nil }

func TestPushARISplit(t *testing.T) {
	w := newWorld(t, 3)
	var u canonical.ARIUpdate
	u.PropertyID = "4411903"
	for i := 0; i < 7; i++ {
		d := date("2027-06-01").AddDays(i)
		u.Availability = append(u.Availability, canonical.AvailabilityUpdate{RoomType: "200719312", From: d, To: d, Available: i})
	}
	u.Rates = []canonical.RateUpdate{{RoomType: "200719312", RatePlan: "211004551A", From: date("2027-06-01"), To: date("2027-06-07"), Rate: canonical.Rate{Price: canonical.NewMoney(9900, "EUR")}}}
	u.Restrictions = []canonical.RestrictionsUpdate{canonical.Restrictions{MinStay: 2}.Update("200719312", "211004551A", date("2027-06-01"), date("2027-06-02"))}
	if err := w.conn.PushARI(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if n := w.sim.ARI.Messages(); n != 3 {
		t.Errorf("%d messages for 9 updates at 3 a message", n)
	}
	if n, _ := w.sim.ARI.Availability("4411903", "200719312", date("2027-06-07")); n != 6 {
		t.Errorf("availability %d", n)
	}
	if r, _ := w.sim.ARI.Restriction("4411903", "200719312", "211004551A", date("2027-06-02")); r.MinStay != 2 {
		t.Errorf("restriction %+v", r)
	}
	// Over the partner's limit, the partner refuses: permanent.
	big := newWorld(t, 10)
	if err := big.conn.PushARI(context.Background(), u); connectors.ClassOf(err) != connectors.ClassPermanent || !strings.Contains(err.Error(), "too many") {
		t.Errorf("over the limit: %v", err)
	}
}

func TestConformance(t *testing.T) {
	var fixtures []conformance.Fixture
	for _, n := range fixtureNames {
		fixtures = append(fixtures, conformance.Fixture{Name: n, Partner: fixture(t, n), Golden: goldenOf(t, n)})
	}
	conformance.Run(t, conformance.Setup{
		Name: expedia.Name, Fixtures: fixtures, Mappings: testMappings, Property: lisbon, Secrets: []string{password},
		ARI: conformance.ARICodes{Hotel: "4411903", RoomType: "200719312", RatePlan: "211004551A", NoMinStayThrough: true},
		Start: func(t *testing.T, res connectors.Resources) *conformance.Harness {
			sim := expediasim.New(expediasim.Config{Username: "roomwire", Password: password})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			conn, err := expedia.New(expedia.Config{APIURL: srv.URL, Username: "roomwire", Password: password, HotelIDs: []string{"4411903"}, HTTP: fastHTTP}, res)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &conformance.Harness{Connector: conn, ARI: sim.ARI, Redeliver: func(ctx context.Context, sink connectors.Sink, times int) error {
				sim.SetFaults(channelsim.Faults{Duplicates: times})
				sim.Book(guestBooking(2))
				for i := 0; i < times; i++ {
					if _, err := conn.Retrieve(ctx, sink, "4411903"); err != nil {
						return err
					}
				}
				return nil
			}}
		},
	})
}

func FuzzTranslate(f *testing.F) {
	for _, n := range fixtureNames {
		f.Add(fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := expedia.Translator{}.ToCanonical(data)
		if err != nil {
			if c := connectors.ClassOf(err); c != connectors.ClassPermanent && c != connectors.ClassRetryable {
				t.Fatalf("class %s: %v", c, err)
			}
			return
		}
		if msg.Booking != nil {
			if err := msg.Booking.Validate(); err != nil {
				t.Fatalf("accepted an invalid booking: %v", err)
			}
		}
	})
}

func FuzzParseRS(f *testing.F) {
	f.Add([]byte(`<BookingConfirmRS xmlns="http://www.expediaconnect.com/EQC/BC/2007/09"><Success/></BookingConfirmRS>`))
	f.Add([]byte(`<AvailRateUpdateRS xmlns="http://www.expediaconnect.com/EQC/AR/2011/06"><Error code="4000">down</Error></AvailRateUpdateRS>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		expedia.ParseRS(data) //nolint:errcheck // must not panic
	})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
