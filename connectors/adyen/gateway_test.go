package adyen_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/adyen"
	"github.com/roomwire/roomwire/connectors/adyen/adyensim"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/connectors/payments/paymentstest"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	apiKey          = "AQEyhmfxroomwireTESTkeyQ8Wq"
	merchantAccount = "RoomwireDemoECOM"
	hmacHex         = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
)

var hmacKey, _ = hex.DecodeString(hmacHex)

var fastHTTP = conformance.FastHTTP(1)

func fixture(t testing.TB, name string) []byte { return conformance.ReadFixture(t, "adyen", name) }

func harness(t *testing.T, res connectors.Resources) (*adyen.Connector, *adyensim.Sim) {
	sim := adyensim.New(adyensim.Config{APIKey: apiKey, MerchantAccount: merchantAccount, HMACKey: hmacKey})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	conn, err := adyen.New(adyen.Config{APIURL: srv.URL, APIKey: apiKey, MerchantAccount: merchantAccount, HMACKey: hmacHex, HTTPSettings: connectors.HTTPSettings{HTTP: fastHTTP}}, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, sim
}

// notification is the reference AUTHORISATION notification about payment
// ref for 286.00 EUR, signed.
func notification(t testing.TB, ref string, _ time.Time) (http.Header, []byte) {
	var req adyen.NotificationRequest
	if err := json.Unmarshal(fixture(t, "notification.AUTHORISATION.json"), &req); err != nil {
		t.Fatal(err)
	}
	item := &req.NotificationItems[0].Item
	item.PSPReference, item.Amount.Value = ref, 28600
	item.AdditionalData["hmacSignature"] = adyen.Sign(hmacKey, *item)
	body, _ := json.Marshal(req)
	return http.Header{"Content-Type": {"application/json"}}, body
}

// The connector conformance suite, which for a gateway runs the gateway suite.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Setup{Name: adyen.Name, Gateway: testGateway})
}

func testGateway(t *testing.T) {
	paymentstest.Run(t, paymentstest.Setup{
		Name:          adyen.Name,
		Features:      payments.Features{Adjust: true, PartialCapture: true, PartialRefund: true},
		Token:         "roomwire-shopper-7:stored_card_visa_4242",
		DeclinedToken: "refused_card",
		Secrets:       []string{apiKey, hmacHex},
		Start: func(t *testing.T, res connectors.Resources) *paymentstest.Harness {
			conn, sim := harness(t, res)
			return &paymentstest.Harness{Gateway: conn, Sim: sim.Core,
				Notification: func(ref string, at time.Time) (http.Header, []byte) { return notification(t, ref, at) }}
		},
	})
}
