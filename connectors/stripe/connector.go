// Package stripe is Roomwire's Stripe payment gateway: PaymentIntents with
// manual capture hold a guaranteed reservation's total on the guest's card
// (the card token is the PaymentIntent's payment_method), capture all or
// part of it, cancel it and refund it, each call form-encoded as Stripe's API
// expects and carrying an Idempotency-Key derived from the reservation event.
// Its webhook receiver verifies the Stripe-Signature header and stores the
// notifications through the payment flow (connectors/payments). Package
// stripesim simulates the Stripe API for tests and the demo.
package stripe

import (
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
)

// Name is the connector's registered name.
const Name = "stripe"

// APIVersion is the Stripe API version the connector speaks.
const APIVersion = "2024-06-20"

// DefaultTolerance is how old a webhook's signature timestamp may be: the
// default of webhook_tolerance.
var DefaultTolerance = spec.DefaultDuration[Config]("webhook_tolerance")

// Config configures the connector. Its tags are its configuration spec
// (package config/spec).
type Config struct {
	APIURL           string              `json:"api_url" default:"https://api.stripe.com" format:"url" doc:"Stripe API base URL"`
	SecretKey        string              `json:"secret_key" env:"ROOMWIRE_STRIPE_SECRET_KEY" required:"true" secret:"true" doc:"secret (or restricted) API key (sk_live_... or sk_test_...)"`
	WebhookSecret    string              `json:"webhook_secret" env:"ROOMWIRE_STRIPE_WEBHOOK_SECRET" secret:"true" doc:"signing secret of the webhook endpoint (whsec_...)"`
	WebhookTolerance connectors.Duration `json:"webhook_tolerance" default:"300s" min:"0s" doc:"how far a webhook signature's timestamp may be from now"`
	connectors.HTTPSettings
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	c.HTTPSettings.SetDefaults(0, &c.APIURL)
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	return connectors.ValidateConfig(Name, &c, c.HTTP.Validate())
}

func init() {
	connectors.Register(connectors.Spec{
		Name:         Name,
		Summary:      "Stripe payments: PaymentIntents with manual capture, partial capture, cancel, refunds, signed webhooks",
		Capabilities: []connectors.Capability{connectors.CapPayments},
		Fields:       spec.Settings[Config](),
		New:          connectors.Configured(New),
	})
}

// Connector is the Stripe gateway. It embeds the payment flow's binding,
// which makes it a connectors.Outbound once attached with
// payments.Service.AddGateway.
type Connector struct {
	*payments.Binding
	connectors.Base
	cfg Config
}

// Interface guards.
var (
	_ payments.Gateway           = (*Connector)(nil)
	_ connectors.Outbound        = (*Connector)(nil)
	_ connectors.WebhookReceiver = (*Connector)(nil)
	_ connectors.Closer          = (*Connector)(nil)
)

// New returns a Stripe connector.
func New(cfg Config, res connectors.Resources) (*Connector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := connectors.NewBase(Name, res, cfg.HTTP, connectors.WithErrorDescriber(describeError), connectors.WithLogger(payments.GatewayLogger(res.Logger)))
	if err != nil {
		return nil, err
	}
	return &Connector{Binding: payments.NewBinding(base.Name(), res.Logger), Base: base, cfg: cfg}, nil
}

// Features: Stripe captures part of a hold and refunds part of a charge,
// but a higher amount needs a new PaymentIntent.
func (c *Connector) Features() payments.Features {
	return payments.Features{PartialCapture: true, PartialRefund: true}
}
