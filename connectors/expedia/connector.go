// Package expedia connects Roomwire to Expedia QuickConnect. Roomwire pulls
// booking messages (new bookings, modifications and cancellations) with
// BookingRetrievalRQ, hands each to the sink, and only once it is durable
// confirms it with BookingConfirmRQ carrying Roomwire's confirmation
// reference; Expedia lists a booking message until it is confirmed.
// Availability, restrictions and rates go out as AvailRateUpdateRQ, split to
// the partner's limit of updates per message. QuickConnect wants the
// credentials in the body of every message. Package expediasim simulates it.
package expedia

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
)

// Config configures the connector. Its tags are its configuration spec
// (package config/spec).
type Config struct {
	APIURL       string              `json:"api_url" default:"https://services.expediapartnercentral.com" format:"url" doc:"QuickConnect base URL (/eqc/br, /eqc/bc, /eqc/ar)"`
	Username     string              `json:"username" env:"ROOMWIRE_EXPEDIA_USERNAME" required:"true" doc:"QuickConnect user, sent in the body"`
	Password     string              `json:"password" env:"ROOMWIRE_EXPEDIA_PASSWORD" required:"true" secret:"true" doc:"QuickConnect password, sent in the body"`
	HotelIDs     []string            `json:"hotel_ids" required:"true" doc:"Expedia hotel ids to retrieve bookings of"`
	PollInterval connectors.Duration `json:"poll_interval" default:"30s" min:"10ms" doc:"how often bookings are retrieved"`
	connectors.CardSetting
	// MaxUpdates is the partner's limit.
	MaxUpdates int `json:"max_updates" default:"100" min:"1" max:"10000" doc:"most AvailRateUpdate elements in one message"`
	connectors.HTTPTimeout
	RateLimit int `json:"rate_limit" default:"10" zero:"no limit" doc:"most requests per second sent to Expedia, retries included"`

	HTTP connectors.HTTPConfig `json:"-"`
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	c.HTTP.Configure(c.Timeout, c.RateLimit, &c.APIURL)
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	return connectors.ValidateConfig(Name, &c, c.HTTP.Validate())
}

func init() {
	connectors.Register(connectors.Spec{
		Name:         Name,
		Summary:      "Expedia QuickConnect: booking retrieval and confirmation, availability and rates",
		Capabilities: []connectors.Capability{connectors.CapReservationsInbound, connectors.CapARIOutbound},
		Fields:       spec.Settings[Config](),
		Translator:   Translator{},
		New:          connectors.Configured(New),
	})
}

// Connector is the Expedia connector.
type Connector struct {
	connectors.Base
	cfg Config
}

// Interface guards.
var (
	_ connectors.Puller    = (*Connector)(nil)
	_ connectors.ARIPusher = (*Connector)(nil)
	_ connectors.Closer    = (*Connector)(nil)
)

// New returns a connector.
func New(cfg Config, res connectors.Resources) (*Connector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := connectors.NewBase(Name, res, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	return &Connector{Base: base, cfg: cfg}, nil
}

func (c *Connector) auth() Authentication {
	return Authentication{Username: c.cfg.Username, Password: c.cfg.Password}
}

// post sends a QuickConnect message. Every message may be sent again: a
// retrieval reads, a confirmation and an AR update set values.
func (c *Connector) post(ctx context.Context, path string, v any) ([]byte, error) {
	body, err := Marshal(v)
	if err != nil {
		return nil, connectors.Permanent(err)
	}
	h := http.Header{}
	h.Set("Accept", "text/xml")
	h.Set(connectors.IdempotencyHeader, fmt.Sprintf("%s-%d", strings.TrimPrefix(path, "/eqc/"), time.Now().UnixNano()))
	resp, err := c.Client.Do(ctx, connectors.Request{Method: http.MethodPost, URL: c.cfg.APIURL + path, Route: path, Header: h, Body: body,
		ContentType: "text/xml; charset=utf-8"})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Run retrieves bookings every PollInterval until ctx ends.
func (c *Connector) Run(ctx context.Context, sink connectors.Sink) error {
	t := time.NewTicker(time.Duration(c.cfg.PollInterval))
	defer t.Stop()
	for {
		for _, hotel := range c.cfg.HotelIDs {
			if _, err := c.Retrieve(ctx, sink, hotel); err != nil && ctx.Err() == nil {
				c.Logger.WarnContext(ctx, "retrieving Expedia bookings failed", "hotel", hotel, "error", connectors.SafeText(err.Error(), 300))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Retrieve reads the pending booking messages of a hotel, delivers each, and
// confirms those that are durable. It returns how many it confirmed. A
// message it cannot deliver, or whose codes are unmapped (delivered to wait
// in quarantine), is left unconfirmed, so Expedia lists it again.
func (c *Connector) Retrieve(ctx context.Context, sink connectors.Sink, hotel string) (int, error) {
	data, err := c.post(ctx, "/eqc/br", RetrievalRQ{XMLName: RootRetrievalRQ, Authentication: c.auth(), Hotel: &Hotel{ID: hotel}})
	if err != nil {
		return 0, fmt.Errorf("expedia: retrieve bookings of %s: %w", hotel, err)
	}
	rs, err := ParseRetrievalRS(data)
	if err != nil {
		return 0, err
	}
	var confirm []ConfirmNumber
	var errs []error
	now := time.Now().UTC()
	for i := range rs.Bookings {
		bk := &rs.Bookings[i]
		b, err := ToBooking(bk, c.cfg.CardPolicy)
		if err != nil {
			c.Logger.ErrorContext(ctx, "Expedia booking refused", "expedia_booking", connectors.SafeText(bk.ID, 30), "error", connectors.SafeText(err.Error(), 300))
			errs = append(errs, err)
			continue
		}
		b.ReceivedAt = now.Truncate(time.Millisecond)
		// The instance's bookings carry its name: "expedia" unless configured otherwise.
		b.Connector, b.Reservation.Channel = c.Name(), c.Name()
		unmapped := connectors.CheckMapped(ctx, c.Res, c.Name(), *b)
		if connectors.IsRetryable(unmapped) {
			errs = append(errs, unmapped)
			continue
		}
		if err := sink.Deliver(ctx, *b); err != nil {
			errs = append(errs, fmt.Errorf("expedia: deliver booking %s: %w", b.Reservation.ExternalID, err))
			continue
		}
		if unmapped != nil {
			c.Logger.WarnContext(ctx, "Expedia booking quarantined: unmapped codes", "expedia_booking", bk.ID, "error", unmapped.Error())
			continue
		}
		confirm = append(confirm, ConfirmNumber{BookingID: bk.ID, BookingType: bk.Type,
			ConfirmNumber: connectors.ConfirmationReference(c.Name(), hotel, bk.ID), ConfirmTime: now.Format(time.RFC3339)})
		c.Logger.InfoContext(ctx, "received Expedia booking", "expedia_booking", bk.ID, "type", bk.Type, "hotel", hotel)
	}
	if len(confirm) > 0 {
		data, err := c.post(ctx, "/eqc/bc", ConfirmRQ{XMLName: RootConfirmRQ, Authentication: c.auth(), Hotel: Hotel{ID: hotel}, Numbers: confirm})
		if err == nil {
			err = ParseRS(data)
		}
		if err != nil {
			return 0, errors.Join(append(errs, fmt.Errorf("expedia: confirm bookings of %s: %w", hotel, err))...)
		}
	}
	return len(confirm), errors.Join(errs...)
}

// PushARI sends u (in Expedia's codes) as AvailRateUpdateRQ messages of at
// most MaxUpdates updates each.
func (c *Connector) PushARI(ctx context.Context, u canonical.ARIUpdate) error {
	updates := ARUpdates(u)
	for len(updates) > 0 {
		n := min(len(updates), c.cfg.MaxUpdates)
		data, err := c.post(ctx, "/eqc/ar", ARRQ{XMLName: RootARRQ, Authentication: c.auth(), Hotel: Hotel{ID: u.PropertyID}, Updates: updates[:n]})
		if err != nil {
			return fmt.Errorf("expedia: AR update of %s: %w", u.PropertyID, err)
		}
		if err := ParseRS(data); err != nil {
			return err
		}
		updates = updates[n:]
	}
	return nil
}
