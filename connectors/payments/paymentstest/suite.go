// Package paymentstest is the suite every payment gateway connector passes,
// run from the gateway's own tests with the features it declares:
//
//	func TestGateway(t *testing.T) { paymentstest.Run(t, setup) }
//
// It checks the registration (capability payments), every operation against
// the gateway's simulator (authorize, adjust when declared, partial capture,
// void, partial refund), that a declined card is a permanent
// *payments.DeclineError, that 4xx answers are permanent and 429, 5xx and
// timeouts retryable, that repeating a call with one idempotency key
// authorizes once even when the simulator fails after making the change,
// that the webhook receiver stores a signed delivery once and refuses a
// tampered or unsigned one without storing anything, and that no secret or
// card token reaches the log. It needs PostgreSQL (reservations/pgtest); the
// calling package's TestMain must run pgtest.Main.
package paymentstest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// Harness is a gateway connector running against its simulator.
type Harness struct {
	// Gateway is the connector; it must also be a connectors.Outbound and
	// a connectors.WebhookReceiver.
	Gateway payments.Gateway
	// Sim is the simulator's core: faults, holds, counts.
	Sim *gatewaysim.Core
	// Notification returns a delivery the gateway would send about the
	// payment reference, signed as of at.
	Notification func(reference string, at time.Time) (http.Header, []byte)
}

// Setup describes a gateway to the suite.
type Setup struct {
	// Name is the connector's registered name.
	Name string
	// Features are what the gateway declares; the suite checks them.
	Features payments.Features
	// Token is a card token the simulator accepts; DeclinedToken one it
	// declines.
	Token, DeclinedToken string
	// Secrets are the configured credentials, which must appear in no log line.
	Secrets []string
	// Start runs the connector against its simulator with res.
	Start func(t *testing.T, res connectors.Resources) *Harness
}

// Run runs the suite.
func Run(t *testing.T, s Setup) {
	t.Run("Registration", func(t *testing.T) { testRegistration(t, s) })
	t.Run("Operations", func(t *testing.T) { testOperations(t, s) })
	t.Run("Decline", func(t *testing.T) { testDecline(t, s) })
	t.Run("ErrorClasses", func(t *testing.T) { testErrorClasses(t, s) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, s) })
	t.Run("Webhook", func(t *testing.T) { testWebhook(t, s) })
}

func testRegistration(t *testing.T, s Setup) {
	spec, ok := connectors.Lookup(s.Name)
	if !ok {
		t.Fatalf("connector %q is not registered", s.Name)
	}
	if !spec.Has(connectors.CapPayments) {
		t.Errorf("%s does not declare the payments capability", s.Name)
	}
}

// env is a started harness with a captured log.
type env struct {
	h    *Harness
	logs *syncBuffer
	svc  *payments.Service
}

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

func start(t *testing.T, s Setup) *env {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pool := pgtest.Pool(t)
	res := connectors.NewResources(pool, logger)
	h := s.Start(t, res)
	if h.Gateway.Name() != s.Name {
		t.Fatalf("the gateway calls itself %q, want %q", h.Gateway.Name(), s.Name)
	}
	svc, err := payments.New(payments.Config{DefaultGateway: s.Name}, reservations.New(pool), logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddGateway(h.Gateway); err != nil {
		t.Fatal(err)
	}
	e := &env{h: h, logs: logs, svc: svc}
	t.Cleanup(func() {
		h.Sim.WaitWebhooks()
		text := logs.String()
		for _, secret := range append([]string{s.Token, s.DeclinedToken}, s.Secrets...) {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("the log holds the secret or token %q", secret)
			}
		}
		if s, e, ok := canonical.FindCardNumber(text); ok {
			t.Errorf("the log holds a card number: %q", text[max(0, s-80):min(len(text), e+20)])
		}
	})
	return e
}

var reservationSeq = struct {
	sync.Mutex
	n int
}{}

func request(s Setup, op string, amount int64) payments.Request {
	reservationSeq.Lock()
	reservationSeq.n++
	n := reservationSeq.n
	reservationSeq.Unlock()
	id := "0190d5a2-0000-7000-8000-" + strings.Repeat("0", 12-len(itoa(n))) + itoa(n)
	return payments.Request{IdempotencyKey: payments.Key(id, 1, canonical.PaymentOperation(op)), ReservationID: id,
		ConfirmationNumber: "RWTEST" + itoa(n), PropertyID: "LIS", Amount: canonical.NewMoney(amount, "EUR"), CardToken: s.Token}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// then derives the request of a later operation on the same payment.
func then(req payments.Request, ref, op string, amount int64) payments.Request {
	req.IdempotencyKey = payments.Key(req.ReservationID, 1, canonical.PaymentOperation(op))
	req.Reference, req.CardToken = ref, ""
	req.Amount = canonical.NewMoney(amount, "EUR")
	return req
}

func testOperations(t *testing.T, s Setup) {
	e := start(t, s)
	g := e.h.Gateway
	ctx := context.Background()
	if got := g.Features(); got != s.Features {
		t.Errorf("Features() = %+v, the setup declares %+v", got, s.Features)
	}

	req := request(s, "authorize", 30000)
	res, err := g.Authorize(ctx, req)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if res.Reference == "" || res.Amount != req.Amount {
		t.Fatalf("authorize answered %+v", res)
	}
	hold, ok := e.h.Sim.Hold(res.Reference)
	if !ok || hold.Status != gatewaysim.StatusAuthorized || hold.Authorized != 30000 {
		t.Fatalf("the simulator holds %+v after authorize", hold)
	}
	held := int64(30000)
	if s.Features.Adjust {
		if _, err := g.Adjust(ctx, then(req, res.Reference, "adjust", 36000)); err != nil {
			t.Fatalf("adjust: %v", err)
		}
		if h, _ := e.h.Sim.Hold(res.Reference); h.Authorized != 36000 {
			t.Errorf("after adjust the simulator holds %d, want 36000", h.Authorized)
		}
		held = 36000
	} else if _, err := g.Adjust(ctx, then(req, res.Reference, "adjust", 36000)); connectors.ClassOf(err) != connectors.ClassPermanent {
		t.Errorf("adjust on a gateway without the feature: %v, want a permanent error", err)
	}
	capture := held
	if s.Features.PartialCapture {
		capture = 10000
	}
	if _, err := g.Capture(ctx, then(req, res.Reference, "capture", capture)); err != nil {
		t.Fatalf("capture: %v", err)
	}
	if h, _ := e.h.Sim.Hold(res.Reference); h.Status != gatewaysim.StatusCaptured || h.Captured != capture || h.Authorized != 0 {
		t.Errorf("after capturing %d the simulator has %+v (the rest must be released)", capture, h)
	}
	refund := capture
	if s.Features.PartialRefund {
		refund = 4000
	}
	if _, err := g.Refund(ctx, then(req, res.Reference, "refund", refund)); err != nil {
		t.Fatalf("refund: %v", err)
	}
	if h, _ := e.h.Sim.Hold(res.Reference); h.Refunded != refund {
		t.Errorf("after refunding %d the simulator has refunded %d", refund, h.Refunded)
	}

	req2 := request(s, "authorize", 12000)
	res2, err := g.Authorize(ctx, req2)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if _, err := g.Void(ctx, then(req2, res2.Reference, "void", 12000)); err != nil {
		t.Fatalf("void: %v", err)
	}
	if h, _ := e.h.Sim.Hold(res2.Reference); h.Status != gatewaysim.StatusVoided {
		t.Errorf("after void the simulator has %+v", h)
	}
	if _, err := g.Capture(ctx, then(req2, res2.Reference, "capture", 12000)); connectors.ClassOf(err) != connectors.ClassPermanent {
		t.Errorf("capturing a voided payment: %v, want a permanent error", err)
	}
}

func testDecline(t *testing.T, s Setup) {
	e := start(t, s)
	req := request(s, "authorize", 20000)
	req.CardToken = s.DeclinedToken
	_, err := e.h.Gateway.Authorize(context.Background(), req)
	if !payments.IsDecline(err) {
		t.Fatalf("authorize with the declined token: %v, want a *payments.DeclineError", err)
	}
	if c := connectors.ClassOf(err); c != connectors.ClassPermanent {
		t.Errorf("a decline is %s, want permanent", c)
	}
	if n := e.h.Sim.Authorizations(req.ReservationID); n != 0 {
		t.Errorf("%d holds after a decline", n)
	}
}

func testErrorClasses(t *testing.T, s Setup) {
	e := start(t, s)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault gatewaysim.Faults
		want  connectors.Class
	}{
		{"400", gatewaysim.Faults{Status: 400}, connectors.ClassPermanent},
		{"401", gatewaysim.Faults{Status: 401}, connectors.ClassPermanent},
		{"422", gatewaysim.Faults{Status: 422}, connectors.ClassPermanent},
		{"429", gatewaysim.Faults{Status: 429, RetryAfter: 3600}, connectors.ClassRetryable},
		{"500", gatewaysim.Faults{Status: 500}, connectors.ClassRetryable},
		{"503", gatewaysim.Faults{Status: 503}, connectors.ClassRetryable},
		{"timeout", gatewaysim.Faults{TimeoutRate: 1, HangFor: 2 * time.Second}, connectors.ClassRetryable},
	} {
		e.h.Sim.SetFaults(tc.fault)
		_, err := e.h.Gateway.Authorize(ctx, request(s, "authorize", 5000))
		if got := connectors.ClassOf(err); got != tc.want {
			t.Errorf("%s: class %s, want %s (error: %v)", tc.name, got, tc.want, err)
		}
		if payments.IsDecline(err) {
			t.Errorf("%s: a gateway failure is reported as a decline", tc.name)
		}
	}
	e.h.Sim.SetFaults(gatewaysim.Faults{})
}

func testIdempotency(t *testing.T, s Setup) {
	e := start(t, s)
	ctx := context.Background()
	req := request(s, "authorize", 42000)
	// Half the failures come after the change: only the key saves the caller.
	e.h.Sim.SetFaults(gatewaysim.Faults{ErrorRate: 0.6})
	var refs []string
	for deliveries := 0; deliveries < 3; deliveries++ {
		for attempt := 0; ; attempt++ {
			res, err := e.h.Gateway.Authorize(ctx, req)
			if err == nil {
				refs = append(refs, res.Reference)
				break
			}
			if connectors.ClassOf(err) != connectors.ClassRetryable || attempt > 50 {
				t.Fatalf("delivery %d: %v", deliveries, err)
			}
		}
	}
	e.h.Sim.SetFaults(gatewaysim.Faults{})
	if n := e.h.Sim.Authorizations(req.ReservationID); n != 1 {
		t.Errorf("%d authorizations for one key, want 1", n)
	}
	if n := e.h.Sim.Executions(req.IdempotencyKey); n != 1 {
		t.Errorf("the operation ran %d times for one key, want 1", n)
	}
	if refs[0] != refs[1] || refs[1] != refs[2] {
		t.Errorf("one key answered different payments: %v", refs)
	}
}

func testWebhook(t *testing.T, s Setup) {
	e := start(t, s)
	recv, ok := e.h.Gateway.(connectors.WebhookReceiver)
	if !ok {
		t.Fatal("the gateway has no webhook receiver")
	}
	if _, ok := e.h.Gateway.(connectors.Outbound); !ok {
		t.Fatal("the gateway is not a connectors.Outbound")
	}
	srv := httptest.NewServer(recv.Webhook(nil))
	defer srv.Close()
	stored := func() int {
		n, err := e.svc.Store().PaymentNotificationCount(context.Background(), e.h.Gateway.Name())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	post := func(h http.Header, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks", bytes.NewReader(body))
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	h, body := e.h.Notification("REF-1", time.Now())
	// Tampered: one digit of the amount changed.
	tampered := bytes.Replace(body, []byte("28600"), []byte("98600"), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("the notification does not carry the amount 28600 the suite tampers with")
	}
	if got := post(h, tampered); got != http.StatusBadRequest {
		t.Errorf("tampered delivery answered %d, want 400", got)
	}
	if got := post(http.Header{"Content-Type": {"application/json"}}, stripSignature(body)); got != http.StatusBadRequest && got != http.StatusUnauthorized {
		t.Errorf("unsigned delivery answered %d, want 400 (or 401)", got)
	}
	if n := stored(); n != 0 {
		t.Fatalf("%d notifications stored after refused deliveries", n)
	}
	for i := 0; i < 2; i++ {
		if got := post(h, body); got != http.StatusOK {
			t.Fatalf("signed delivery answered %d", got)
		}
	}
	if n := stored(); n != 1 {
		t.Errorf("%d notifications stored after one delivery sent twice, want 1", n)
	}
}

// stripSignature removes Adyen's in-body signature (Stripe's is a header,
// which the caller leaves out).
func stripSignature(body []byte) []byte {
	i := bytes.Index(body, []byte(`"hmacSignature":"`))
	if i < 0 {
		return body
	}
	j := bytes.IndexByte(body[i+17:], '"')
	return append(append(append([]byte(nil), body[:i+17]...), []byte("AAAA")...), body[i+17+j:]...)
}
