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
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/ota"
)

// Name is the connector's registered name. An instance's bookings carry its
// instance name as their channel: "bookingcom" unless configured otherwise.
const Name = "bookingcom"

// Config configures the connector.
type Config struct {
	// APIURL is Booking.com's supply XML API. Default https://secure-supply-xml.booking.com.
	APIURL   string `json:"api_url"`
	Username string `json:"username"`
	Password string `json:"password"`
	// HotelIDs limits the feeds to these hotels; empty: every hotel of the account.
	HotelIDs []string `json:"hotel_ids"`
	// PollInterval is how often the feeds are read. Default 30s.
	PollInterval connectors.Duration `json:"poll_interval"`
	// AckDeadline is when Booking.com gives up on Roomwire and emails an
	// unacknowledged reservation to the hotel. Default 30m.
	AckDeadline connectors.Duration `json:"ack_deadline"`
	// WarnAfter is how long a reservation may wait unacknowledged before
	// the connector warns. Default 20m.
	WarnAfter connectors.Duration `json:"warn_after"`
	// CardPolicy says what to do with a full card number: drop or refuse.
	CardPolicy connectors.CardPolicy `json:"card_policy"`
	// ARIMaxItems bounds the entries of one ARI message. Default 500.
	ARIMaxItems int `json:"ari_max_items"`
	// Timeout bounds one HTTP attempt. Default 10s.
	Timeout connectors.Duration `json:"timeout"`
	// RateLimit is the most requests per second to the channel (0: none).
	RateLimit int `json:"rate_limit"`

	HTTP connectors.HTTPConfig `json:"-"`
	// Now is the clock; tests set it.
	Now func() time.Time `json:"-"`
}

// Fields is the connector's configuration spec.
var Fields = []connectors.Field{
	{Name: "api_url", Type: "string", Default: "https://secure-supply-xml.booking.com", Description: "Booking.com supply XML API base URL"},
	{Name: "username", Type: "string", Env: "ROOMWIRE_BOOKINGCOM_USERNAME", Required: true, Description: "machine account user (HTTP basic auth)"},
	{Name: "password", Type: "string", Env: "ROOMWIRE_BOOKINGCOM_PASSWORD", Required: true, Secret: true, Description: "machine account password"},
	{Name: "hotel_ids", Type: "[]string", Description: "Booking.com hotel ids to read; empty: every hotel of the account"},
	{Name: "poll_interval", Type: "duration", Default: "30s", Description: "how often the reservation feeds are read"},
	{Name: "ack_deadline", Type: "duration", Default: "30m", Description: "when Booking.com emails an unacknowledged reservation to the hotel instead"},
	{Name: "warn_after", Type: "duration", Default: "20m", Description: "warn when a reservation has waited this long unacknowledged"},
	connectors.CardPolicyField,
	{Name: "ari_max_items", Type: "int", Default: "500", Description: "most entries in one ARI message"},
	connectors.TimeoutField,
	connectors.RateLimitField("10"),
}

func (c *Config) setDefaults() {
	if c.APIURL == "" {
		c.APIURL = "https://secure-supply-xml.booking.com"
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.PollInterval == 0 {
		c.PollInterval = connectors.Duration(30 * time.Second)
	}
	if c.AckDeadline == 0 {
		c.AckDeadline = connectors.Duration(30 * time.Minute)
	}
	if c.WarnAfter == 0 {
		c.WarnAfter = connectors.Duration(20 * time.Minute)
	}
	if c.CardPolicy == "" {
		c.CardPolicy = connectors.CardDrop
	}
	if c.ARIMaxItems == 0 {
		c.ARIMaxItems = 500
	}
	c.HTTP.Configure(c.Timeout, c.RateLimit)
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate names every problem with the configuration.
func (c Config) Validate() error {
	var errs []string
	if !connectors.ValidHTTPURL(c.APIURL) {
		errs = append(errs, "api_url: must be an http(s) URL")
	}
	if c.Username == "" || c.Password == "" {
		errs = append(errs, "username and password: are required")
	}
	if c.PollInterval < connectors.Duration(10*time.Millisecond) {
		errs = append(errs, "poll_interval: must be at least 10ms")
	}
	if c.WarnAfter >= c.AckDeadline {
		errs = append(errs, "warn_after: must be shorter than ack_deadline, or the warning comes too late to act on")
	}
	if !c.CardPolicy.Valid() {
		errs = append(errs, "card_policy: must be drop or refuse")
	}
	if c.ARIMaxItems < 1 || c.ARIMaxItems > 10000 {
		errs = append(errs, "ari_max_items: must be between 1 and 10000")
	}
	if err := c.HTTP.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return errors.New("bookingcom: " + strings.Join(errs, "; "))
	}
	return nil
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
		Fields:       Fields,
		Translator:   Translator{},
		New:          connectors.Configured(Fields, New),
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
