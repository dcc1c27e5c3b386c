// Package apaleo connects Roomwire to the Apaleo PMS: it writes Roomwire's
// reservations to Apaleo as bookings (created, amended, cancelled), receives
// Apaleo's reservation webhooks and backfills over a date range, and pulls
// unit-group availability and rates into Roomwire's inventory and rates.
// Package apaleosim simulates the Apaleo API for tests and the demo.
package apaleo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roomwire/roomwire/connectors"
)

// Name is the connector's registered name.
const Name = "apaleo"

// The owners of the stay (Config.StayMaster).
const (
	StayMasterRoomwire = "roomwire"
	StayMasterApaleo   = "apaleo"
)

// Config configures the connector.
type Config struct {
	// APIURL is Apaleo's API. Default https://api.apaleo.com.
	APIURL string `json:"api_url"`
	// IdentityURL is Apaleo's identity server. Default https://identity.apaleo.com.
	IdentityURL  string `json:"identity_url"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// WebhookUser and WebhookPassword are the basic-auth credentials Apaleo
	// is configured to send with its webhooks.
	WebhookUser     string `json:"webhook_user"`
	WebhookPassword string `json:"webhook_password"`
	// ChannelCode is put on bookings Roomwire makes in Apaleo; reservations
	// carrying it are not read back. Default ChannelManager.
	ChannelCode string `json:"channel_code"`
	// Properties are the Apaleo property ids whose availability and rates
	// are pulled, and which the backfill reads. When set, they are also the
	// only properties whose reservations the instance writes to Apaleo, so
	// that two instances can serve two Apaleo accounts.
	Properties []string `json:"properties"`
	// ARIDays is how many days ahead availability and rates are pulled. Default 90.
	ARIDays int `json:"ari_days"`
	// ARIInterval is how often they are pulled. Default 15m.
	ARIInterval connectors.Duration `json:"ari_interval"`
	// StayMaster says who owns check-in, check-out and no-show of the
	// reservations Roomwire books in Apaleo: "roomwire" (the default) sends
	// them to Apaleo as reservation actions; "apaleo" leaves them to the
	// front desk in Apaleo. Apaleo's own check-in, check-out and no-show
	// webhooks are taken in either way.
	StayMaster string `json:"stay_master"`
	// Timeout bounds one HTTP attempt. Default 10s.
	Timeout connectors.Duration `json:"timeout"`

	// HTTP overrides the shared client's settings (tests use it for speed).
	HTTP connectors.HTTPConfig `json:"-"`
}

// Fields is the connector's configuration spec.
var Fields = []connectors.Field{
	{Name: "api_url", Type: "string", Default: "https://api.apaleo.com", Description: "Apaleo API base URL"},
	{Name: "identity_url", Type: "string", Default: "https://identity.apaleo.com", Description: "Apaleo identity server (POST /connect/token)"},
	{Name: "client_id", Type: "string", Env: "ROOMWIRE_APALEO_CLIENT_ID", Required: true, Description: "OAuth2 client id (client credentials)"},
	{Name: "client_secret", Type: "string", Env: "ROOMWIRE_APALEO_CLIENT_SECRET", Required: true, Secret: true, Description: "OAuth2 client secret"},
	{Name: "webhook_user", Type: "string", Env: "ROOMWIRE_APALEO_WEBHOOK_USER", Description: "basic-auth user Apaleo sends with webhooks"},
	{Name: "webhook_password", Type: "string", Env: "ROOMWIRE_APALEO_WEBHOOK_PASSWORD", Secret: true, Description: "basic-auth password Apaleo sends with webhooks"},
	{Name: "channel_code", Type: "string", Default: DefaultChannelCode, Description: "Apaleo channel code of bookings Roomwire makes"},
	{Name: "properties", Type: "[]string", Description: "Apaleo property ids to pull availability and rates for, and to backfill; when set, the only properties whose reservations this instance writes to Apaleo"},
	{Name: "ari_days", Type: "int", Default: "90", Description: "days ahead to pull availability and rates"},
	{Name: "ari_interval", Type: "duration", Default: "15m", Description: "how often to pull availability and rates"},
	{Name: "stay_master", Type: "string", Default: StayMasterRoomwire, Description: "who owns check-in, check-out and no-show of bookings Roomwire makes in Apaleo: roomwire (sent to Apaleo as reservation actions) or apaleo (left to its front desk)"},
	connectors.TimeoutField,
}

func (c *Config) setDefaults() {
	if c.APIURL == "" {
		c.APIURL = "https://api.apaleo.com"
	}
	if c.IdentityURL == "" {
		c.IdentityURL = "https://identity.apaleo.com"
	}
	if c.ChannelCode == "" {
		c.ChannelCode = DefaultChannelCode
	}
	if c.StayMaster == "" {
		c.StayMaster = StayMasterRoomwire
	}
	if c.ARIDays == 0 {
		c.ARIDays = 90
	}
	if c.ARIInterval == 0 {
		c.ARIInterval = connectors.Duration(15 * time.Minute)
	}
	c.HTTP.Configure(c.Timeout, 0)
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.IdentityURL = strings.TrimRight(c.IdentityURL, "/")
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	var errs []string
	for _, u := range []struct{ name, v string }{{"api_url", c.APIURL}, {"identity_url", c.IdentityURL}} {
		if !connectors.ValidHTTPURL(u.v) {
			errs = append(errs, u.name+": must be an http(s) URL")
		}
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		errs = append(errs, "client_id and client_secret: are required")
	}
	if (c.WebhookUser == "") != (c.WebhookPassword == "") {
		errs = append(errs, "webhook_user and webhook_password: set both or neither")
	}
	if c.StayMaster != StayMasterRoomwire && c.StayMaster != StayMasterApaleo {
		errs = append(errs, fmt.Sprintf("stay_master: must be %s or %s, not %q", StayMasterRoomwire, StayMasterApaleo, connectors.SafeText(c.StayMaster, 20)))
	}
	if c.ARIDays < 1 || c.ARIDays > 730 {
		errs = append(errs, "ari_days: must be between 1 and 730")
	}
	if c.ARIInterval < connectors.Duration(time.Second) {
		errs = append(errs, "ari_interval: must be at least 1s")
	}
	if err := c.HTTP.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return errors.New("apaleo: " + strings.Join(errs, "; "))
	}
	return nil
}

func init() {
	connectors.Register(connectors.Spec{
		Name:    Name,
		Summary: "Apaleo PMS: bookings both ways, reservation webhooks, availability and rates",
		Capabilities: []connectors.Capability{
			connectors.CapReservationsInbound, connectors.CapReservationsOutbound, connectors.CapARIInbound,
		},
		Fields:          Fields,
		DefaultMappings: statusMappings,
		Translator:      Translator{},
		New:             connectors.Configured(Fields, New),
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
