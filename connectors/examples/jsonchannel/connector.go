// Package jsonchannel is an example channel connector, written by following
// docs/connectors.md alone, to keep the guide honest. Its channel speaks a
// small JSON API: it pushes bookings to POST /v1/connectors/<name>/bookings
// with HTTP basic auth and takes availability, restrictions and rates at
// POST {api_url}/ari as canonical ARI JSON in its own codes. Package
// jsonchannelsim simulates the channel. It is not linked into the binary.
package jsonchannel

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
)

// Name is the connector's registered name.
const Name = "jsonchannel"

// Config configures one channel. Its tags are its configuration spec
// (package config/spec): each key's name, default, environment variable and
// documentation, written once.
type Config struct {
	APIURL          string `json:"api_url" required:"true" format:"url" doc:"the channel's API; ARI is POSTed to {api_url}/ari"`
	InboundUser     string `json:"inbound_user" env:"ROOMWIRE_JSONCHANNEL_INBOUND_USER" required:"true" doc:"basic-auth user the channel pushes bookings with"`
	InboundPassword string `json:"inbound_password" env:"ROOMWIRE_JSONCHANNEL_INBOUND_PASSWORD" required:"true" secret:"true" doc:"basic-auth password the channel pushes bookings with"`
	APIKey          string `json:"api_key" env:"ROOMWIRE_JSONCHANNEL_API_KEY" required:"true" secret:"true" doc:"bearer token of Roomwire's ARI pushes"`
	ARIMaxItems     int    `json:"ari_max_items" default:"200" min:"1" doc:"most entries in one ARI message"`
	connectors.HTTPTimeout
	RateLimit int `json:"rate_limit" default:"5" zero:"no limit" doc:"most requests per second sent to the channel, retries included"`

	HTTP connectors.HTTPConfig `json:"-"`
}

// check names what the field spec cannot say.
func (c Config) check() error { return connectors.ValidateConfig(Name, &c) }

// Translator reads the channel's bookings.
type Translator struct{}

var _ connectors.Translator = Translator{}

// ToCanonical reads one pushed booking.
func (Translator) ToCanonical(data []byte) (connectors.Message, error) {
	b, err := ParseBooking(data)
	if err != nil {
		return connectors.Message{}, err
	}
	cb, err := ToBooking(b, Name)
	if err != nil {
		return connectors.Message{}, err
	}
	return connectors.Message{Booking: cb}, nil
}

// FromCanonical renders a reservation as the channel pushes it.
func (Translator) FromCanonical(r *canonical.Reservation) ([]byte, error) { return FromReservation(r) }

func init() {
	connectors.Register(connectors.Spec{
		Name:         Name,
		Summary:      "example JSON channel: bookings pushed in, availability, restrictions and rates out",
		Capabilities: []connectors.Capability{connectors.CapReservationsInbound, connectors.CapARIOutbound},
		Fields:       spec.Settings[Config](),
		Translator:   Translator{},
		New:          connectors.Configured(New),
	})
}

// Connector is one JSON channel.
type Connector struct {
	connectors.Base
	cfg Config
}

// Interface guards.
var (
	_ connectors.WebhookReceiver = (*Connector)(nil)
	_ connectors.ARIPusher       = (*Connector)(nil)
)

// New returns a connector.
func New(cfg Config, res connectors.Resources) (*Connector, error) {
	spec.SetDefaults(&cfg, nil)
	cfg.HTTP.Configure(cfg.Timeout, cfg.RateLimit, &cfg.APIURL)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	base, err := connectors.NewBase(Name, res, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	return &Connector{Base: base, cfg: cfg}, nil
}

// Webhook receives the channel's pushes at POST /bookings.
func (c *Connector) Webhook(sink connectors.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bookings", func(w http.ResponseWriter, r *http.Request) {
		if !connectors.BasicAuthorized(r, c.cfg.InboundUser, c.cfg.InboundPassword) {
			reply(w, http.StatusUnauthorized, Reply{Status: "error", Error: "missing or wrong basic-auth credentials"})
			return
		}
		data, err := connectors.ReadLimited(http.MaxBytesReader(w, r.Body, connectors.MaxMessageBytes+1), connectors.MaxMessageBytes)
		if err != nil {
			reply(w, http.StatusRequestEntityTooLarge, Reply{Status: "error", Error: connectors.SafeText(err.Error(), 200)})
			return
		}
		ctx := r.Context()
		if id := r.Header.Get(connectors.CorrelationHeader); canonical.ValidCorrelationID(id) {
			ctx = canonical.WithCorrelationID(ctx, id)
		}
		status, rp := c.Receive(ctx, data, sink)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		reply(w, status, rp)
	})
	return mux
}

// Receive handles one pushed booking, already authenticated: it answers ok
// with Roomwire's reference only once the booking is durable.
func (c *Connector) Receive(ctx context.Context, data []byte, sink connectors.Sink) (int, Reply) {
	b, err := ParseBooking(data)
	if err != nil {
		return c.refuse(ctx, err)
	}
	cb, err := ToBooking(b, c.Name())
	if err != nil {
		return c.refuse(ctx, err)
	}
	unmapped := connectors.CheckMapped(ctx, c.Res, c.Name(), *cb)
	if connectors.IsRetryable(unmapped) {
		return c.refuse(ctx, unmapped)
	}
	if err := connectors.CheckApplicable(ctx, c.Res, c.Name(), *cb); err != nil {
		return c.refuse(ctx, err)
	}
	if err := sink.Deliver(ctx, *cb); err != nil {
		return c.refuse(ctx, err)
	}
	if err := connectors.RecordAccepted(ctx, c.Res, c.Name(), *cb); err != nil {
		return c.refuse(ctx, err)
	}
	if unmapped != nil {
		return http.StatusUnprocessableEntity, Reply{Status: "error", Error: connectors.SafeText(unmapped.Error(), 400) + " (the booking is held and will be applied once the mapping exists)"}
	}
	return http.StatusOK, Reply{Status: "ok", Reference: connectors.ConfirmationReference(c.Name(), cb.Reservation.PropertyID, cb.Reservation.ExternalID)}
}

// refuse answers 503 for what a retry may cure, 422 for what it cannot.
func (c *Connector) refuse(ctx context.Context, err error) (int, Reply) {
	c.Logger.WarnContext(ctx, "booking refused", "error", connectors.SafeText(err.Error(), 300))
	if connectors.IsRetryable(err) {
		return http.StatusServiceUnavailable, Reply{Status: "error", Error: "Roomwire cannot take the booking now; send it again later"}
	}
	return http.StatusUnprocessableEntity, Reply{Status: "error", Error: connectors.SafeText(err.Error(), 400)}
}

// PushARI sends u (in the channel's codes) to {api_url}/ari, at most
// ARIMaxItems entries a message.
func (c *Connector) PushARI(ctx context.Context, u canonical.ARIUpdate) error {
	for _, part := range connectors.SplitARI(u, c.cfg.ARIMaxItems) {
		body, err := json.Marshal(part)
		if err != nil {
			return connectors.Permanent(fmt.Errorf("jsonchannel: ARI: %w", err))
		}
		sum := sha256.Sum256(body)
		h := http.Header{}
		h.Set("Authorization", "Bearer "+c.cfg.APIKey)
		h.Set(connectors.IdempotencyHeader, fmt.Sprintf("%x", sum[:16]))
		if _, err := c.Client.Do(ctx, connectors.Request{Method: http.MethodPost, URL: c.cfg.APIURL + "/ari", Route: "/ari",
			Header: h, Body: body, ContentType: "application/json"}); err != nil {
			return fmt.Errorf("jsonchannel: ARI of %s: %w", u.PropertyID, err)
		}
	}
	return nil
}

func reply(w http.ResponseWriter, status int, r Reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(r) //nolint:errcheck
}
