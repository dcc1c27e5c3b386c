package bookingcom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/ota"
)

// The two reservation feeds.
const (
	FeedNew    = "OTA_HotelResNotif"
	FeedModify = "OTA_HotelResModifyNotif"
)

// Pending is a reservation the feeds list that Roomwire has not acknowledged.
type Pending struct {
	Feed      string    `json:"feed"`
	ID        string    `json:"id"` // Booking.com's reservation id
	Hotel     string    `json:"hotel"`
	Revision  string    `json:"revision"`
	CreatedAt time.Time `json:"created_at"` // Booking.com's time, or when first seen
	Deadline  time.Time `json:"deadline"`   // when it goes to the hotel by email
	Warned    bool      `json:"warned"`
	// State says why it is not acknowledged: "delivering", "quarantined"
	// (unmapped codes; waits in the dead-letter topic), "unmapped" (unmapped
	// codes, refused by a sink that applies at once), "refused" (bad
	// message) or "ack failed".
	State     string `json:"state"`
	LastError string `json:"last_error,omitempty"`
}

// Metrics are the connector's counters and gauges.
type Metrics struct {
	Unacknowledged   int   `json:"unacknowledged"`    // reservations listed and not acknowledged
	NearDeadline     int   `json:"near_deadline"`     // of which past warn_after
	DeadlineWarnings int64 `json:"deadline_warnings"` // warnings given since start
	Acknowledged     int64 `json:"acknowledged"`      // reservations acknowledged since start
	Polls            int64 `json:"polls"`
	PollErrors       int64 `json:"poll_errors"`
}

// Run reads the feeds every PollInterval until ctx ends. A failed poll is
// logged and tried again at the next interval.
func (c *Connector) Run(ctx context.Context, sink connectors.Sink) error {
	t := time.NewTicker(time.Duration(c.cfg.PollInterval))
	defer t.Stop()
	for {
		if err := c.Poll(ctx, sink); err != nil && ctx.Err() == nil {
			c.Logger.WarnContext(ctx, "reading the Booking.com feeds failed", "error", connectors.SafeText(err.Error(), 300))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll reads both feeds once, delivers what they list, acknowledges what is
// durable, and warns of reservations near their deadline.
func (c *Connector) Poll(ctx context.Context, sink connectors.Sink) error {
	c.mu.Lock()
	c.metrics.Polls++
	c.mu.Unlock()
	err := errors.Join(c.pollFeed(ctx, sink, FeedNew), c.pollFeed(ctx, sink, FeedModify))
	if err != nil {
		c.mu.Lock()
		c.metrics.PollErrors++
		c.mu.Unlock()
	}
	c.checkDeadlines(ctx)
	return err
}

func (c *Connector) feedURL(feed string) string {
	u := c.cfg.APIURL + "/hotels/ota/" + feed
	if len(c.cfg.HotelIDs) > 0 {
		u += "?" + url.Values{"hotel_ids": {strings.Join(c.cfg.HotelIDs, ",")}}.Encode()
	}
	return u
}

func (c *Connector) header() http.Header {
	h := http.Header{}
	h.Set("Authorization", ota.BasicAuth(c.cfg.Username, c.cfg.Password))
	h.Set("Accept", "text/xml")
	return h
}

func (c *Connector) pollFeed(ctx context.Context, sink connectors.Sink, feed string) error {
	resp, err := c.Client.Do(ctx, connectors.Request{Method: http.MethodGet, URL: c.feedURL(feed), Route: "/hotels/ota/" + feed, Header: c.header()})
	if err != nil {
		return fmt.Errorf("bookingcom: read %s: %w", feed, err)
	}
	var rq ota.ResNotifRQ
	want := ota.RootResNotifRQ
	if feed == FeedModify {
		want = ota.RootResModifyNotifRQ
	}
	if _, err := connectors.DecodeXML(resp.Body, &rq, want); err != nil {
		return fmt.Errorf("bookingcom: %s: %w", feed, err)
	}
	var acks []ota.ReservationRS
	var ackKeys []string
	for _, h := range rq.Reservations() {
		key, ok := c.receive(ctx, sink, feed, &rq, &h)
		if !ok {
			continue
		}
		id, hotel := key.id, key.hotel
		acks = append(acks, ota.ReservationRS{UniqueID: &ota.UniqueID{Type: "14", ID: id}, HotelReservationIDs: []ota.HotelReservationID{
			{ResIDType: "14", ResIDValue: id},
			{ResIDType: "10", ResIDValue: connectors.ConfirmationReference(c.Name(), hotel, id)},
		}})
		ackKeys = append(ackKeys, key.receipt)
	}
	if len(acks) == 0 {
		return nil
	}
	if err := c.acknowledge(ctx, feed, acks); err != nil {
		for _, a := range acks {
			c.setState(feed, a.UniqueID.ID, "ack failed", err)
		}
		return err
	}
	for i, a := range acks {
		if err := c.Res.Receipts.Record(ctx, c.Name(), ackKeys[i]); err != nil {
			c.Logger.WarnContext(ctx, "could not record an acknowledgement; a repeat will be absorbed by the idempotent store", "error", err.Error())
		}
		c.mu.Lock()
		delete(c.pending, feed+"/"+a.UniqueID.ID)
		c.metrics.Acknowledged++
		c.mu.Unlock()
	}
	return nil
}

type received struct{ id, hotel, receipt string }

// receive delivers one listed reservation and reports whether to acknowledge it.
func (c *Connector) receive(ctx context.Context, sink connectors.Sink, feed string, rq *ota.ResNotifRQ, h *ota.HotelReservation) (received, bool) {
	id := ""
	if h.UniqueID != nil {
		id = h.UniqueID.ID
	}
	b, err := c.reader.Booking(rq, h)
	if err != nil {
		// Not acknowledged: the hotel gets it by email at the deadline, and
		// the warning says why before then.
		c.track(feed, id, "", "", h.CreateDateTime)
		c.setState(feed, id, "refused", err)
		c.Logger.ErrorContext(ctx, "Booking.com reservation refused", "feed", feed, "bookingcom_reservation", connectors.SafeText(id, 40),
			"error", connectors.SafeText(err.Error(), 300))
		return received{}, false
	}
	forceNew(rq, b)
	r := b.Reservation
	key := received{id: r.ExternalID, hotel: r.PropertyID, receipt: feed + ":" + r.ExternalID + ":" + b.Revision}
	c.track(feed, r.ExternalID, r.PropertyID, b.Revision, h.CreateDateTime)
	seen, err := c.Res.Receipts.Seen(ctx, c.Name(), key.receipt)
	if err != nil {
		c.setState(feed, r.ExternalID, "delivering", err)
		return key, false
	}
	if seen {
		// Acknowledged before, yet listed again: never import it twice.
		c.Logger.DebugContext(ctx, "reservation already acknowledged; acknowledging again", "bookingcom_reservation", r.ExternalID)
		return key, true
	}
	b.ReceivedAt = c.cfg.Now().UTC().Truncate(time.Millisecond)
	unmapped := connectors.CheckMapped(ctx, c.Res, c.Name(), *b)
	if connectors.IsRetryable(unmapped) {
		c.setState(feed, r.ExternalID, "delivering", unmapped)
		return key, false
	}
	if err := sink.Deliver(ctx, *b); err != nil {
		state := "delivering"
		if connectors.ClassOf(err) == connectors.ClassUnmapped {
			state = "unmapped" // a sink that applies at once refused it
		}
		c.setState(feed, r.ExternalID, state, err)
		c.Logger.WarnContext(ctx, "could not deliver a Booking.com reservation; not acknowledged", "bookingcom_reservation", r.ExternalID,
			"error", connectors.SafeText(err.Error(), 300))
		return key, false
	}
	if unmapped != nil {
		// Delivered to wait in quarantine; not acknowledged, so that the
		// email fallback still reaches the hotel if no one adds the mapping.
		c.setState(feed, r.ExternalID, "quarantined", unmapped)
		c.Logger.WarnContext(ctx, "Booking.com reservation quarantined: unmapped codes", "bookingcom_reservation", r.ExternalID,
			"hotel", r.PropertyID, "error", unmapped.Error())
		return key, false
	}
	c.Logger.InfoContext(ctx, "received Booking.com reservation", "feed", feed, "bookingcom_reservation", r.ExternalID,
		"hotel", r.PropertyID, "action", string(b.Action))
	return key, true
}

// acknowledge posts the OTA reply that tells Booking.com the reservations are Roomwire's.
func (c *Connector) acknowledge(ctx context.Context, feed string, list []ota.ReservationRS) error {
	rs := ota.ResNotifRS{XMLName: ota.RootResNotifRS, Version: "1.0", TimeStamp: c.cfg.Now().UTC().Format(time.RFC3339), Success: &struct{}{}}
	if feed == FeedModify {
		rs.XMLName, rs.HotelResModifies = ota.RootResModifyNotifRS, list
	} else {
		rs.HotelReservations = list
	}
	body, err := ota.Marshal(rs)
	if err != nil {
		return connectors.Permanent(err)
	}
	h := c.header()
	// Acknowledging twice is harmless, so the call may be retried.
	h.Set(connectors.IdempotencyHeader, "ack-"+ota.EchoOf(body))
	resp, err := c.Client.Do(ctx, connectors.Request{Method: http.MethodPost, URL: c.cfg.APIURL + "/hotels/ota/" + feed, Route: "/hotels/ota/" + feed,
		Header: h, Body: body, ContentType: "text/xml; charset=utf-8"})
	if err != nil {
		return fmt.Errorf("bookingcom: acknowledge %s: %w", feed, err)
	}
	return ota.ParseRS(resp.Body)
}

func (c *Connector) track(feed, id, hotel, revision, created string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := feed + "/" + id
	p, ok := c.pending[k]
	if !ok {
		now := c.cfg.Now().UTC()
		p = &Pending{Feed: feed, ID: id, CreatedAt: now}
		if t, err := time.Parse(time.RFC3339, created); err == nil && feed == FeedNew && t.Before(now) {
			p.CreatedAt = t.UTC()
		}
		p.Deadline = p.CreatedAt.Add(time.Duration(c.cfg.AckDeadline))
		c.pending[k] = p
	}
	p.Hotel, p.Revision, p.State, p.LastError = hotel, revision, "delivering", ""
}

func (c *Connector) setState(feed, id, state string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pending[feed+"/"+id]; ok {
		p.State = state
		if err != nil {
			p.LastError = connectors.SafeText(err.Error(), 300)
		}
	}
}

// checkDeadlines warns once of each reservation past WarnAfter: after its
// deadline Booking.com emails it to the hotel, and Roomwire misses it.
func (c *Connector) checkDeadlines(ctx context.Context) {
	now := c.cfg.Now().UTC()
	c.mu.Lock()
	var warn []Pending
	for _, p := range c.pending {
		if !p.Warned && now.Sub(p.CreatedAt) >= time.Duration(c.cfg.WarnAfter) {
			p.Warned = true
			c.metrics.DeadlineWarnings++
			warn = append(warn, *p)
		}
	}
	c.mu.Unlock()
	for _, p := range warn {
		c.Logger.WarnContext(ctx, "Booking.com reservation not acknowledged; it goes to the hotel by email at the deadline",
			"bookingcom_reservation", p.ID, "hotel", p.Hotel, "feed", p.Feed, "state", p.State, "deadline", p.Deadline,
			"minutes_left", int(p.Deadline.Sub(now).Minutes()), "last_error", p.LastError)
	}
}

// Status lists the reservations not acknowledged, oldest first.
func (c *Connector) Status() []Pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Pending, 0, len(c.pending))
	for _, p := range c.pending {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// Metrics returns the connector's counters and gauges.
func (c *Connector) Metrics() Metrics {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.metrics
	now := c.cfg.Now()
	for _, p := range c.pending {
		m.Unacknowledged++
		if now.Sub(p.CreatedAt) >= time.Duration(c.cfg.WarnAfter) {
			m.NearDeadline++
		}
	}
	return m
}

// StatusHandler serves GET with the metrics and the reservations not
// acknowledged, as JSON. Mount it for operators, e.g. at
// /v1/connectors/bookingcom/status behind the admin key.
func (c *Connector) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct { //nolint:errcheck
			Metrics        Metrics   `json:"metrics"`
			Unacknowledged []Pending `json:"unacknowledged"`
		}{c.Metrics(), c.Status()})
	})
}

// HandleEvent reports no-shows and declined cards of Booking.com's bookings
// (reservations.reports). ARI goes out through PushARI.
func (c *Connector) HandleEvent(ctx context.Context, e canonical.Event) error {
	return c.handleReservationEvent(ctx, e)
}

// PushARI sends u (in Booking.com's codes) as OTA_HotelAvailNotif and
// OTA_HotelRateAmountNotif.
func (c *Connector) PushARI(ctx context.Context, u canonical.ARIUpdate) error {
	return ota.PostARI(ctx, c.Client, u, ota.ARIOptions{
		URL:      func(root string) string { return c.cfg.APIURL + "/hotels/ota/" + strings.TrimSuffix(root, "RQ") },
		MaxItems: c.cfg.ARIMaxItems, User: c.cfg.Username, Password: c.cfg.Password,
	})
}
