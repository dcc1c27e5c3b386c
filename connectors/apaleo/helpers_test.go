package apaleo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Credentials of the tests; they must never appear in a log or a message.
const (
	clientSecret    = "cs-Zq8sW1-never-logged"
	webhookPassword = "wh-Pw9x-never-logged"
)

// fastHTTP keeps retries and timeouts short, so faults cost little time.
var fastHTTP = conformance.FastHTTP(4)

func fixture(t testing.TB, name string) []byte { return conformance.ReadFixture(t, "apaleo", name) }

func date(s string) canonical.Date {
	d, err := canonical.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

var testMappings = []connectors.Mapping{
	{Kind: connectors.KindProperty, Partner: "LIS", Roomwire: "LIS"},
	{Kind: connectors.KindRoomType, Property: "LIS", Partner: "LIS-DBL", Roomwire: "DBL"},
	{Kind: connectors.KindRoomType, Property: "LIS", Partner: "LIS-SGL", Roomwire: "SGL"},
	{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "LIS-FLEX-DBL", Roomwire: "FLEX-DBL"},
	{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "LIS-FLEX-SGL", Roomwire: "FLEX-SGL"},
}

var lisbon = reservations.Property{
	ID: "LIS", Name: "Roomwire Demo Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
	RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 10}, {Code: "SGL", Name: "Single", Units: 5}},
	RatePlans: []reservations.RatePlan{{Code: "FLEX-DBL", RoomType: "DBL", Name: "Flexible"}, {Code: "FLEX-SGL", RoomType: "SGL", Name: "Flexible"}},
}

// world is a Roomwire store and an Apaleo simulator with the connector
// between them. Webhooks from the simulator reach the connector's receiver,
// which applies them straight to the store (DirectSink).
type world struct {
	t       *testing.T
	pool    *pgxpool.Pool // the test database, for reading the outbox
	store   *reservations.Store
	res     connectors.Resources
	sim     *apaleosim.Sim
	conn    *apaleo.Connector
	applier *inbound.Applier
	hooks   *httptest.Server
}

func newWorld(t *testing.T, faults apaleosim.Faults) *world {
	t.Helper()
	return newWorldAt(t, faults, nil)
}

// newWorldAt is newWorld with a clock for the store and the simulator (nil:
// the wall clock), and the connector's configuration changed by tweak.
func newWorldAt(t *testing.T, faults apaleosim.Faults, now func() time.Time, tweak ...func(*apaleo.Config)) *world {
	t.Helper()
	pool := pgtest.Pool(t)
	res := connectors.NewResources(pool, testLogger(t))
	ctx := context.Background()
	if err := res.Mappings.Replace(ctx, apaleo.Name, testMappings); err != nil {
		t.Fatal(err)
	}
	store := reservations.New(pool)
	if now != nil {
		store.SetClock(now)
	}
	if _, err := store.PutProperty(ctx, lisbon); err != nil {
		t.Fatal(err)
	}
	err := store.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{
		{RatePlan: "FLEX-DBL", From: date("2027-04-01"), To: date("2027-05-31"), Rate: canonical.Rate{Price: canonical.NewMoney(13200, "EUR")}},
		{RatePlan: "FLEX-SGL", From: date("2027-04-01"), To: date("2027-05-31"), Rate: canonical.Rate{Price: canonical.NewMoney(9800, "EUR")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sim := apaleosim.Demo(apaleosim.Config{ClientID: "roomwire", ClientSecret: clientSecret, Seed: 7, Now: now})
	sim.SetFaults(faults)
	api := httptest.NewServer(sim)
	t.Cleanup(api.Close)
	cfg := apaleo.Config{
		APIURL: api.URL, IdentityURL: api.URL, ClientID: "roomwire", ClientSecret: clientSecret,
		WebhookUser: "apaleo", WebhookPassword: webhookPassword, Properties: []string{"LIS"}, HTTP: fastHTTP,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	conn, err := apaleo.New(cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &world{t: t, pool: pool, store: store, res: res, sim: sim, conn: conn,
		applier: inbound.NewApplier(store, res.Mappings, res.Links, res.Logger)}
	mux := http.NewServeMux()
	mux.Handle("/v1/connectors/apaleo/", http.StripPrefix("/v1/connectors/apaleo", conn.Webhook(w.sink())))
	w.hooks = httptest.NewServer(mux)
	t.Cleanup(w.hooks.Close)
	sim.SetWebhook(w.hooks.URL+"/v1/connectors/apaleo/webhooks", "apaleo", webhookPassword)
	t.Cleanup(sim.Close) // before the servers close: webhooks in flight finish first
	return w
}

func (w *world) sink() connectors.Sink {
	return &inbound.DirectSink{Connector: apaleo.Name, Applier: w.applier}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// frontDeskBooking is a booking made in Apaleo itself.
func frontDeskBooking(ratePlan, arrival string, nights int) apaleo.CreateBooking {
	guest := apaleo.Guest{FirstName: "Ana", LastName: "Costa", Email: "ana.costa@example.com"}
	cr := apaleo.CreateReservation{Arrival: arrival, Departure: date(arrival).AddDays(nights).String(), Adults: 1,
		ChildrenAges: []int{6}, ChannelCode: "Direct", PrimaryGuest: guest, GuaranteeType: "CreditCard"}
	for i := 0; i < nights; i++ {
		cr.TimeSlices = append(cr.TimeSlices, apaleo.CreateTimeSlice{RatePlanID: ratePlan})
	}
	return apaleo.CreateBooking{Booker: guest, Reservations: []apaleo.CreateReservation{cr}}
}
