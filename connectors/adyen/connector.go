// Package adyen is Roomwire's Adyen payment gateway: a guaranteed
// reservation's total is pre-authorised (authorisationType PreAuth) on the
// guest's stored card, adjusted in place when the reservation changes or the
// hold nears expiry (authorisation adjustment), captured, cancelled and
// refunded through the Checkout API, every call with an Idempotency-Key
// derived from the reservation event. Its receiver of standard
// notifications verifies each item's HMAC signature and answers [accepted]
// once the items are stored by the payment flow (connectors/payments).
// Package adyensim simulates the Checkout API for tests and the demo.
package adyen

import (
	"encoding/hex"
	"errors"

	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
)

// Name is the connector's registered name.
const Name = "adyen"

// DefaultHoldFor is how long a pre-authorisation is taken to last when Adyen
// does not say (the default of hold_for): a little under the card schemes'
// 30 days for lodging.
var DefaultHoldFor = spec.DefaultDuration[Config]("hold_for")

// Config configures the connector. Its tags are its configuration spec
// (package config/spec). APIURL is the Checkout API with its version, e.g.
// https://checkout-test.adyen.com/v71 or, live,
// https://{prefix}-checkout-live.adyenpayments.com/checkout/v71.
type Config struct {
	APIURL          string `json:"api_url" default:"https://checkout-test.adyen.com/v71" format:"url" doc:"Checkout API base URL with its version"`
	APIKey          string `json:"api_key" env:"ROOMWIRE_ADYEN_API_KEY" required:"true" secret:"true" doc:"API key of the web service user (X-API-Key)"`
	MerchantAccount string `json:"merchant_account" env:"ROOMWIRE_ADYEN_MERCHANT_ACCOUNT" required:"true" doc:"merchant account of the payments"`
	HMACKey         string `json:"hmac_key" env:"ROOMWIRE_ADYEN_HMAC_KEY" secret:"true" doc:"HMAC key of the standard webhook, hex-encoded as the Customer Area shows it"`
	// WebhookUser and WebhookPassword, when set, are the basic-auth
	// credentials Adyen is configured to send with notifications.
	WebhookUser     string              `json:"webhook_user" env:"ROOMWIRE_ADYEN_WEBHOOK_USER" doc:"basic-auth user Adyen sends with notifications (optional)"`
	WebhookPassword string              `json:"webhook_password" env:"ROOMWIRE_ADYEN_WEBHOOK_PASSWORD" secret:"true" doc:"basic-auth password Adyen sends with notifications"`
	HoldFor         connectors.Duration `json:"hold_for" default:"672h" min:"1h" doc:"how long a pre-authorisation lasts"`
	connectors.HTTPSettings
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	c.HTTPSettings.SetDefaults(0, &c.APIURL)
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	var own []error
	if _, err := hex.DecodeString(c.HMACKey); err != nil {
		own = append(own, errors.New("hmac_key: must be hex, as the Customer Area shows it"))
	}
	if (c.WebhookUser == "") != (c.WebhookPassword == "") {
		own = append(own, errors.New("webhook_user and webhook_password: set both or neither"))
	}
	return connectors.ValidateConfig(Name, &c, append(own, c.HTTP.Validate())...)
}

func init() {
	connectors.Register(connectors.Spec{
		Name:         Name,
		Summary:      "Adyen payments: pre-authorisation, authorisation adjustment, capture, cancel, refund, HMAC-signed notifications",
		Capabilities: []connectors.Capability{connectors.CapPayments},
		Fields:       spec.Settings[Config](),
		New:          connectors.Configured(New),
	})
}

// Connector is the Adyen gateway. It embeds the payment flow's binding,
// which makes it a connectors.Outbound once attached with
// payments.Service.AddGateway.
type Connector struct {
	*payments.Binding
	connectors.Base
	cfg     Config
	hmacKey []byte
}

// Interface guards.
var (
	_ payments.Gateway           = (*Connector)(nil)
	_ connectors.Outbound        = (*Connector)(nil)
	_ connectors.WebhookReceiver = (*Connector)(nil)
	_ connectors.Closer          = (*Connector)(nil)
)

// New returns an Adyen connector.
func New(cfg Config, res connectors.Resources) (*Connector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, _ := hex.DecodeString(cfg.HMACKey)
	base, err := connectors.NewBase(Name, res, cfg.HTTP, connectors.WithErrorDescriber(describeError), connectors.WithLogger(payments.GatewayLogger(res.Logger)))
	if err != nil {
		return nil, err
	}
	return &Connector{Binding: payments.NewBinding(base.Name(), res.Logger), Base: base, cfg: cfg, hmacKey: key}, nil
}

// Features: Adyen adjusts (and so extends) a pre-authorisation in place,
// captures part of it and refunds part of a capture.
func (c *Connector) Features() payments.Features {
	return payments.Features{Adjust: true, PartialCapture: true, PartialRefund: true}
}
