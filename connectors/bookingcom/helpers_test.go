package bookingcom_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/bookingcom/bookingcomsim"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const password = "bdc-Pw4z-never-logged"

var fastHTTP = conformance.FastHTTP(1)

var testMappings = []connectors.Mapping{
	{Kind: connectors.KindProperty, Partner: "1180204", Roomwire: "LIS"},
	{Kind: connectors.KindRoomType, Property: "LIS", Partner: "118020401", Roomwire: "DBL"},
	{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "50923412", Roomwire: "FLEX-DBL"},
}

var lisbon = reservations.Property{
	ID: "LIS", Name: "Roomwire Demo Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
	RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 5}},
	RatePlans: []reservations.RatePlan{{Code: "FLEX-DBL", RoomType: "DBL", Name: "Flexible"}},
}

func fixture(t testing.TB, name string) []byte { return conformance.ReadFixture(t, "bookingcom", name) }

func date(s string) canonical.Date {
	d, err := canonical.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type world struct {
	pool  *pgxpool.Pool // the test database, for reading the outbox
	store *reservations.Store
	res   connectors.Resources
	sim   *bookingcomsim.Sim
	conn  *bookingcom.Connector
	sink  *countingSink
	clock *clock
	logs  *lockedBuffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	pool := pgtest.Pool(t)
	logs := &lockedBuffer{}
	res := connectors.NewResources(pool, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		out := logs.String()
		if strings.Contains(out, password) {
			t.Error("the log holds the password")
		}
		if s, e, ok := canonical.FindCardNumber(out); ok {
			t.Errorf("the log holds a card number: %q", out[max(0, s-80):min(len(out), e+20)])
		}
	})
	ctx := context.Background()
	if err := res.Mappings.Replace(ctx, bookingcom.Name, testMappings); err != nil {
		t.Fatal(err)
	}
	store := reservations.New(pool)
	if _, err := store.PutProperty(ctx, lisbon); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)}
	sim := bookingcomsim.New(bookingcomsim.Config{Username: "roomwire", Password: password, Now: clk.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	conn, err := bookingcom.New(bookingcom.Config{APIURL: srv.URL, Username: "roomwire", Password: password, HotelIDs: []string{"1180204"},
		HTTP: fastHTTP, Now: clk.Now}, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	applier := inbound.NewApplier(store, res.Mappings, res.Links, res.Logger)
	return &world{pool: pool, store: store, res: res, sim: sim, conn: conn, clock: clk, logs: logs,
		sink: &countingSink{inner: &inbound.DirectSink{Connector: bookingcom.Name, Applier: applier}}}
}

// countingSink counts deliveries, and can be made to fail.
type countingSink struct {
	inner connectors.Sink
	mu    sync.Mutex
	n     int
	err   error
}

func (s *countingSink) Deliver(ctx context.Context, b canonical.ChannelBooking) error {
	s.mu.Lock()
	err := s.err
	if err == nil {
		s.n++
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.inner.Deliver(ctx, b)
}

func (s *countingSink) DeliverARI(ctx context.Context, u canonical.ARIUpdate) error {
	return s.inner.DeliverARI(ctx, u)
}

func (s *countingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
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

// guestBooking is a reservation as a guest makes it on Booking.com.
func guestBooking(roomType string, arrival string, nights int) canonical.Reservation {
	s := canonical.RoomStay{RoomType: roomType, RatePlan: "50923412", Arrival: date(arrival), Departure: date(arrival).AddDays(nights), Adults: 2}
	for _, n := range s.Nights() {
		s.NightlyPrices = append(s.NightlyPrices, canonical.NightlyPrice{Date: n, Price: canonical.NewMoney(13200, "EUR")})
	}
	return canonical.Reservation{PropertyID: "1180204", PrimaryGuest: canonical.Guest{GivenName: "Jan", Surname: "de Vries"},
		RoomStays: []canonical.RoomStay{s}, Total: canonical.NewMoney(13200*int64(nights), "EUR")}
}

func serverOf(t *testing.T, w *world) string {
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	return srv.URL
}
