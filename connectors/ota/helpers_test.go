package ota_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Credentials of the tests; they must never appear in a log or a message.
const (
	inboundPassword = "ota-in-Pw7q-never-logged"
	ariPassword     = "ota-ari-Zx3-never-logged"
)

var fastHTTP = conformance.FastHTTP(2)

var testMappings = []connectors.Mapping{
	{Kind: connectors.KindProperty, Partner: "HTL-LIS-01", Roomwire: "LIS"},
	{Kind: connectors.KindRoomType, Property: "LIS", Partner: "DBL-SEA", Roomwire: "DBL"},
	{Kind: connectors.KindRoomType, Property: "LIS", Partner: "FAM", Roomwire: "FAM"},
	{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "FLEX", Roomwire: "FLEX-DBL"},
	{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "BB", Roomwire: "BB-FAM"},
}

var lisbon = reservations.Property{
	ID: "LIS", Name: "Roomwire Demo Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
	RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double sea view", Units: 3}, {Code: "FAM", Name: "Family", Units: 2}},
	RatePlans: []reservations.RatePlan{{Code: "FLEX-DBL", RoomType: "DBL", Name: "Flexible"}, {Code: "BB-FAM", RoomType: "FAM", Name: "Bed and breakfast"}},
}

// world is a store, the OTA connector receiving into it directly, and an OTA
// channel simulator pushing to the connector and receiving its ARI.
type world struct {
	pool  *pgxpool.Pool // the test database, for reading the outbox
	store *reservations.Store
	res   connectors.Resources
	conn  *ota.Connector
	sim   *otasim.Sim
	sink  connectors.Sink
}

func newWorld(t *testing.T, cfg ota.Config) *world {
	t.Helper()
	pool := pgtest.Pool(t)
	res := connectors.NewResources(pool, testLogger(t))
	ctx := context.Background()
	if err := res.Mappings.Replace(ctx, ota.Name, testMappings); err != nil {
		t.Fatal(err)
	}
	store := reservations.New(pool)
	res.Bookings = store
	if _, err := store.PutProperty(ctx, lisbon); err != nil {
		t.Fatal(err)
	}
	// The receiver needs the simulator's URL and the simulator the receiver's.
	var receiver http.Handler
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { receiver.ServeHTTP(w, r) }))
	t.Cleanup(hooks.Close)
	sim := otasim.New(otasim.Config{PushURL: hooks.URL + "/reservations", Auth: cfg.Auth, User: "channel", Password: inboundPassword,
		ARIUser: "roomwire", ARIPassword: ariPassword})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	cfg.InboundUser, cfg.InboundPassword = "channel", inboundPassword
	cfg.ARIURL, cfg.ARIUser, cfg.ARIPassword = simSrv.URL+"/ari", "roomwire", ariPassword
	cfg.ReportURL = simSrv.URL + "/reservations"
	cfg.HTTP = fastHTTP
	conn, err := ota.New(cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &world{pool: pool, store: store, res: res, conn: conn, sim: sim,
		sink: &inbound.DirectSink{Connector: ota.Name, Applier: inbound.NewApplier(store, res.Mappings, res.Links, res.Logger)}}
	receiver = conn.Webhook(w.sink)
	return w
}

// recordingSink keeps what it is given, as the Kafka sink would publish it.
type recordingSink struct {
	mu       sync.Mutex
	bookings []canonical.ChannelBooking
	err      error
}

func (s *recordingSink) Deliver(_ context.Context, b canonical.ChannelBooking) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.bookings = append(s.bookings, b)
	return nil
}

func (s *recordingSink) DeliverARI(context.Context, canonical.ARIUpdate) error { return nil }
