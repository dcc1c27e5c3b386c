package apaleo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// maxWebhookBytes bounds a webhook body; Apaleo's are a few hundred bytes.
const maxWebhookBytes = 64 << 10

// reservationEvents are the reservation webhook types the connector acts on.
var reservationEvents = map[string]bool{
	"created": true, "changed": true, "amended": true, "canceled": true,
	"checked-in": true, "checked-out": true, "set-to-no-show": true,
}

// Webhook returns the receiver of Apaleo's webhooks, served at POST /webhooks
// below the connector's prefix (/v1/connectors/apaleo/webhooks). It checks the
// basic-auth credentials, answers health checks, fetches the reservation a
// reservation event names (the payload carries only its id), and acknowledges
// once the sink has it. A repeated delivery is acknowledged without
// fetching again. Failures answer in Apaleo's error format: 503 for what a
// retry may cure, so Apaleo sends again, and 422 for what it cannot.
func (c *Connector) Webhook(sink connectors.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		if !c.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="roomwire apaleo webhooks"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong basic-auth credentials")
			return
		}
		data, err := connectors.ReadLimited(r.Body, maxWebhookBytes)
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
			return
		}
		ctx := r.Context()
		if id := r.Header.Get(connectors.CorrelationHeader); canonical.ValidCorrelationID(id) && canonical.CorrelationID(ctx) == "" {
			ctx = canonical.WithCorrelationID(ctx, id)
		}
		status, err := c.HandleWebhook(ctx, data, sink)
		if err != nil {
			c.Logger.WarnContext(ctx, "webhook refused", "status", status, "error", err.Error(),
				"correlation_id", canonical.CorrelationID(ctx))
			text := err.Error()
			if status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "30")
				// The cause (a database or partner error) is logged, not sent.
				text = "Roomwire cannot take the webhook now; send it again later"
			}
			writeError(w, status, text)
			return
		}
		w.WriteHeader(status)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Apaleo webhooks are received with POST at /webhooks")
	})
	return mux
}

// authorized checks the basic-auth credentials in constant time. With no
// credentials configured, webhooks are refused: an open receiver would let
// anyone make Roomwire fetch reservations.
func (c *Connector) authorized(r *http.Request) bool {
	return connectors.BasicAuthorized(r, c.cfg.WebhookUser, c.cfg.WebhookPassword)
}

// HandleWebhook processes one webhook body and returns the HTTP status to
// answer with.
func (c *Connector) HandleWebhook(ctx context.Context, data []byte, sink connectors.Sink) (int, error) {
	var hook Webhook
	if err := connectors.DecodeJSON(data, &hook); err != nil {
		return http.StatusBadRequest, fmt.Errorf("apaleo webhook: %w", err)
	}
	if hook.Topic == "System" || hook.Type == "healthcheck" {
		return http.StatusOK, nil
	}
	if hook.Topic != "Reservation" || !reservationEvents[hook.Type] {
		c.Logger.DebugContext(ctx, "webhook ignored", "topic", connectors.SafeText(hook.Topic, 40), "type", connectors.SafeText(hook.Type, 40))
		return http.StatusOK, nil
	}
	if hook.ID == "" || hook.Data.EntityID == "" {
		return http.StatusBadRequest, errors.New("apaleo webhook: id and data.entityId are required")
	}
	if !connectors.ValidPartnerID(hook.ID) {
		return http.StatusBadRequest, errors.New("apaleo webhook: id must be 1 to 128 characters of valid UTF-8 without control characters")
	}
	if !connectors.ValidPartnerID(hook.Data.EntityID) {
		return http.StatusBadRequest, errors.New("apaleo webhook: data.entityId must be 1 to 128 characters of valid UTF-8 without control characters")
	}
	seen, err := c.Res.Receipts.Seen(ctx, c.Name(), hook.ID)
	if err != nil {
		return http.StatusServiceUnavailable, err
	}
	if seen {
		c.Logger.DebugContext(ctx, "webhook already handled", "webhook_id", hook.ID)
		return http.StatusOK, nil
	}
	if _, err := c.receive(ctx, hook.Data.EntityID, stayEvents[hook.Type], sink); err != nil {
		if connectors.IsRetryable(err) {
			return http.StatusServiceUnavailable, err
		}
		return http.StatusUnprocessableEntity, err
	}
	if err := c.Res.Receipts.Record(ctx, c.Name(), hook.ID); err != nil {
		// The booking is durable; a repeat will be absorbed by the idempotent applier.
		c.Logger.WarnContext(ctx, "could not record webhook receipt", "error", err.Error())
	}
	return http.StatusOK, nil
}

// stayEvents are the webhooks of the stay's transitions, which Roomwire
// takes in even for the reservations it booked in Apaleo.
var stayEvents = map[string]bool{"checked-in": true, "checked-out": true, "set-to-no-show": true}

// receive fetches a reservation and delivers it, unless Roomwire made it;
// then only a change of the stay's status (stay) is delivered. It reports
// whether it delivered.
func (c *Connector) receive(ctx context.Context, id string, stay bool, sink connectors.Sink) (bool, error) {
	r, err := c.GetReservation(ctx, id)
	if err != nil {
		return false, err
	}
	return c.deliver(ctx, r, stay, sink)
}

// deliver translates a reservation and hands it to the sink. A reservation
// Roomwire made (it carries Roomwire's channel code, or is linked as
// Roomwire's) is not delivered back, except its status when stay says the
// front desk changed it.
func (c *Connector) deliver(ctx context.Context, r *Reservation, stay bool, sink connectors.Sink) (bool, error) {
	link, err := c.Res.Links.FindByPartnerID(ctx, c.Name(), r.ID)
	switch {
	case err != nil && !errors.Is(err, connectors.ErrNoLink):
		return false, connectors.Retryable(err)
	case err != nil:
		link = nil
	}
	if r.ChannelCode == c.cfg.ChannelCode || (link != nil && link.Origin == connectors.OriginRoomwire) {
		if !stay || link == nil {
			return false, nil
		}
		return c.deliverStatus(ctx, r, link, sink)
	}
	b, err := c.booking(r)
	if err != nil {
		return false, err
	}
	b.ReceivedAt = time.Now().UTC().Truncate(time.Millisecond)
	if err := sink.Deliver(ctx, *b); err != nil {
		return false, fmt.Errorf("apaleo: deliver reservation %s: %w", connectors.SafeText(r.ID, 40), err)
	}
	c.Logger.InfoContext(ctx, "received reservation from Apaleo", "apaleo_reservation", r.ID, "property", r.Property.ID,
		"status", r.Status, "correlation_id", canonical.CorrelationID(ctx))
	return true, nil
}

// deliverStatus hands the sink the status the front desk set on a
// reservation Roomwire booked in Apaleo; the store applies it by the
// lifecycle's rules.
func (c *Connector) deliverStatus(ctx context.Context, r *Reservation, link *connectors.Link, sink connectors.Sink) (bool, error) {
	b, err := c.booking(r)
	if err != nil {
		return false, err
	}
	b.Action = canonical.ChannelStatus
	b.Reservation.ID = link.ReservationID
	b.ReceivedAt = time.Now().UTC().Truncate(time.Millisecond)
	if err := sink.Deliver(ctx, *b); err != nil {
		return false, fmt.Errorf("apaleo: deliver the status of reservation %s: %w", connectors.SafeText(r.ID, 40), err)
	}
	c.Logger.InfoContext(ctx, "received a status from Apaleo", "apaleo_reservation", r.ID, "reservation_id", link.ReservationID,
		"status", r.Status, "correlation_id", canonical.CorrelationID(ctx))
	return true, nil
}

// booking translates an Apaleo reservation into a booking of this
// instance: its channel and connector are the instance's name ("apaleo"
// unless configured otherwise), so two Apaleo accounts keep their bookings,
// links and mappings apart.
func (c *Connector) booking(r *Reservation) (*canonical.ChannelBooking, error) {
	b, err := ReservationToBooking(r)
	if err != nil {
		return nil, err
	}
	b.Connector, b.Reservation.Channel = c.Name(), c.Name()
	return b, nil
}

// writeError answers in Apaleo's own error format.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Error{Messages: []string{connectors.SafeText(msg, 500)}}) //nolint:errcheck
}
