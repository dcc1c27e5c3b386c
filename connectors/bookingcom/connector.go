// Package bookingcom connects Roomwire to Booking.com's pull model. Booking.com
// does not push: Roomwire polls its reservations feeds, in OTA XML as
// Booking.com's B.XML reservations API has them, and acknowledges each
// reservation only once the canonical booking is durable:
//
//	GET  {api_url}/hotels/ota/OTA_HotelResNotif        new reservations (OTA_HotelResNotifRQ)
//	POST {api_url}/hotels/ota/OTA_HotelResNotif        acknowledge them (OTA_HotelResNotifRS)
//	GET  {api_url}/hotels/ota/OTA_HotelResModifyNotif  modifications and cancellations (OTA_HotelResModifyNotifRQ)
//	POST {api_url}/hotels/ota/OTA_HotelResModifyNotif  acknowledge them (OTA_HotelResModifyNotifRS)
//	POST {api_url}/hotels/ota/OTA_HotelAvailNotif      availability and restrictions
//	POST {api_url}/hotels/ota/OTA_HotelRateAmountNotif rates
//
// with HTTP basic auth. The feeds list what is not acknowledged yet; a
// reservation changed before it was acknowledged is listed in the new feed in
// its latest state, and is handled as a new booking (the store creates a
// booking it has not seen whatever the action). A reservation not
// acknowledged within the ack deadline (30 minutes) is sent to the hotel by
// email instead, so the connector warns in its log, its metrics and its
// status well before. Package bookingcomsim simulates the feeds.
package bookingcom

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/ota"
)

// Name is the connector's registered name. An instance's bookings carry its
// instance name as their channel: "bookingcom" unless configured otherwise.
const Name = "bookingcom"

// Config configures the connector. Its tags are its configuration spec
// (package config/spec).
type Config struct {
	APIURL       string              `json:"api_url" default:"https://secure-supply-xml.booking.com" format:"url" doc:"Booking.com supply XML API base URL"`
	Username     string              `json:"username" env:"ROOMWIRE_BOOKINGCOM_USERNAME" required:"true" doc:"machine account user (HTTP basic auth)"`
	Password     string              `json:"password" env:"ROOMWIRE_BOOKINGCOM_PASSWORD" required:"true" secret:"true" doc:"machine account password"`
	HotelIDs     []string            `json:"hotel_ids" zero:"every hotel of the account" doc:"Booking.com hotel ids to read"`
	PollInterval connectors.Duration `json:"poll_interval" default:"30s" min:"10ms" doc:"how often the reservation feeds are read"`
	// AckDeadline is when Booking.com gives up on Roomwire.
	AckDeadline connectors.Duration `json:"ack_deadline" default:"30m" doc:"when Booking.com emails an unacknowledged reservation to the hotel instead"`
	WarnAfter   connectors.Duration `json:"warn_after" default:"20m" doc:"warn when a reservation has waited this long unacknowledged"`
	connectors.CardSetting
	ARIMaxItems int `json:"ari_max_items" default:"500" min:"1" max:"10000" doc:"most entries in one ARI message"`
	connectors.HTTPTimeout
	RateLimit int `json:"rate_limit" default:"10" zero:"no limit" doc:"most requests per second sent to Booking.com, retries included"`

	HTTP connectors.HTTPConfig `json:"-"`
	// Now is the clock; tests set it.
	Now func() time.Time `json:"-"`
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	c.HTTP.Configure(c.Timeout, c.RateLimit, &c.APIURL)
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	var late error
	if c.WarnAfter >= c.AckDeadline {
		late = errors.New("warn_after: must be shorter than ack_deadline, or the warning comes too late to act on")
	}
	return connectors.ValidateConfig(Name, &c, late, c.HTTP.Validate())
}

// Translator reads Booking.com's reservation feeds (one reservation at a time).
type Translator struct{}

var _ connectors.Translator = Translator{}

// ToCanonical reads an OTA_HotelResNotifRQ (the new feed) or
// OTA_HotelResModifyNotifRQ (the modifications feed) holding one reservation.
func (Translator) ToCanonical(data []byte) (connectors.Message, error) {
	rq, err := ota.ParseResNotif(data)
	if err != nil {
		return connectors.Message{}, fmt.Errorf("bookingcom: %w", err)
	}
	list := rq.Reservations()
	if len(list) != 1 {
		return connectors.Message{}, connectors.Permanent(fmt.Errorf("bookingcom: the feed holds %d reservations; translate them one at a time", len(list)))
	}
	b, err := reader(Name, connectors.CardDrop).Booking(rq, &list[0])
	if err != nil {
		return connectors.Message{}, fmt.Errorf("bookingcom: %w", err)
	}
	forceNew(rq, b)
	return connectors.Message{Booking: b}, nil
}

// FromCanonical renders a reservation as the new feed lists it.
func (Translator) FromCanonical(r *canonical.Reservation) ([]byte, error) {
	return ota.Translator{}.FromCanonical(r)
}

// reader reads Booking.com's OTA with its status vocabulary, for the
// instance called name.
func reader(name string, cards connectors.CardPolicy) ota.Reader {
	return ota.Reader{Connector: name, Channel: name, Vocabulary: ota.DefaultVocabulary, Cards: cards}
}

// forceNew makes a reservation of the new feed a new booking, unless it is
// cancelled: the new feed lists a reservation changed before it was
// acknowledged in its latest state, as a new one.
func forceNew(rq *ota.ResNotifRQ, b *canonical.ChannelBooking) {
	if rq.XMLName.Local == ota.RootResNotifRQ.Local && b.Action == canonical.ChannelModify {
		b.Action = canonical.ChannelNew
	}
}

func init() {
	connectors.Register(connectors.Spec{
		Name:         Name,
		Summary:      "Booking.com: reservation feeds pulled and acknowledged once durable, availability and rates pushed",
		Capabilities: []connectors.Capability{connectors.CapReservationsInbound, connectors.CapARIOutbound, connectors.CapReservationReports},
		Fields:       spec.Settings[Config](),
		Translator:   Translator{},
		New:          connectors.Configured(New),
	})
}

// Connector is the Booking.com connector.
type Connector struct {
	connectors.Base
	cfg    Config
	reader ota.Reader

	mu      sync.Mutex
	pending map[string]*Pending // by feed and reservation id
	metrics Metrics
}

// Interface guards.
var (
	_ connectors.Puller    = (*Connector)(nil)
	_ connectors.Outbound  = (*Connector)(nil)
	_ connectors.ARIPusher = (*Connector)(nil)
	_ connectors.Closer    = (*Connector)(nil)
)

// New returns a connector. res must carry the receipts store.
func New(cfg Config, res connectors.Resources) (*Connector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if res.Receipts == nil {
		return nil, errors.New("bookingcom: the hub must provide receipts (connectors.NewResources)")
	}
	base, err := connectors.NewBase(Name, res, cfg.HTTP, connectors.WithErrorDescriber(describeError))
	if err != nil {
		return nil, err
	}
	return &Connector{Base: base, cfg: cfg, reader: reader(base.Name(), cfg.CardPolicy), pending: map[string]*Pending{}}, nil
}

func describeError(_ int, body []byte) string {
	if msg := describeReportFault(body); msg != "" {
		return msg
	}
	if err := ota.ParseRS(body); err != nil && strings.Contains(err.Error(), "partner refused") {
		return err.Error()
	}
	return ""
}
