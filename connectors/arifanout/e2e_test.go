package arifanout_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/arifanout"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/bookingcom/bookingcomsim"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/expedia"
	"github.com/roomwire/roomwire/connectors/expedia/expediasim"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
	"github.com/roomwire/roomwire/router"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const secret = "chan-Pw-never-logged"

func date(s string) canonical.Date {
	d, err := canonical.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Each channel's codes for Roomwire's LIS, DBL and FLEX-DBL.
var channelCodes = map[string][3]string{
	ota.Name:        {"HTL-LIS-01", "DBL-SEA", "FLEX"},
	bookingcom.Name: {"1180204", "118020401", "50923412"},
	expedia.Name:    {"4411903", "200719312", "211004551A"},
}

var lisbon = reservations.Property{
	ID: "LIS", Name: "Roomwire Demo Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
	RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 2}, {Code: "SUITE", Name: "Suite", Units: 1}},
	RatePlans: []reservations.RatePlan{{Code: "FLEX-DBL", RoomType: "DBL", Name: "Flexible"}, {Code: "FLEX-SUITE", RoomType: "SUITE", Name: "Flexible"}},
}

var fastHTTP = connectors.HTTPConfig{Timeout: 2 * time.Second}

// stack is the hub with three channels: the OTA channel pushes bookings to
// the OTA receiver, which publishes to Kafka; the inbound applier applies
// them; the outbox relay publishes availability; the fan-out pushes it to
// the OTA, Booking.com and Expedia simulators.
type stack struct {
	pool     *pgxpool.Pool
	store    *reservations.Store
	res      connectors.Resources
	logger   *slog.Logger
	brokers  []string
	otaSim   *otasim.Sim
	otaGate  *gate // in front of the OTA simulator's ARI endpoint
	bdcSim   *bookingcomsim.Sim
	bdc      *bookingcom.Connector
	expSim   *expediasim.Sim
	channels []connectors.ARIPusher
	otaConn  *ota.Connector
	receiver atomic.Pointer[http.Handler] // the OTA receiver of the running hub

	// Of the running hub (see start).
	stop     func()
	fanout   *arifanout.Fanout
	bdcSink  connectors.Sink
	backbone *router.Backbone
}

func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newStack starts the channels' simulators and connectors, the broker and
// the hub.
func newStack(t testing.TB) *stack {
	t.Helper()
	ctx := context.Background()
	logger := testLogger(t)
	pool := pgtest.Pool(t)
	res := connectors.NewResources(pool, logger)
	for name, c := range channelCodes {
		err := res.Mappings.Replace(ctx, name, []connectors.Mapping{
			{Kind: connectors.KindProperty, Partner: c[0], Roomwire: "LIS"},
			{Kind: connectors.KindRoomType, Property: "LIS", Partner: c[1], Roomwire: "DBL"},
			{Kind: connectors.KindRatePlan, Property: "LIS", Partner: c[2], Roomwire: "FLEX-DBL"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	store := reservations.New(pool)
	if _, err := store.PutProperty(ctx, lisbon); err != nil {
		t.Fatal(err)
	}
	if err := store.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{
		{RatePlan: "FLEX-DBL", From: date("2027-04-01"), To: date("2028-03-31"), Rate: canonical.Rate{Price: canonical.NewMoney(13200, "EUR")}}}); err != nil {
		t.Fatal(err)
	}
	broker, err := router.StartEmbeddedBroker(t.TempDir(), logger, router.WithDefaultPartitions(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	s := &stack{pool: pool, store: store, res: res, logger: logger, brokers: broker.Addrs(), otaGate: &gate{}}

	// The three channels and their connectors.
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*s.receiver.Load()).ServeHTTP(w, r) }))
	t.Cleanup(hooks.Close)
	s.otaSim = otasim.New(otasim.Config{PushURL: hooks.URL + "/reservations", User: "channel", Password: secret})
	otaSrv := httptest.NewServer(s.otaGate.wrap(s.otaSim))
	t.Cleanup(otaSrv.Close)
	// Long enough for a push held at the gate.
	s.otaConn, err = ota.New(ota.Config{InboundUser: "channel", InboundPassword: secret, ARIURL: otaSrv.URL + "/ari", HTTP: connectors.HTTPConfig{Timeout: 8 * time.Second}}, res)
	if err != nil {
		t.Fatal(err)
	}
	s.bdcSim = bookingcomsim.New(bookingcomsim.Config{Username: "roomwire", Password: secret})
	bdcSrv := httptest.NewServer(s.bdcSim)
	t.Cleanup(bdcSrv.Close)
	s.bdc, err = bookingcom.New(bookingcom.Config{APIURL: bdcSrv.URL, Username: "roomwire", Password: secret, HTTP: fastHTTP}, res)
	if err != nil {
		t.Fatal(err)
	}
	s.expSim = expediasim.New(expediasim.Config{Username: "roomwire", Password: secret})
	expSrv := httptest.NewServer(s.expSim)
	t.Cleanup(expSrv.Close)
	expConn, err := expedia.New(expedia.Config{APIURL: expSrv.URL, Username: "roomwire", Password: secret, HotelIDs: []string{"4411903"}, HTTP: fastHTTP}, res)
	if err != nil {
		t.Fatal(err)
	}
	s.channels = []connectors.ARIPusher{s.otaConn, s.bdc, expConn}
	for _, c := range []connectors.Closer{s.otaConn, s.bdc, expConn} {
		t.Cleanup(func() { c.Close() })
	}
	s.stop = s.start(t)
	return s
}

// start runs a hub (backbone, inbound applier, fan-out) on the stack's
// database, broker and channels, and returns what stops it. The fan-out is
// new: it remembers nothing of an earlier hub's pushes, as after a crash.
func (s *stack) start(t testing.TB) (stop func()) {
	t.Helper()
	ctx := context.Background()
	bb, err := router.New(router.Config{
		Kafka:          router.KafkaConfig{Brokers: s.brokers, ClientID: "roomwire-test"},
		Topics:         router.TopicsConfig{Partitions: 2},
		Retry:          router.RetryConfig{MaxRetries: 3, InitialInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond},
		Relay:          router.RelayConfig{PollInterval: 200 * time.Millisecond, RetryInterval: 100 * time.Millisecond},
		HandlerTimeout: 10 * time.Second, ParkedRetryInterval: 200 * time.Millisecond, CloseTimeout: 10 * time.Second,
	}, s.pool, s.logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.backbone = bb

	// Inbound: receivers publish to Kafka; the applier consumes.
	applier := inbound.NewApplier(s.store, s.res.Mappings, s.res.Links, s.logger)
	receiver := s.otaConn.Webhook(inbound.NewSink(bb.Publisher(), ota.Name, s.logger))
	s.receiver.Store(&receiver)
	s.bdcSink = inbound.NewSink(bb.Publisher(), bookingcom.Name, s.logger)
	for _, name := range []string{ota.Name, bookingcom.Name} {
		if err := bb.AddConsumer("inbound."+name, inbound.Topic(name), applier.Handle); err != nil {
			t.Fatal(err)
		}
	}
	// Outbound: the fan-out, one consumer per channel.
	s.fanout = arifanout.New(arifanout.Config{}, s.store, s.res.Mappings, s.logger)
	for _, p := range s.channels {
		if err := s.fanout.AddChannel(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.fanout.AddConsumers(bb); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { bb.Run(runCtx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			bb.Close()
		})
	}
	t.Cleanup(stop)
	select {
	case <-bb.Running():
	case <-time.After(60 * time.Second):
		t.Fatal("the backbone did not start")
	}
	return stop
}

// gate holds a simulator's ARI requests while it is shut.
type gate struct {
	mu   sync.Mutex
	shut chan struct{} // nil while open
	held int           // requests waiting at the gate now
}

// holding returns how many requests wait at the gate.
func (g *gate) holding() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut == nil {
		g.shut = make(chan struct{})
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut != nil {
		close(g.shut)
		g.shut = nil
	}
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/ari") {
			h.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		shut := g.shut
		if shut != nil {
			g.held++
		}
		g.mu.Unlock()
		if shut != nil {
			select {
			case <-shut:
			case <-r.Context().Done():
			}
			g.mu.Lock()
			g.held--
			g.mu.Unlock()
			if r.Context().Err() != nil {
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// eventually polls cond until it holds or the deadline passes. The
// deadline only bounds a hang: it is longer than the one-minute rebalance
// timeout the backbone gives a consumer group, which a consumer starved
// of CPU on a loaded machine may use up before it is handed messages again.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// believes reports whether every channel believes DBL has n units left on each night.
func (s *stack) believes(n int, nights ...string) bool {
	for _, night := range nights {
		for name, state := range map[string]*channelsim.ARIState{ota.Name: s.otaSim.ARI, bookingcom.Name: s.bdcSim.ARI, expedia.Name: s.expSim.ARI} {
			c := channelCodes[name]
			if got, ok := state.Availability(c[0], c[1], date(night)); !ok || got != n {
				return false
			}
		}
	}
	return true
}

func otaBooking(id string) *canonical.Reservation {
	s := canonical.RoomStay{RoomType: "DBL-SEA", RatePlan: "FLEX", Arrival: date("2027-04-10"), Departure: date("2027-04-12"), Adults: 2}
	for _, n := range s.Nights() {
		s.NightlyPrices = append(s.NightlyPrices, canonical.NightlyPrice{Date: n, Price: canonical.NewMoney(13200, "EUR")})
	}
	return &canonical.Reservation{PropertyID: "HTL-LIS-01", ExternalID: id, PrimaryGuest: canonical.Guest{GivenName: "Marta", Surname: "Silva"},
		RoomStays: []canonical.RoomStay{s}, Total: canonical.NewMoney(26400, "EUR"),
		CreatedAt: time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC), ModifiedAt: time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func TestBookingsReachEveryChannel(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()

	// A booking from the OTA channel, delivered twice, lowers availability
	// everywhere and is stored once.
	s.otaSim.SetFaults(channelsim.Faults{Duplicates: 1})
	res, err := s.otaSim.Push(ctx, "Commit", otaBooking("OTA-1"))
	if err != nil || res.RS.Success == nil {
		t.Fatalf("push: %+v %v", res, err)
	}
	s.otaSim.SetFaults(channelsim.Faults{})
	eventually(t, "every channel believes 1 DBL left on 10 and 11 April", func() bool { return s.believes(1, "2027-04-10", "2027-04-11") })
	page, err := s.store.List(ctx, reservations.AllProperties, reservations.Filter{Channel: ota.Name})
	if err != nil || len(page.Items) != 1 || page.Items[0].Version != 1 {
		t.Fatalf("the booking delivered twice: %d stored, %v", len(page.Items), err)
	}

	// Booking.com sells the last unit: the room type closes on every channel.
	b := *otaBooking("")
	b.PropertyID, b.RoomStays[0].RoomType, b.RoomStays[0].RatePlan = "1180204", "118020401", "50923412"
	b.RoomStays[0].Departure = date("2027-04-11")
	b.RoomStays[0].NightlyPrices = b.RoomStays[0].NightlyPrices[:1]
	b.Total = canonical.NewMoney(13200, "EUR")
	id := s.bdcSim.Book(b)
	eventually(t, "Booking.com's reservation is acknowledged", func() bool {
		s.bdc.Poll(ctx, s.bdcSink)
		return s.bdcSim.Acknowledged(id)
	})
	eventually(t, "every channel believes DBL is closed on 10 April", func() bool { return s.believes(0, "2027-04-10") && s.believes(1, "2027-04-11") })

	// The OTA channel cancels: its units come back everywhere.
	cancelled := otaBooking("OTA-1")
	cancelled.ModifiedAt = cancelled.ModifiedAt.Add(time.Hour)
	if res, err := s.otaSim.Push(ctx, "Cancel", cancelled); err != nil || res.RS.Success == nil {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	eventually(t, "every channel believes 1 DBL on 10 April and 2 on 11 April", func() bool {
		return s.believes(1, "2027-04-10") && s.believes(2, "2027-04-11")
	})
	if st := s.fanout.Stats(); st[expedia.Name].Pushes == 0 || st[expedia.Name].Refused != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A channel that fails does not hold back the others, and catches up when it recovers.
func TestFailingChannelDoesNotBlockOthers(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	s.expSim.SetFaults(channelsim.Faults{Status: 503, RetryAfter: 1})
	if _, err := s.otaSim.Push(ctx, "Commit", otaBooking("OTA-2")); err != nil {
		t.Fatal(err)
	}
	c := channelCodes[ota.Name]
	eventually(t, "the OTA channel gets the new count", func() bool {
		n, ok := s.otaSim.ARI.Availability(c[0], c[1], date("2027-04-10"))
		return ok && n == 1
	})
	e := channelCodes[expedia.Name]
	if _, ok := s.expSim.ARI.Availability(e[0], e[1], date("2027-04-10")); ok {
		t.Fatal("the failing channel has the count")
	}
	s.expSim.SetFaults(channelsim.Faults{})
	eventually(t, "Expedia catches up", func() bool { return s.believes(1, "2027-04-10", "2027-04-11") })
}

// A channel's permanent refusal is a dead letter with the channel's words,
// not a log line; replayed once the channel accepts again, it is delivered.
func TestChannelRefusalIsDeadLetteredAndReplayable(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	const reason = "Rate plan closed by the channel"
	s.otaSim.SetFaults(channelsim.Faults{RefuseARI: reason})
	t.Cleanup(func() {
		if t.Failed() {
			// What the channel's consumer did, so a failure can be told apart.
			all, err := s.backbone.DeadLetters().List(ctx, router.DeadLetterFilter{Consumer: arifanout.ConsumerName(ota.Name)})
			for _, d := range all {
				t.Logf("dead letter %d: correlation %s, reason %s, attempts %d, status %s, %s", d.ID, d.CorrelationID, d.Reason, d.Attempts, d.Status, d.Error)
			}
			t.Logf("dead letters listed (error %v); fan-out stats %+v", err, s.fanout.Stats())
		}
	})
	if res, err := s.otaSim.Push(ctx, "Commit", otaBooking("OTA-3")); err != nil || res.RS.Success == nil {
		t.Fatalf("push: %+v %v", res.RS, err)
	}
	var dead []router.DeadLetter
	eventually(t, "the refusal is dead-lettered", func() bool {
		var err error
		dead, err = s.backbone.DeadLetters().List(ctx, router.DeadLetterFilter{Consumer: arifanout.ConsumerName(ota.Name)})
		return err == nil && len(dead) > 0
	})
	for _, d := range dead {
		if d.Reason != router.ReasonPermanent || !strings.Contains(d.Error, reason) || d.Attempts != 1 {
			t.Fatalf("dead letter %+v: want reason permanent, one attempt and the channel's words", d)
		}
	}
	c := channelCodes[ota.Name]
	if _, ok := s.otaSim.ARI.Availability(c[0], c[1], date("2027-04-10")); ok {
		t.Fatal("the refusing channel holds a count")
	}
	// The other channels were not held back.
	e := channelCodes[expedia.Name]
	eventually(t, "Expedia gets the count", func() bool {
		n, ok := s.expSim.ARI.Availability(e[0], e[1], date("2027-04-10"))
		return ok && n == 1
	})

	// The channel refused the set-up's rates too; replay all it refused,
	// once it accepts again. Its consumer may refuse the booking's change
	// after Expedia took it: the fault stays until it has.
	eventually(t, "the booking's refusal is dead-lettered too", func() bool {
		dead, _ = s.backbone.DeadLetters().List(ctx, router.DeadLetterFilter{Consumer: arifanout.ConsumerName(ota.Name)})
		for _, d := range dead {
			if strings.HasPrefix(d.CorrelationID, "otasim-") {
				return true
			}
		}
		return false
	})
	s.otaSim.SetFaults(channelsim.Faults{})
	if _, err := s.backbone.DeadLetters().ReplayMatching(ctx, router.DeadLetterFilter{Consumer: arifanout.ConsumerName(ota.Name)}, "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replayed update reaches the channel", func() bool {
		n, ok := s.otaSim.ARI.Availability(c[0], c[1], date("2027-04-10"))
		return ok && n == 1
	})
	eventually(t, "the dead letters are resolved", func() bool {
		for _, d := range dead {
			if got, err := s.backbone.DeadLetters().Get(ctx, d.ID); err != nil || got.Status != router.DeadLetterResolved {
				return false
			}
		}
		return true
	})
}

func TestResync(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	res := connectors.NewResources(pool, nil)
	c := channelCodes[expedia.Name]
	res.Mappings.Replace(ctx, expedia.Name, []connectors.Mapping{
		{Kind: connectors.KindProperty, Partner: c[0], Roomwire: "LIS"},
		{Kind: connectors.KindRoomType, Property: "LIS", Partner: c[1], Roomwire: "DBL"},
		{Kind: connectors.KindRatePlan, Property: "LIS", Partner: c[2], Roomwire: "FLEX-DBL"},
	})
	store := reservations.New(pool)
	store.PutProperty(ctx, lisbon)
	store.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{{RatePlan: "FLEX-DBL", From: date("2027-04-01"), To: date("2027-04-30"), Rate: canonical.Rate{Price: canonical.NewMoney(12000, "EUR")}}})
	b := canonical.ChannelBooking{Connector: "direct", Action: canonical.ChannelNew, Reservation: canonical.Reservation{PropertyID: "LIS", Channel: "direct", ExternalID: "X1",
		PrimaryGuest: canonical.Guest{Surname: "Ng"}, Total: canonical.NewMoney(0, "EUR"), RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: date("2027-04-10"), Departure: date("2027-04-12"), Adults: 1}}}}
	if _, _, err := store.ApplyChannelBooking(ctx, b); err != nil {
		t.Fatal(err)
	}
	sim := expediasim.New(expediasim.Config{Username: "roomwire", Password: secret})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	conn, _ := expedia.New(expedia.Config{APIURL: srv.URL, Username: "roomwire", Password: secret, HotelIDs: []string{c[0]}, HTTP: fastHTTP}, res)
	defer conn.Close()
	u, err := arifanout.Resync(ctx, store, res.Mappings, nil, conn, "LIS", date("2027-04-09"), date("2027-04-12"))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Availability) == 0 {
		t.Fatal("nothing read")
	}
	for night, want := range map[string]int{"2027-04-09": 2, "2027-04-10": 1, "2027-04-11": 1, "2027-04-12": 2} {
		if n, _ := sim.ARI.Availability(c[0], c[1], date(night)); n != want {
			t.Errorf("%s: %d, want %d", night, n, want)
		}
	}
	if p, _ := sim.ARI.Rate(c[0], c[1], c[2], date("2027-04-12")); p.Minor != 12000 {
		t.Errorf("rate %s", p)
	}
}

// BenchmarkBookingToChannel measures the time from a booking's commit in the
// store to the Expedia simulator holding the new count, through the outbox
// relay, Kafka, the fan-out's consumer, its coalescing window (100 ms) and
// the push. Each iteration books and then cancels one room, and reports the
// latencies' p50, p95 and max.
func BenchmarkBookingToChannel(b *testing.B) {
	s := newStack(b)
	ctx := context.Background()
	e := channelCodes[expedia.Name]
	var lat []time.Duration
	wait := func(night canonical.Date, want int, t0 time.Time) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			ch := s.expSim.ARI.Changed()
			if n, ok := s.expSim.ARI.Availability(e[0], e[1], night); ok && n == want {
				lat = append(lat, time.Since(t0))
				return
			}
			select {
			case <-ch:
			case <-time.After(time.Until(deadline)):
				b.Fatalf("the channel never saw %d on %s", want, night)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		night := date("2027-06-01").AddDays(i % 300)
		r := canonical.Reservation{PropertyID: "LIS", Channel: "direct", ExternalID: "bench-" + night.String() + "-" + time.Now().Format("150405.000000"),
			PrimaryGuest: canonical.Guest{Surname: "Bench"}, Total: canonical.NewMoney(0, "EUR"),
			RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: night, Departure: night.AddDays(1), Adults: 1}}}
		if _, _, err := s.store.ApplyChannelBooking(ctx, canonical.ChannelBooking{Connector: "direct", Action: canonical.ChannelNew, Reservation: r}); err != nil {
			b.Fatal(err)
		}
		wait(night, 1, time.Now())
		t0 := time.Now()
		if _, _, err := s.store.ApplyChannelBooking(ctx, canonical.ChannelBooking{Connector: "direct", Action: canonical.ChannelCancel, Reservation: r}); err != nil {
			b.Fatal(err)
		}
		wait(night, 2, t0)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Milliseconds()) }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(1), "max-ms")
}

func yes() *bool        { v := true; return &v }
func no() *bool         { v := false; return &v }
func nights(n int) *int { return &n }

func restrict(plan, from, to string, set func(*canonical.RestrictionsUpdate)) reservations.RestrictionChange {
	c := reservations.RestrictionChange{RestrictionsUpdate: canonical.RestrictionsUpdate{RoomType: "DBL", RatePlan: plan, From: date(from), To: date(to)}}
	set(&c.RestrictionsUpdate)
	return c
}

// TestRestrictionsDerivedPlansAndRulesReachChannels follows a hotel's ARI
// to every channel: restrictions, prices by occupancy, a derived plan that
// follows its parent (as computed prices), and an availability rule that
// only one channel is told.
func TestRestrictionsDerivedPlansAndRulesReachChannels(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	withNR := lisbon
	withNR.RatePlans = append(append([]reservations.RatePlan(nil), lisbon.RatePlans...),
		reservations.RatePlan{Code: "NR-DBL", RoomType: "DBL", Name: "Non-refundable", Derived: &canonical.Derivation{Parent: "FLEX-DBL", Percent: "-10", InheritRestrictions: true}})
	if _, err := s.store.PutProperty(ctx, withNR); err != nil {
		t.Fatal(err)
	}
	o := channelCodes[ota.Name]
	if err := s.res.Mappings.Replace(ctx, ota.Name, []connectors.Mapping{
		{Kind: connectors.KindProperty, Partner: o[0], Roomwire: "LIS"},
		{Kind: connectors.KindRoomType, Property: "LIS", Partner: o[1], Roomwire: "DBL"},
		{Kind: connectors.KindRatePlan, Property: "LIS", Partner: o[2], Roomwire: "FLEX-DBL"},
		{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "NR", Roomwire: "NR-DBL"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.PutRestrictions(ctx, reservations.AllProperties, "LIS", []reservations.RestrictionChange{
		restrict("FLEX-DBL", "2027-05-10", "2027-05-10", func(u *canonical.RestrictionsUpdate) { u.StopSell = yes() }),
		restrict("", "2027-05-12", "2027-05-12", func(u *canonical.RestrictionsUpdate) { u.MinStay = nights(3) }),
	}); err != nil {
		t.Fatal(err)
	}
	sims := map[string]*channelsim.ARIState{ota.Name: s.otaSim.ARI, bookingcom.Name: s.bdcSim.ARI, expedia.Name: s.expSim.ARI}
	eventually(t, "every channel holds the stop sell and the minimum stay", func() bool {
		for name, state := range sims {
			c := channelCodes[name]
			stop, _ := state.Restriction(c[0], c[1], c[2], date("2027-05-10"))
			minStay, _ := state.Restriction(c[0], c[1], c[2], date("2027-05-12"))
			if !stop.StopSell || minStay.MinStay != 3 || minStay.StopSell {
				return false
			}
		}
		// The derived plan inherits its parent's restrictions.
		nr, _ := s.otaSim.ARI.Restriction(o[0], o[1], "NR", date("2027-05-10"))
		return nr.StopSell
	})
	eur := func(m int64) canonical.Money { return canonical.NewMoney(m, "EUR") }
	rate := canonical.Rate{Price: eur(13000), Occupancy: []canonical.OccupancyPrice{{Adults: 1, Price: eur(10000)}, {Adults: 2, Price: eur(13000)}}}
	if err := s.store.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{{RatePlan: "FLEX-DBL", From: date("2027-05-01"), To: date("2027-05-05"), Rate: rate}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "prices by occupancy reach the channels, and the derived plan follows its parent", func() bool {
		for name, state := range sims {
			c := channelCodes[name]
			if got, _ := state.FullRate(c[0], c[1], c[2], date("2027-05-03")); len(got.Occupancy) != 2 || got.Occupancy[0].Price != eur(10000) {
				return false
			}
		}
		nr, _ := s.otaSim.ARI.FullRate(o[0], o[1], "NR", date("2027-05-03"))
		return len(nr.Occupancy) == 2 && nr.Occupancy[0].Price == eur(9000) && nr.Occupancy[1].Price == eur(11700)
	})
	// One channel's rule: Expedia is told of one unit at most.
	one := 1
	if err := s.store.PutChannelRules(ctx, reservations.AllProperties, "LIS", expedia.Name, canonical.ChannelRules{{RoomType: "DBL", MaxAvailability: &one}}); err != nil {
		t.Fatal(err)
	}
	e := channelCodes[expedia.Name]
	eventually(t, "Expedia is told of one unit", func() bool {
		n, _ := s.expSim.ARI.Availability(e[0], e[1], date("2027-05-20"))
		return n == 1
	})
	// The rule's update was for Expedia alone.
	if m, ok := s.otaSim.ARI.Availability(o[0], o[1], date("2027-05-20")); ok && m != 2 {
		t.Errorf("the OpenTravel channel is told of %d units", m)
	}
}

// BenchmarkCloseOutWithRestrictions measures the time from a stop sell's
// commit in the store to the OpenTravel simulator holding it, with a
// minimum-stay change and a price change of other nights in the mix before
// each close-out, and its lifting after. It reports the close-outs' p50,
// p95 and max.
func BenchmarkCloseOutWithRestrictions(b *testing.B) {
	s := newStack(b)
	ctx := context.Background()
	o := channelCodes[ota.Name]
	var lat []time.Duration
	wait := func(night canonical.Date, closed bool, t0 time.Time) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			ch := s.otaSim.ARI.Changed()
			if r, ok := s.otaSim.ARI.Restriction(o[0], o[1], o[2], night); ok && r.StopSell == closed {
				lat = append(lat, time.Since(t0))
				return
			}
			select {
			case <-ch:
			case <-time.After(time.Until(deadline)):
				b.Fatalf("the channel never saw stop_sell %v on %s", closed, night)
			}
		}
	}
	put := func(changes ...reservations.RestrictionChange) {
		if err := s.store.PutRestrictions(ctx, reservations.AllProperties, "LIS", changes); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		night := date("2027-06-01").AddDays(i % 300)
		n := night.String()
		other := night.AddDays(1).String()
		put(restrict("FLEX-DBL", other, other, func(u *canonical.RestrictionsUpdate) { u.MinStay = nights(2 + i%3) }))
		if err := s.store.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{{RatePlan: "FLEX-DBL", From: date(other), To: date(other),
			Rate: canonical.Rate{Price: canonical.NewMoney(int64(12000+i%50), "EUR")}}}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		put(restrict("FLEX-DBL", n, n, func(u *canonical.RestrictionsUpdate) { u.StopSell = yes() }))
		wait(night, true, t0)
		t1 := time.Now()
		put(restrict("FLEX-DBL", n, n, func(u *canonical.RestrictionsUpdate) { u.StopSell = no() }))
		wait(night, false, t1)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(1), "max-ms")
}
