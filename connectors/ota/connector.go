// Package ota connects Roomwire to channels that speak OpenTravel 2003B. It
// receives OTA_HotelResNotifRQ pushes (new, modified and cancelled bookings)
// and answers OTA_HotelResNotifRS once the bookings are durable, and pushes
// availability, restrictions and rates as OTA_HotelAvailNotifRQ,
// OTA_HotelInvCountNotifRQ and OTA_HotelRateAmountNotifRQ. Its parser and
// writer are shared with connectors that speak OTA-like dialects
// (bookingcom). Package otasim simulates an OTA channel.
package ota

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
)

// Name is the connector's registered name.
const Name = "ota"

// The ways an OTA partner proves who it is.
const (
	AuthBasic = "basic" // HTTP basic auth
	AuthPOS   = "pos"   // POS/Source/RequestorID ID and MessagePassword in the message
)

// Config configures the connector for one OTA channel. Its tags are its
// configuration spec (package config/spec). The partner authenticates its
// pushes, and Roomwire its ARI pushes, by Auth: basic auth user and
// password, or RequestorID ID and MessagePassword in the message.
type Config struct {
	Channel string `json:"channel" zero:"the instance's name" doc:"Roomwire's code of this OTA channel, put on its bookings"`
	Auth    string `json:"auth" default:"basic" enum:"basic,pos" doc:"how the partner authenticates: basic (HTTP basic auth) or pos (RequestorID ID and MessagePassword)"`
	// InboundUser and InboundPassword are required: an open receiver would
	// take bookings from anyone.
	InboundUser     string   `json:"inbound_user" env:"ROOMWIRE_OTA_INBOUND_USER" required:"true" doc:"user (or RequestorID ID) the partner sends"`
	InboundPassword string   `json:"inbound_password" env:"ROOMWIRE_OTA_INBOUND_PASSWORD" required:"true" secret:"true" doc:"password (or MessagePassword) the partner sends"`
	ResStatus       []string `json:"res_status" default:"Commit=new,Book=new,Reserved=new,Modify=modify,Cancel=cancel,Cancelled=cancel" doc:"the partner's ResStatus vocabulary: Status=new|modify|cancel, comma-separated"`
	connectors.CardSetting

	ARIURL string `json:"ari_url" zero:"receive bookings only" format:"url" doc:"where availability, restrictions and rates are POSTed"`
	// ReportURL is authenticated as ARI pushes are.
	ReportURL       string `json:"report_url" zero:"the channel takes no such reports" format:"url" doc:"where no-shows of the channel's bookings are POSTed (OTA_HotelResModifyNotifRQ, ResStatus No-show)"`
	ARIUser         string `json:"ari_user" env:"ROOMWIRE_OTA_ARI_USER" doc:"user (or RequestorID ID) of ARI pushes"`
	ARIPassword     string `json:"ari_password" env:"ROOMWIRE_OTA_ARI_PASSWORD" secret:"true" doc:"password (or MessagePassword) of ARI pushes"`
	ARIAvailability string `json:"ari_availability" default:"avail" enum:"avail,invcount" doc:"availability as avail (OTA_HotelAvailNotifRQ BookingLimit) or invcount (OTA_HotelInvCountNotifRQ)"`
	ARIOccupancy    int    `json:"ari_occupancy" zero:"left out" min:"0" max:"20" doc:"NumberOfGuests sent with each rate"`
	ARIMaxItems     int    `json:"ari_max_items" default:"500" min:"1" max:"10000" doc:"most entries in one ARI message"`
	connectors.HTTPTimeout
	RateLimit int `json:"rate_limit" default:"20" zero:"no limit" doc:"most requests per second sent to the channel, retries included"`

	// HTTP overrides the shared client's settings (tests use it for speed).
	HTTP connectors.HTTPConfig `json:"-"`
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	c.HTTP.Configure(c.Timeout, c.RateLimit)
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	var channel error
	if !canonical.ValidCode(c.Channel) {
		channel = errors.New("channel: must be a code of letters, digits and . _ : -")
	}
	_, vocabulary := ParseVocabulary(c.ResStatus)
	return connectors.ValidateConfig(Name, &c, channel, vocabulary, c.HTTP.Validate())
}

// Translator converts OTA messages with the default vocabulary.
type Translator struct{ Reader Reader }

var _ connectors.Translator = Translator{}

// ToCanonical reads an OTA_HotelResNotifRQ or OTA_HotelResModifyNotifRQ
// holding one reservation, or an ARI notification.
func (t Translator) ToCanonical(data []byte) (connectors.Message, error) {
	root, err := connectors.CheckXML(data)
	if err != nil {
		return connectors.Message{}, fmt.Errorf("ota: %w", err)
	}
	switch root.Local {
	case RootAvailNotifRQ.Local, RootInvCountNotifRQ.Local, RootRateAmountNotifRQ.Local:
		m, err := ParseARI(data)
		if err != nil {
			return connectors.Message{}, err
		}
		return connectors.Message{ARI: &m.Update}, nil
	}
	rq, err := ParseResNotif(data)
	if err != nil {
		return connectors.Message{}, err
	}
	rd := t.Reader
	if rd.Connector == "" {
		rd.Connector, rd.Channel = Name, Name
	}
	bs, err := rd.Bookings(rq)
	if err != nil {
		return connectors.Message{}, fmt.Errorf("ota: %w", err)
	}
	if len(bs) != 1 {
		return connectors.Message{}, connectors.Permanent(fmt.Errorf("ota: the message holds %d reservations; translate them one at a time", len(bs)))
	}
	return connectors.Message{Booking: &bs[0]}, nil
}

// FromCanonical renders a reservation as an OTA_HotelResNotifRQ with
// ResStatus Commit (Cancel for a cancelled one).
func (t Translator) FromCanonical(r *canonical.Reservation) ([]byte, error) {
	status := "Commit"
	if r.Status == canonical.StatusCancelled {
		status = "Cancel"
	}
	return BuildResNotif("", status, r)
}

func init() {
	connectors.Register(connectors.Spec{
		Name:         Name,
		Summary:      "OpenTravel 2003B channels: OTA_HotelResNotifRQ pushes in, availability, restrictions and rates out",
		Capabilities: []connectors.Capability{connectors.CapReservationsInbound, connectors.CapARIOutbound, connectors.CapReservationReports},
		Fields:       spec.Settings[Config](),
		Translator:   Translator{},
		New:          connectors.Configured(New),
	})
}

// Connector is the OTA connector of one channel.
type Connector struct {
	connectors.Base
	cfg    Config
	reader Reader
}

// Interface guards.
var (
	_ connectors.WebhookReceiver = (*Connector)(nil)
	_ connectors.Outbound        = (*Connector)(nil)
	_ connectors.ARIOptional     = (*Connector)(nil)
	_ connectors.Closer          = (*Connector)(nil)
)

// New returns a connector.
func New(cfg Config, res connectors.Resources) (*Connector, error) {
	if cfg.Channel == "" {
		cfg.Channel = res.InstanceName(Name)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	vocab, _ := ParseVocabulary(cfg.ResStatus)
	if cfg.ReportURL != "" && res.Receipts == nil {
		return nil, errors.New("ota: report_url needs the hub's receipts (connectors.NewResources)")
	}
	base, err := connectors.NewBase(Name, res, cfg.HTTP, connectors.WithErrorDescriber(describeError))
	if err != nil {
		return nil, err
	}
	return &Connector{Base: base, cfg: cfg,
		reader: Reader{Connector: base.Name(), Channel: cfg.Channel, Vocabulary: vocab, Cards: cfg.CardPolicy}}, nil
}

// ARIEnabled reports whether the connector has somewhere to push ARI to.
func (c *Connector) ARIEnabled() bool { return c.cfg.ARIURL != "" }

// HandleEvent reports no-shows of the channel's bookings, when report_url
// is set (reservations.reports). ARI goes out through PushARI.
func (c *Connector) HandleEvent(ctx context.Context, e canonical.Event) error {
	return c.reportNoShow(ctx, e)
}

// PushARI sends u (in the channel's codes) as OTA notifications, at most
// ARIMaxItems entries each, and fails unless the channel answers Success.
func (c *Connector) PushARI(ctx context.Context, u canonical.ARIUpdate) error {
	if !c.ARIEnabled() {
		return connectors.Permanent(errors.New("ota: ari_url is not configured"))
	}
	opts := ARIOptions{URL: func(string) string { return c.cfg.ARIURL }, Route: "/ari",
		InvCount: c.cfg.ARIAvailability == "invcount", Occupancy: c.cfg.ARIOccupancy, MaxItems: c.cfg.ARIMaxItems}
	if c.cfg.Auth == AuthPOS {
		opts.POS = &POS{Sources: []Source{{RequestorID: &RequestorID{Type: "10", ID: c.cfg.ARIUser, MessagePassword: c.cfg.ARIPassword}}}}
	} else {
		opts.User, opts.Password = c.cfg.ARIUser, c.cfg.ARIPassword
	}
	if err := PostARI(ctx, c.Client, u, opts); err != nil {
		return err
	}
	c.Logger.DebugContext(ctx, "pushed ARI", "hotel", u.PropertyID, "availability", len(u.Availability),
		"restrictions", len(u.Restrictions), "rates", len(u.Rates), "correlation_id", canonical.CorrelationID(ctx))
	return nil
}

// ARIOptions say how PostARI reaches a channel.
type ARIOptions struct {
	// URL returns where a message with the root element named root goes.
	URL func(root string) string
	// Route names the endpoint for the circuit breaker and logs; "" means
	// the root element's name.
	Route     string
	InvCount  bool // availability as OTA_HotelInvCountNotifRQ
	Occupancy int  // NumberOfGuests of rates; 0 leaves it out
	MaxItems  int  // most entries per message
	POS       *POS // credentials in the message, for partners that want them there
	// User and Password, when set, go as HTTP basic auth.
	User, Password string
}

// PostARI renders u as OTA notifications (see ARIMessages), POSTs each with
// client, and fails unless the channel answers Success. Connectors of
// OTA-speaking channels (ota, bookingcom) push with it.
func PostARI(ctx context.Context, client *connectors.Client, u canonical.ARIUpdate, opts ARIOptions) error {
	for _, part := range connectors.SplitARI(u, opts.MaxItems) {
		msgs, err := ARIMessages(part, opts.InvCount, opts.Occupancy, opts.POS)
		if err != nil {
			return connectors.Permanent(fmt.Errorf("ota: render ARI: %w", err))
		}
		for _, m := range msgs {
			root, _ := connectors.CheckXML(m)
			h := http.Header{}
			// Setting values is idempotent: the message may be sent again.
			sum := sha256.Sum256(m)
			h.Set(connectors.IdempotencyHeader, fmt.Sprintf("%x", sum[:16]))
			h.Set("Accept", "text/xml")
			if opts.User != "" {
				h.Set("Authorization", BasicAuth(opts.User, opts.Password))
			}
			route := opts.Route
			if route == "" {
				route = "/" + root.Local
			}
			resp, err := client.Do(ctx, connectors.Request{Method: http.MethodPost, URL: opts.URL(root.Local), Route: route, Header: h,
				Body: m, ContentType: "text/xml; charset=utf-8"})
			if err != nil {
				return err
			}
			if err := ParseRS(resp.Body); err != nil {
				return err
			}
		}
	}
	return nil
}

// BasicAuth returns the value of an Authorization header for HTTP basic auth.
func BasicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// describeError reads an OTA reply with Errors from a failed call.
func describeError(_ int, body []byte) string {
	if err := ParseRS(body); err != nil && strings.Contains(err.Error(), "partner refused") {
		return err.Error()
	}
	return ""
}
