package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/connectors/notify/smssim"
	"github.com/roomwire/roomwire/connectors/notify/smtpsim"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/reservations/pgtest"
	"github.com/roomwire/roomwire/router"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const adminKey = "admin-key-for-notify-tests"

func testLogger() *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// receiver is a subscriber's endpoint: it keeps what it is sent and
// answers with status.
type receiver struct {
	mu       sync.Mutex
	status   int
	requests []received
	srv      *httptest.Server
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, received{req.Header.Clone(), b})
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

type stack struct {
	t        *testing.T
	pool     *pgxpool.Pool
	store    *reservations.Store
	api      *httptest.Server
	smtp     *smtpsim.Server
	sms      *smssim.Server
	lisKey   string
	backbone *router.Backbone
}

// stackOptions vary the stack for one test.
type stackOptions struct {
	breakerFailures int
	unhealthyAfter  time.Duration
	// consumers adds the test's own consumers (partners) to the backbone.
	consumers func(bb *router.Backbone) error
}

func newStack(t *testing.T, opts ...stackOptions) *stack {
	t.Helper()
	o := stackOptions{breakerFailures: 100}
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	logger := testLogger()
	pool := pgtest.Pool(t)
	store := reservations.New(pool)
	for _, p := range []reservations.Property{
		{ID: "LIS", Name: "Lisbon Riverside", Timezone: "Europe/Lisbon", Currency: "EUR",
			RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 20}},
			RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}}},
		{ID: "OPO", Name: "Porto Lofts", Timezone: "Europe/Lisbon", Currency: "EUR",
			RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 20}},
			RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}}},
	} {
		if _, err := store.PutProperty(ctx, p); err != nil {
			t.Fatal(err)
		}
		from, _ := canonical.ParseDate("2027-01-01")
		to, _ := canonical.ParseDate("2027-12-31")
		if err := store.PutRates(ctx, reservations.AllProperties, p.ID, []reservations.RateUpdate{
			{RatePlan: "FLEX", From: from, To: to, Rate: canonical.Rate{Price: canonical.NewMoney(14000, "EUR")}}}); err != nil {
			t.Fatal(err)
		}
	}
	_, lisKey, err := store.CreateAPIKey(ctx, "lisbon integrator", []string{"LIS"})
	if err != nil {
		t.Fatal(err)
	}
	smtp, err := smtpsim.Start("127.0.0.1:0", smtpsim.Options{Users: map[string]string{"roomwire": "relay-password"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	sms, err := smssim.Start("127.0.0.1:0", "sms-token")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sms.Close() })

	broker, err := router.StartEmbeddedBroker(t.TempDir(), logger, router.WithDefaultPartitions(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	bb, err := router.New(router.Config{
		Kafka:          router.KafkaConfig{Brokers: broker.Addrs(), ClientID: "roomwire-test"},
		Topics:         router.TopicsConfig{Partitions: 2},
		Retry:          router.RetryConfig{MaxRetries: 2, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond},
		Relay:          router.RelayConfig{PollInterval: 100 * time.Millisecond, RetryInterval: 100 * time.Millisecond},
		Breaker:        router.BreakerConfig{ConsecutiveFailures: uint32(o.breakerFailures), OpenTimeout: time.Minute},
		HandlerTimeout: 10 * time.Second, ParkedRetryInterval: 100 * time.Millisecond, CloseTimeout: 10 * time.Second,
	}, pool, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{
		Webhooks: notify.WebhooksConfig{Targets: notify.TargetPolicy{AllowPrivate: true, AllowHTTP: true},
			Timeout: 5 * time.Second, DisableAfterFailures: 3, DisableAfter: time.Millisecond, UnhealthyAfter: o.unhealthyAfter},
		Email: notify.EmailConfig{Host: smtp.Host(), Port: smtp.Port(), Username: "roomwire", Password: "relay-password",
			RootCAs: smtp.CertPool(), From: "Roomwire <bookings@roomwire.test>"},
		SMS: notify.SMSConfig{Provider: "webhook", URL: sms.URL(), Token: "sms-token"},
	}, store, pool, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.AddConsumers(bb); err != nil {
		t.Fatal(err)
	}
	if o.consumers != nil {
		if err := o.consumers(bb); err != nil {
			t.Fatal(err)
		}
	}
	api, err := bookingapi.New(bookingapi.Config{AdminKey: adminKey}, store, logger)
	if err != nil {
		t.Fatal(err)
	}
	n.Mount(api)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); bb.Run(runCtx) }() //nolint:errcheck // ends with the test
	go n.Run(runCtx)                                  //nolint:errcheck // ends with the test
	t.Cleanup(func() { cancel(); <-done; bb.Close() })
	select {
	case <-bb.Running():
	case <-time.After(30 * time.Second):
		t.Fatal("backbone did not start")
	}
	return &stack{t: t, pool: pool, store: store, api: srv, smtp: smtp, sms: sms, lisKey: lisKey, backbone: bb}
}

// call sends a JSON request with key and decodes the answer into out.
func (s *stack) call(method, path, key string, body any, out any) int {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.api.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func (s *stack) book(property, email, phone string) canonical.Reservation {
	s.t.Helper()
	var res canonical.Reservation
	st := s.call("POST", "/v1/reservations", adminKey, map[string]any{
		"property_id":   property,
		"primary_guest": map[string]any{"given_name": "Ana", "surname": "Silva", "email": email, "phone": phone},
		"room_stays":    []map[string]any{{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-03-10", "departure": "2027-03-12", "adults": 2}},
	}, &res)
	if st != http.StatusCreated {
		s.t.Fatalf("booking: status %d", st)
	}
	return res
}

// eventually waits for cond, failing the test if it never holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mailsFor(s *smtpsim.Server, conf string) []smtpsim.Message {
	var out []smtpsim.Message
	for _, m := range s.Messages() {
		if strings.Contains(m.Part("text/plain"), conf) {
			out = append(out, m)
		}
	}
	return out
}

func TestWebhooksAndEmail(t *testing.T) {
	s := newStack(t)
	hook := newReceiver(t, http.StatusOK)

	// A key for LIS may not subscribe to OPO, nor to an unknown event.
	var problem bookingapi.Problem
	if st := s.call("POST", "/v1/webhooks", s.lisKey, map[string]any{"url": hook.srv.URL, "events": []string{"reservation.created", "reservation.exploded"},
		"properties": []string{"OPO"}}, &problem); st != http.StatusUnprocessableEntity || len(problem.Errors) != 2 {
		t.Fatalf("bad subscription: status %d, %+v", st, problem)
	}
	var sub struct {
		notify.Subscription
		Secret string `json:"secret"`
	}
	if st := s.call("POST", "/v1/webhooks", s.lisKey, map[string]any{"url": hook.srv.URL + "/roomwire",
		"events": []string{"reservation.created", "reservation.cancelled"}}, &sub); st != http.StatusCreated {
		t.Fatalf("subscribe: status %d", st)
	}
	if !strings.HasPrefix(sub.Secret, "whsec_") || len(sub.Properties) != 1 || sub.Properties[0] != "LIS" {
		t.Fatalf("subscription: %+v", sub)
	}
	if st := s.call("PUT", "/v1/properties/LIS/notifications", s.lisKey, map[string]any{"language": "pt", "hotel_email": "frontdesk@lis.test", "guest_sms": true}, nil); st != http.StatusOK {
		t.Fatalf("settings: status %d", st)
	}
	if st := s.call("PUT", "/v1/properties/OPO/notifications", s.lisKey, map[string]any{"language": "pt"}, nil); st != http.StatusForbidden {
		t.Fatalf("settings of another property: status %d, want 403", st)
	}

	res := s.book("LIS", "ana@guest.test", "+351912345678")
	other := s.book("OPO", "rui@guest.test", "")

	eventually(t, "one signed webhook", func() bool { return len(hook.got()) >= 1 })
	got := hook.got()[0]
	if err := notify.Verify(sub.Secret, got.header, got.body, 5*time.Minute, time.Now()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var body notify.Notification
	json.Unmarshal(got.body, &body) //nolint:errcheck // checked below
	var delivered canonical.Reservation
	json.Unmarshal(body.Data, &delivered) //nolint:errcheck // checked below
	if body.Type != "reservation.created" || body.ID != got.header.Get("webhook-id") || delivered.ConfirmationNumber != res.ConfirmationNumber {
		t.Fatalf("webhook body: %+v", body)
	}

	eventually(t, "guest and hotel e-mail", func() bool { return len(mailsFor(s.smtp, res.ConfirmationNumber)) >= 2 })
	eventually(t, "OPO guest e-mail", func() bool { return len(mailsFor(s.smtp, other.ConfirmationNumber)) >= 1 })
	var guestMail smtpsim.Message
	for _, m := range mailsFor(s.smtp, res.ConfirmationNumber) {
		if !m.TLS || m.User != "roomwire" {
			t.Fatalf("e-mail sent without STARTTLS or AUTH: tls %v user %q", m.TLS, m.User)
		}
		if m.To[0] == "ana@guest.test" {
			guestMail = m
		}
	}
	if !strings.Contains(guestMail.Header("Subject"), "confirmada") || guestMail.Header("Content-Language") != "pt" ||
		!strings.Contains(guestMail.Part("text/html"), res.ConfirmationNumber) || !strings.Contains(guestMail.Part("text/plain"), "2027-03-10") {
		t.Fatalf("guest e-mail: subject %q language %q", guestMail.Header("Subject"), guestMail.Header("Content-Language"))
	}
	if m := mailsFor(s.smtp, other.ConfirmationNumber)[0]; !strings.Contains(m.Header("Subject"), "confirmed") {
		t.Fatalf("OPO (default language en) subject: %q", m.Header("Subject"))
	}
	eventually(t, "guest SMS", func() bool { return len(s.sms.Messages()) >= 1 })
	if m := s.sms.Messages()[0]; m.To != "+351912345678" || !strings.Contains(m.Text, res.ConfirmationNumber) {
		t.Fatalf("SMS: %+v", m)
	}

	// A redelivery after a crash that lost every dedup record sends
	// nothing new: the relay publishes the events again and the router
	// hands them to the consumers again.
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `DELETE FROM processed_messages WHERE consumer LIKE 'notify.%'`); err != nil {
		t.Fatal(err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT event_id::text, event_type, payload::text FROM outbox WHERE reservation_id = $1 AND topic = $2`,
		res.ID, router.TopicReservationEvents)
	var again []*message.Message
	for rows.Next() {
		var id, typ, payload string
		if err := rows.Scan(&id, &typ, &payload); err != nil {
			t.Fatal(err)
		}
		m := router.NewMessage(ctx, id, "LIS", []byte(payload))
		m.Metadata.Set(router.MetadataEventType, typ)
		m.Metadata.Set(router.MetadataReservationID, res.ID)
		again = append(again, m)
	}
	if rows.Err() != nil || len(again) == 0 {
		t.Fatalf("outbox: %v, %d events", rows.Err(), len(again))
	}
	if err := s.backbone.Publisher().Publish(router.TopicReservationEvents, again...); err != nil {
		t.Fatal(err)
	}
	eventually(t, "events handled again", func() bool {
		var n int
		s.pool.QueryRow(ctx, `SELECT count(*) FROM processed_messages WHERE consumer = 'notify.email'`).Scan(&n) //nolint:errcheck // polled
		return n >= len(again)
	})
	// A later booking is delivered after the redelivered one (one
	// partition per property), so once it arrives the duplicate would have.
	later := s.book("LIS", "eva@guest.test", "")
	eventually(t, "later booking's webhook", func() bool { return len(hook.got()) >= 2 })
	eventually(t, "later booking's e-mail", func() bool { return len(mailsFor(s.smtp, later.ConfirmationNumber)) >= 2 })
	if n := len(mailsFor(s.smtp, res.ConfirmationNumber)); n != 2 {
		t.Fatalf("%d e-mails for the first booking after a redelivery, want 2", n)
	}
	// A POST answered after the timeout comes again under the same id;
	// a new id would be a second webhook.
	ids := map[string]bool{}
	for _, r := range hook.got() {
		ids[r.header.Get("webhook-id")] = true
	}
	if len(ids) != 2 {
		t.Fatalf("%d webhook ids after a redelivery, want 2", len(ids))
	}
	if n := len(s.sms.Messages()); n != 1 {
		t.Fatalf("%d SMS after a redelivery, want 1", n)
	}

	// The delivery log.
	var log struct{ Deliveries []notify.Delivery }
	if st := s.call("GET", "/v1/webhooks/"+sub.ID+"/deliveries", s.lisKey, nil, &log); st != http.StatusOK || len(log.Deliveries) < 2 || !log.Deliveries[0].Delivered {
		t.Fatalf("delivery log: status %d, %+v", st, log)
	}
	deliveredIDs := map[string]bool{}
	for _, d := range log.Deliveries {
		if d.Delivered {
			if deliveredIDs[d.WebhookID] {
				t.Fatalf("delivery log: %s delivered twice", d.WebhookID)
			}
			deliveredIDs[d.WebhookID] = true
		}
	}
	if len(deliveredIDs) != 2 {
		t.Fatalf("delivery log: %d events delivered, want 2", len(deliveredIDs))
	}

	// A property's own template, checked before it is stored.
	if st := s.call("PUT", "/v1/properties/LIS/templates/guest.confirmation/pt", s.lisKey,
		map[string]any{"subject": "{{.Nope", "text": "x"}, &problem); st != http.StatusUnprocessableEntity {
		t.Fatalf("broken template: status %d", st)
	}
	if st := s.call("PUT", "/v1/properties/LIS/templates/guest.confirmation/pt", s.lisKey,
		map[string]any{"subject": "Olá {{.Guest.GivenName}}, reserva {{.ConfirmationNumber}}", "text": "Reserva {{.ConfirmationNumber}} de {{.Arrival}} a {{.Departure}}."}, nil); st != http.StatusOK {
		t.Fatalf("template: status %d", st)
	}
	third := s.book("LIS", "ines@guest.test", "")
	eventually(t, "e-mail from the property's template", func() bool {
		for _, m := range mailsFor(s.smtp, third.ConfirmationNumber) {
			if m.Header("Subject") == "Olá Ana, reserva "+third.ConfirmationNumber {
				return true
			}
		}
		return false
	})
}

func TestFailingSubscriberIsDisabled(t *testing.T) {
	s := newStack(t)
	broken := newReceiver(t, http.StatusInternalServerError)
	var sub notify.Subscription
	if st := s.call("POST", "/v1/webhooks", adminKey, map[string]any{"url": broken.srv.URL, "events": []string{"reservation.created"}}, &sub); st != http.StatusCreated {
		t.Fatalf("subscribe: status %d", st)
	}
	s.book("LIS", "", "")
	eventually(t, "subscription disabled", func() bool {
		var got notify.Subscription
		s.call("GET", "/v1/webhooks/"+sub.ID, adminKey, nil, &got)
		return got.Status == "disabled" && got.DisabledReason != ""
	})
	// Every attempt carried the same webhook id, and the message waits in
	// the dead letters for a replay.
	ids := map[string]bool{}
	for _, r := range broken.got() {
		ids[r.header.Get("webhook-id")] = true
	}
	if len(ids) != 1 {
		t.Fatalf("webhook ids over retries: %v", ids)
	}
	eventually(t, "dead-lettered", func() bool {
		var n int
		s.pool.QueryRow(context.Background(), `SELECT count(*) FROM dead_letters WHERE consumer = 'notify.webhooks'`).Scan(&n) //nolint:errcheck // polled
		return n == 1
	})
	// Another key cannot see it; deleting it stops deliveries.
	if st := s.call("GET", "/v1/webhooks/"+sub.ID, s.lisKey, nil, nil); st != http.StatusNotFound {
		t.Fatalf("admin subscription seen by a LIS key: status %d", st)
	}
	if st := s.call("DELETE", "/v1/webhooks/"+sub.ID, adminKey, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: status %d", st)
	}
}

// unmappedError is a partner code without a mapping, as the connector SDK
// reports it.
type unmappedError struct{}

func (unmappedError) Error() string  { return "rate code X has no mapping" }
func (unmappedError) Unmapped() bool { return true }

// Operators' events: a partner refusing a booking (delivery.failed), one
// missing a code mapping (booking.unmapped), one down for longer than the
// threshold (channel.unhealthy).
func TestOperatorEvents(t *testing.T) {
	s := newStack(t, stackOptions{breakerFailures: 3, unhealthyAfter: 200 * time.Millisecond,
		consumers: func(bb *router.Backbone) error {
			if err := bb.AddConsumer("outbound.refuses", router.TopicReservationEvents, func(*message.Message) error {
				return router.Permanentf("partner says no")
			}); err != nil {
				return err
			}
			if err := bb.AddConsumer("outbound.unmapped", router.TopicReservationEvents, func(*message.Message) error {
				return unmappedError{}
			}); err != nil {
				return err
			}
			return bb.AddConsumer("outbound.down", router.TopicReservationEvents, func(*message.Message) error {
				return errors.New("partner unreachable")
			}, router.WithConnector("down"))
		}})
	hook := newReceiver(t, http.StatusOK)
	var sub struct {
		notify.Subscription
		Secret string `json:"secret"`
	}
	if st := s.call("POST", "/v1/webhooks", adminKey, map[string]any{"url": hook.srv.URL,
		"events": []string{"delivery.failed", "booking.unmapped", "channel.unhealthy"}}, &sub); st != http.StatusCreated {
		t.Fatalf("subscribe: status %d", st)
	}
	res := s.book("LIS", "", "")

	type seen struct {
		id   string
		data map[string]any
	}
	byType := func() map[string][]seen {
		out := map[string][]seen{}
		for _, r := range hook.got() {
			if err := notify.Verify(sub.Secret, r.header, r.body, 5*time.Minute, time.Now()); err != nil {
				t.Fatalf("signature: %v", err)
			}
			var n notify.Notification
			json.Unmarshal(r.body, &n) //nolint:errcheck // checked by the fields below
			var d map[string]any
			json.Unmarshal(n.Data, &d) //nolint:errcheck // checked by the fields below
			out[n.Type] = append(out[n.Type], seen{n.ID, d})
		}
		return out
	}
	eventually(t, "delivery.failed, booking.unmapped and channel.unhealthy", func() bool {
		got := byType()
		t.Logf("so far: %d delivery.failed, %d booking.unmapped, %d channel.unhealthy", len(got["delivery.failed"]), len(got["booking.unmapped"]), len(got["channel.unhealthy"]))
		return len(got["delivery.failed"]) > 0 && len(got["booking.unmapped"]) > 0 && len(got["channel.unhealthy"]) > 0
	})
	got := byType()
	for _, c := range []struct{ typ, field, want string }{
		{"delivery.failed", "consumer", "outbound.refuses"},
		{"delivery.failed", "reservation_id", res.ID},
		{"booking.unmapped", "consumer", "outbound.unmapped"},
		{"channel.unhealthy", "breaker", "down"},
	} {
		if v := got[c.typ][0].data[c.field]; v != c.want {
			t.Errorf("%s: %s is %v, want %s", c.typ, c.field, v, c.want)
		}
	}
	ids := map[string]bool{}
	for _, x := range got["channel.unhealthy"] {
		ids[x.id] = true
	}
	if len(ids) != 1 {
		t.Errorf("one outage reported under %d ids", len(ids))
	}
}
