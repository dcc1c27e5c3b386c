package stripe_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/connectors/payments/paymentstest"
	"github.com/roomwire/roomwire/connectors/stripe"
	"github.com/roomwire/roomwire/connectors/stripe/stripesim"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	secretKey     = "sk_test_roomwire_4eC39HqLyjWDarjtT1zdp7dc"
	webhookSecret = "whsec_roomwire_test_8b1c5f0e2d"
)

// fastHTTP keeps the tests quick: short timeouts and waits, and a breaker
// that does not open during the error-class checks.
var fastHTTP = conformance.FastHTTP(1)

func fixture(t testing.TB, name string) []byte { return conformance.ReadFixture(t, "stripe", name) }

// harness runs a connector against a simulator with webhook secret secret.
func harness(t *testing.T, res connectors.Resources, now func() time.Time) (*stripe.Connector, *stripesim.Sim) {
	sim := stripesim.New(stripesim.Config{SecretKey: secretKey, WebhookSecret: webhookSecret})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	conn, err := stripe.New(stripe.Config{APIURL: srv.URL, SecretKey: secretKey, WebhookSecret: webhookSecret, HTTPSettings: connectors.HTTPSettings{HTTP: fastHTTP, Now: now}}, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, sim
}

// notification is the reference webhook about payment ref, signed at at.
func notification(t testing.TB, ref string, at time.Time) (http.Header, []byte) {
	body := bytes.ReplaceAll(fixture(t, "webhook.payment_intent.amount_capturable_updated.json"), []byte("pi_3R2xYzAbCdEfGh"), []byte(ref))
	h := http.Header{"Content-Type": {"application/json"}}
	h.Set(stripe.SignatureHeader, stripe.Sign(webhookSecret, at, body))
	return h, body
}

// The connector conformance suite, which for a gateway runs the gateway suite.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Setup{Name: stripe.Name, Gateway: testGateway})
}

func testGateway(t *testing.T) {
	paymentstest.Run(t, paymentstest.Setup{
		Name:          stripe.Name,
		Features:      payments.Features{PartialCapture: true, PartialRefund: true},
		Token:         "pm_roomwire_test_visa",
		DeclinedToken: "pm_card_chargeDeclined",
		Secrets:       []string{secretKey, webhookSecret},
		Start: func(t *testing.T, res connectors.Resources) *paymentstest.Harness {
			conn, sim := harness(t, res, nil)
			return &paymentstest.Harness{Gateway: conn, Sim: sim.Core,
				Notification: func(ref string, at time.Time) (http.Header, []byte) { return notification(t, ref, at) }}
		},
	})
}
