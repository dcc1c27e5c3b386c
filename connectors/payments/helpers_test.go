package payments_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/adyen"
	"github.com/roomwire/roomwire/connectors/adyen/adyensim"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/connectors/stripe"
	"github.com/roomwire/roomwire/connectors/stripe/stripesim"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Credentials of the simulated accounts; the PCI checks look for them too.
const (
	stripeKey     = "sk_test_roomwire_flow_51Hx"
	stripeWebhook = "whsec_roomwire_flow_test"
	adyenKey      = "AQE_roomwire_flow_test_key"
	adyenMerchant = "RoomwireDemoECOM"
	adyenHMACHex  = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
)

// gatewayCase is one gateway under test: a good and a declined token.
type gatewayCase struct {
	name            string
	token, declined string
}

var gatewayCases = []gatewayCase{
	{"stripe", "pm_roomwire_visa_ok", "pm_card_chargeDeclined"},
	{"adyen", "guest-42:stored_visa_ok", "refused_card"},
}

var fastHTTP = connectors.HTTPConfig{Timeout: time.Second, RetryMax: 2, RetryWaitMin: 5 * time.Millisecond,
	RetryWaitMax: 20 * time.Millisecond}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// world is a store, the payment flow with one gateway against its
// simulator, and the gateway's webhook receiver the simulator calls back.
type world struct {
	t      *testing.T
	gc     gatewayCase
	pool   *pgxpool.Pool
	store  *reservations.Store
	svc    *payments.Service
	gw     payments.Gateway
	out    connectors.Outbound
	sim    *gatewaysim.Core
	hook   *httptest.Server
	logs   *syncBuffer
	logger *slog.Logger

	mu    sync.Mutex
	clock time.Time // zero: real time
	last  int64     // the last outbox row pumped
}

func (w *world) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.clock.IsZero() {
		return time.Now()
	}
	return w.clock
}

func (w *world) setClock(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = t
}

func newWorld(t *testing.T, gc gatewayCase, pool *pgxpool.Pool, logs *syncBuffer) *world {
	t.Helper()
	if pool == nil {
		pool = pgtest.Pool(t)
	}
	if logs == nil {
		logs = &syncBuffer{}
	}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := &world{t: t, gc: gc, pool: pool, store: reservations.New(pool), logs: logs, logger: logger}
	ctx := context.Background()
	if _, err := w.store.PutProperty(ctx, lisbon); err != nil {
		t.Fatal(err)
	}
	svc, err := payments.New(payments.Config{DefaultGateway: gc.name, Now: w.now}, w.store, logger)
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	// The receiver is built before the gateway it serves, because the
	// simulator needs its URL.
	var recv connectors.WebhookReceiver
	w.hook = httptest.NewServer(handlerFunc(func() connectors.WebhookReceiver { return recv }))
	t.Cleanup(w.hook.Close)
	res := connectors.NewResources(pool, logger)
	switch gc.name {
	case "stripe":
		sim := stripesim.New(stripesim.Config{SecretKey: stripeKey, WebhookSecret: stripeWebhook, WebhookURL: w.hook.URL + "/webhooks",
			Sim: gatewaysim.Config{Logger: logger, Now: w.now}})
		api := httptest.NewServer(sim)
		t.Cleanup(api.Close)
		conn, err := stripe.New(stripe.Config{APIURL: api.URL, SecretKey: stripeKey, WebhookSecret: stripeWebhook, HTTPSettings: connectors.HTTPSettings{HTTP: fastHTTP}}, res)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		w.gw, w.sim, recv = conn, sim.Core, conn
	case "adyen":
		key, _ := hex.DecodeString(adyenHMACHex)
		sim := adyensim.New(adyensim.Config{APIKey: adyenKey, MerchantAccount: adyenMerchant, HMACKey: key,
			WebhookURL: w.hook.URL + "/notifications", Sim: gatewaysim.Config{Logger: logger, Now: w.now}})
		api := httptest.NewServer(sim)
		t.Cleanup(api.Close)
		conn, err := adyen.New(adyen.Config{APIURL: api.URL, APIKey: adyenKey, MerchantAccount: adyenMerchant, HMACKey: adyenHMACHex, HTTPSettings: connectors.HTTPSettings{HTTP: fastHTTP, Now: w.now}}, res)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		w.gw, w.sim, recv = conn, sim.Core, conn
	}
	t.Cleanup(w.sim.WaitWebhooks)
	if err := svc.AddGateway(w.gw); err != nil {
		t.Fatal(err)
	}
	w.out = w.gw.(connectors.Outbound)
	return w
}

// handlerFunc serves the receiver get returns once it exists.
type handlerFunc func() connectors.WebhookReceiver

func (f handlerFunc) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if recv := f(); recv != nil {
		recv.Webhook(nil).ServeHTTP(rw, r)
		return
	}
	rw.WriteHeader(503)
}

// lisbon has one room type and rate plans with each policy under test.
var lisbon = reservations.Property{
	ID: "LIS", Name: "Roomwire Lisboa", Timezone: "Europe/Lisbon", Currency: "EUR",
	RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 20}},
	RatePlans: []reservations.RatePlan{
		{Code: "FLEX", RoomType: "DBL", Name: "Flexible", Policy: canonical.RatePolicy{FreeCancellationDays: 2}},
		{Code: "CHECKOUT", RoomType: "DBL", Name: "Pay at departure", Policy: canonical.RatePolicy{FreeCancellationDays: 2, Capture: canonical.CaptureAtCheckOut}},
		{Code: "NONREF", RoomType: "DBL", Name: "Non-refundable", Policy: canonical.RatePolicy{NonRefundable: true}},
		{Code: "PREPAID", RoomType: "DBL", Name: "Prepaid, refundable", Policy: canonical.RatePolicy{FreeCancellationDays: 2, Capture: canonical.CaptureAtBooking}},
		{Code: "HALFNOSHOW", RoomType: "DBL", Name: "Half the total for a no-show", Policy: canonical.RatePolicy{FreeCancellationDays: 2, NoShowFee: canonical.FeePercent, NoShowFeePercent: 50}},
		{Code: "FREENOSHOW", RoomType: "DBL", Name: "No fee for a no-show", Policy: canonical.RatePolicy{NoShowFee: canonical.FeeNone}},
	},
}

// today is the date in Lisbon.
func today() canonical.Date {
	loc, _ := time.LoadLocation("Europe/Lisbon")
	return canonical.DateOf(time.Now().In(loc))
}

const nightPrice = 14300 // 143.00 EUR

// book creates a reservation of nights nights at plan, arriving in days
// days, guaranteed by token ("" for no guarantee).
func (w *world) book(plan string, days, nights int, token string) *canonical.Reservation {
	w.t.Helper()
	arrival := today().AddDays(days)
	stay := canonical.RoomStay{RoomType: "DBL", RatePlan: plan, Arrival: arrival, Departure: arrival.AddDays(nights), Adults: 2}
	for i := 0; i < nights; i++ {
		stay.NightlyPrices = append(stay.NightlyPrices, canonical.NightlyPrice{Date: arrival.AddDays(i), Price: canonical.NewMoney(nightPrice, "EUR")})
	}
	r := canonical.Reservation{PropertyID: "LIS", PrimaryGuest: canonical.Guest{GivenName: "Marta", Surname: "Silva", Email: "marta@example.com"},
		RoomStays: []canonical.RoomStay{stay}}
	if token != "" {
		r.Guarantee = &canonical.Guarantee{Type: "card", CardToken: token, CardMask: "4111XXXXXXXX1111", CardBrand: "VI", CardExpiry: "0330", HolderName: "Marta Silva"}
	}
	res, err := w.store.Create(context.Background(), reservations.AllProperties, reservations.CreateRequest{Reservation: r})
	if err != nil {
		w.t.Fatalf("book: %v", err)
	}
	return res.Reservation
}

// update changes a reservation in the store.
func (w *world) update(id string, fn func(*canonical.Reservation)) *canonical.Reservation {
	w.t.Helper()
	r, err := w.store.Update(context.Background(), reservations.AllProperties, id, reservations.UpdateOptions{},
		func(r *canonical.Reservation) error { fn(r); return nil })
	if err != nil {
		w.t.Fatalf("update: %v", err)
	}
	return r
}

// pump hands every reservation event written to the outbox since the last
// pump to the gateway's consumer, times times each (as redeliveries would),
// retrying retryable failures, until no new event appears.
func (w *world) pump(times int) {
	w.t.Helper()
	for round := 0; round < 10; round++ {
		var batch []pgtest.OutboxEvent
		for _, r := range pgtest.Outbox(w.t, w.pool, pgtest.OutboxQuery{Topic: canonical.TopicReservationEvents}) {
			if r.ID > w.last {
				batch = append(batch, r)
			}
		}
		if len(batch) == 0 {
			return
		}
		for _, r := range batch {
			w.last = r.ID
			for i := 0; i < times; i++ {
				w.deliver(r.Event)
			}
		}
	}
	w.t.Fatal("events kept coming after 10 rounds")
}

func (w *world) deliver(ev canonical.Event) {
	w.t.Helper()
	for attempt := 0; ; attempt++ {
		err := w.out.HandleEvent(context.Background(), ev)
		if err == nil {
			return
		}
		if connectors.ClassOf(err) != connectors.ClassRetryable || attempt > 40 {
			w.t.Fatalf("%s of %s: %v", ev.Type, ev.Reservation.ID, err)
		}
	}
}

// state returns the payment of a reservation (failing when there is none).
func (w *world) state(id string) *reservations.PaymentState {
	w.t.Helper()
	st, err := w.svc.Payment(context.Background(), id)
	if err != nil || st == nil {
		w.t.Fatalf("payment of %s: %v %v", id, st, err)
	}
	return st
}

// paymentEvents returns the payment events of a reservation in the outbox.
func (w *world) paymentEvents(id string) []canonical.Event {
	w.t.Helper()
	var out []canonical.Event
	for _, r := range pgtest.Outbox(w.t, w.pool, pgtest.OutboxQuery{Topic: canonical.TopicPaymentEvents}) {
		if r.Event.Payment != nil && r.Event.Payment.ReservationID == id {
			out = append(out, r.Event)
		}
	}
	return out
}

func eventTypes(evs []canonical.Event) []canonical.EventType {
	var out []canonical.EventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func (w *world) reservation(id string) *canonical.Reservation {
	w.t.Helper()
	r, err := w.store.Get(context.Background(), reservations.AllProperties, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// count runs a count query.
func (w *world) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
