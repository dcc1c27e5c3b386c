// Package apaleo connects Roomwire to the Apaleo PMS: it writes Roomwire's
// reservations to Apaleo as bookings (created, amended, cancelled), receives
// Apaleo's reservation webhooks and backfills over a date range, and pulls
// unit-group availability and rates into Roomwire's inventory and rates.
// Package apaleosim simulates the Apaleo API for tests and the demo.
package apaleo

import (
	"errors"
	"strings"

	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
)

// Name is the connector's registered name.
const Name = "apaleo"

// The owners of the stay (Config.StayMaster).
const (
	StayMasterRoomwire = "roomwire"
	StayMasterApaleo   = "apaleo"
)

// Config configures the connector. Its tags are its configuration spec
// (package config/spec). Bookings Roomwire makes in Apaleo carry
// ChannelCode, and reservations carrying it are not read back. StayMaster
// "roomwire" sends check-in, check-out and no-show to Apaleo as reservation
// actions; "apaleo" leaves them to the front desk in Apaleo. Apaleo's own
// check-in, check-out and no-show webhooks are taken in either way.
type Config struct {
	APIURL          string `json:"api_url" default:"https://api.apaleo.com" format:"url" doc:"Apaleo API base URL"`
	IdentityURL     string `json:"identity_url" default:"https://identity.apaleo.com" format:"url" doc:"Apaleo identity server (POST /connect/token)"`
	ClientID        string `json:"client_id" env:"ROOMWIRE_APALEO_CLIENT_ID" required:"true" doc:"OAuth2 client id (client credentials)"`
	ClientSecret    string `json:"client_secret" env:"ROOMWIRE_APALEO_CLIENT_SECRET" required:"true" secret:"true" doc:"OAuth2 client secret"`
	WebhookUser     string `json:"webhook_user" env:"ROOMWIRE_APALEO_WEBHOOK_USER" doc:"basic-auth user Apaleo sends with webhooks"`
	WebhookPassword string `json:"webhook_password" env:"ROOMWIRE_APALEO_WEBHOOK_PASSWORD" secret:"true" doc:"basic-auth password Apaleo sends with webhooks"`
	ChannelCode     string `json:"channel_code" default:"ChannelManager" doc:"Apaleo channel code of bookings Roomwire makes"`
	// Properties, when set, are also the only properties whose reservations
	// the instance writes to Apaleo, so that two instances can serve two
	// Apaleo accounts.
	Properties  []string            `json:"properties" doc:"Apaleo property ids to pull availability and rates for, and to backfill; when set, the only properties whose reservations this instance writes to Apaleo"`
	ARIDays     int                 `json:"ari_days" default:"90" min:"1" max:"730" doc:"days ahead to pull availability and rates"`
	ARIInterval connectors.Duration `json:"ari_interval" default:"15m" min:"1s" doc:"how often to pull availability and rates"`
	StayMaster  string              `json:"stay_master" default:"roomwire" enum:"roomwire,apaleo" doc:"who owns check-in, check-out and no-show of bookings Roomwire makes in Apaleo: roomwire sends them to Apaleo as reservation actions, apaleo leaves them to its front desk"`
	connectors.HTTPTimeout

	// HTTP overrides the shared client's settings (tests use it for speed).
	HTTP connectors.HTTPConfig `json:"-"`
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	c.HTTP.Configure(c.Timeout, 0, &c.APIURL, &c.IdentityURL)
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	var pair error
	if (c.WebhookUser == "") != (c.WebhookPassword == "") {
		pair = errors.New("webhook_user and webhook_password: set both or neither")
	}
	return connectors.ValidateConfig(Name, &c, pair, c.HTTP.Validate())
}

func init() {
	connectors.Register(connectors.Spec{
		Name:    Name,
		Summary: "Apaleo PMS: bookings both ways, reservation webhooks, availability and rates",
		Capabilities: []connectors.Capability{
			connectors.CapReservationsInbound, connectors.CapReservationsOutbound, connectors.CapARIInbound,
		},
		Fields:          spec.Settings[Config](),
		DefaultMappings: statusMappings,
		Translator:      Translator{},
		New:             connectors.Configured(New),
	})
}

// Connector is the Apaleo connector.
type Connector struct {
	connectors.Base
	cfg    Config
	tokens *tokenSource
	tr     Translator
}

// Interface guards.
var (
	_ connectors.WebhookReceiver = (*Connector)(nil)
	_ connectors.Puller          = (*Connector)(nil)
	_ connectors.Outbound        = (*Connector)(nil)
	_ connectors.Closer          = (*Connector)(nil)
)

// New returns a connector. res must carry the mapping, link and receipt stores.
func New(cfg Config, res connectors.Resources) (*Connector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if res.Mappings == nil || res.Links == nil || res.Receipts == nil {
		return nil, errors.New("apaleo: the hub must provide mappings, links and receipts (connectors.NewResources)")
	}
	base, err := connectors.NewBase(Name, res, cfg.HTTP, connectors.WithErrorDescriber(describeError))
	if err != nil {
		return nil, err
	}
	c := &Connector{Base: base, cfg: cfg, tr: Translator{ChannelCode: cfg.ChannelCode}}
	c.tokens = &tokenSource{c: c}
	return c, nil
}

// describeError reads Apaleo's error body: {"messages": ["..."]}.
func describeError(status int, body []byte) string {
	var e Error
	if err := connectors.DecodeJSON(body, &e); err != nil || len(e.Messages) == 0 {
		return ""
	}
	return strings.Join(e.Messages, " ")
}
