package stripe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/connectors/stripe"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestVerifySignature(t *testing.T) {
	body := fixture(t, "webhook.payment_intent.amount_capturable_updated.json")
	now := time.Unix(1804064100, 0)
	good := stripe.Sign(webhookSecret, now, body)
	ts := strings.Split(good, ",")[0]
	other := stripe.Sign("whsec_other", now, body)
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		at     time.Time
		ok     bool
	}{
		{"valid", good, body, now, true},
		{"valid, 299 s old", good, body, now.Add(299 * time.Second), true},
		{"several v1, one valid", other + "," + strings.Split(good, ",")[1] + ",v0=abc", body, now, true},
		{"stale", good, body, now.Add(301 * time.Second), false},
		{"from the future", good, body, now.Add(-301 * time.Second), false},
		{"tampered body", good, bytes.Replace(body, []byte("28600"), []byte("28601"), 1), now, false},
		{"other secret", other, body, now, false},
		{"no v1", ts, body, now, false},
		{"no timestamp", strings.Split(good, ",")[1], body, now, false},
		{"two timestamps", ts + "," + good, body, now, false},
		{"garbage", "t=abc,v1=zz", body, now, false},
		{"empty", "", body, now, false},
	} {
		err := stripe.VerifySignature(tc.header, tc.body, webhookSecret, stripe.DefaultTolerance, tc.at)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), webhookSecret) {
			t.Errorf("%s: the error holds the secret", tc.name)
		}
	}
}

func TestParseEvent(t *testing.T) {
	n, err := stripe.ParseEvent(fixture(t, "webhook.payment_intent.amount_capturable_updated.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := payments.Notification{ID: "evt_1R2xYzAbCdEfGh", Kind: payments.KindAuthorized, EventCode: "payment_intent.amount_capturable_updated",
		Reference: "pi_3R2xYzAbCdEfGh", MerchantReference: "RW-7KQ2-9XD4", Success: true, Amount: canonical.NewMoney(28600, "EUR"),
		OccurredAt: time.Unix(1804064100, 0).UTC()}
	if n != want {
		t.Errorf("ParseEvent =\n%+v, want\n%+v", n, want)
	}
}

// TestRefusedWebhookChangesNothing sends Stripe's notice that a hold lapsed
// (a canceled payment intent, cancellation_reason automatic) tampered and
// stale: each gets 400 and nothing changes. Signed and fresh, it expires the
// payment and flags the reservation.
func TestRefusedWebhookChangesNothing(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	store := reservations.New(pool)
	if _, err := store.PutProperty(ctx, reservations.Property{ID: "LIS", Name: "Lisboa", Timezone: "Europe/Lisbon", Currency: "EUR",
		RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 5}},
		RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	conn, _ := harness(t, connectors.NewResources(pool, slog.New(slog.DiscardHandler)), func() time.Time { return now })
	svc, err := payments.New(payments.Config{DefaultGateway: stripe.Name}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddGateway(conn); err != nil {
		t.Fatal(err)
	}
	arrival := canonical.DateOf(now).AddDays(40)
	res, err := store.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: canonical.Reservation{
		PropertyID: "LIS", PrimaryGuest: canonical.Guest{GivenName: "Ana", Surname: "Reis"},
		RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX", Arrival: arrival, Departure: arrival.AddDays(1), Adults: 1,
			NightlyPrices: []canonical.NightlyPrice{{Date: arrival, Price: canonical.NewMoney(28600, "EUR")}}}},
		Guarantee: &canonical.Guarantee{Type: "card", CardToken: "pm_roomwire_ok", CardMask: "4242XXXXXXXX4242"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Reservation
	if err := conn.HandleEvent(ctx, canonical.Event{ID: "e1", Type: canonical.EventReservationCreated, PropertyID: "LIS", OccurredAt: now, Reservation: r}); err != nil {
		t.Fatal(err)
	}
	st, _ := svc.Payment(ctx, r.ID)
	if st == nil || st.Status != canonical.PaymentAuthorized {
		t.Fatalf("payment %+v", st)
	}

	srv := httptest.NewServer(conn.Webhook(nil))
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"id": "evt_lapsed_1", "object": "event", "type": "payment_intent.canceled", "created": now.Unix(),
		"data": map[string]any{"object": map[string]any{"id": st.Reference, "object": "payment_intent", "amount": 28600, "currency": "eur",
			"status": "canceled", "cancellation_reason": "automatic", "metadata": map[string]string{"roomwire_reservation": r.ID}}}})
	snapshot := func() string {
		var s string
		err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM payment_notifications)::text || '/' ||
			(SELECT count(*) FROM payment_transitions)::text || '/' || (SELECT count(*) FROM outbox)::text || '/' ||
			(SELECT status || version FROM payments)`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	post := func(sig string, b []byte) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks", bytes.NewReader(b))
		req.Header.Set(stripe.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	before := snapshot()
	for name, tc := range map[string]struct {
		sig  string
		body []byte
	}{
		"tampered":  {stripe.Sign(webhookSecret, now, body), bytes.Replace(body, []byte("automatic"), []byte("automatiC"), 1)},
		"stale":     {stripe.Sign(webhookSecret, now.Add(-10*time.Minute), body), body},
		"wrong key": {stripe.Sign("whsec_guess", now, body), body},
		"unsigned":  {"", body},
	} {
		if got := post(tc.sig, tc.body); got != http.StatusBadRequest {
			t.Errorf("%s: answered %d, want 400", name, got)
		}
	}
	if after := snapshot(); after != before {
		t.Fatalf("refused webhooks changed the database: %s, was %s", after, before)
	}
	if got := post(stripe.Sign(webhookSecret, now, body), body); got != http.StatusOK {
		t.Fatalf("signed webhook answered %d", got)
	}
	st, _ = svc.Payment(ctx, r.ID)
	if st.Status != canonical.PaymentExpired || !st.Declined {
		t.Errorf("after Stripe's notice of a lapsed hold: %+v", st)
	}
	got, _ := store.Get(ctx, reservations.AllProperties, r.ID)
	if !got.HasFlag(canonical.FlagPaymentDeclined) {
		t.Error("the reservation is not flagged")
	}
}
