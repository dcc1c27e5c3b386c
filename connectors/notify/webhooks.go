package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/router"
)

// webhookClient is the HTTP client of deliveries (TargetPolicy.Client).
type webhookClient = *http.Client

// Metadata of a delivery message.
const (
	metaSubscription = "webhook_subscription"
	metaWebhookID    = "webhook_id"
)

// idSpace makes the ids Roomwire derives from other ids (a delivery per
// subscription and event, a notification per dead letter).
var idSpace = uuid.MustParse("0b6f1d4e-54a4-4c3e-9a55-2f7f0e6c9d01")

func derivedID(parts ...string) string {
	return uuid.NewSHA1(idSpace, []byte(strings.Join(parts, "\x00"))).String()
}

// decodeEvent reads a canonical event; a message that is none can never
// succeed and goes to the dead letters.
func decodeEvent(msg *message.Message) (canonical.Event, error) {
	var e canonical.Event
	if err := connectors.DecodeJSON(msg.Payload, &e); err != nil {
		return e, router.Permanentf("notify: not a canonical event: %w", err)
	}
	return e, nil
}

// dispatchEvent turns a reservation event into one delivery message per
// subscription that wants it.
func (n *Service) dispatchEvent(msg *message.Message) error {
	// Most events have no subscription: look before decoding the event.
	// The relay names the type and property of every event it publishes.
	if t, property := msg.Metadata.Get(router.MetadataEventType), msg.Metadata.Get(router.MetadataPropertyID); t != "" && property != "" {
		if subs, err := n.matching(msg.Context(), t, property); err != nil || len(subs) == 0 {
			return err
		}
	}
	e, err := decodeEvent(msg)
	if err != nil {
		return err
	}
	if !e.Type.IsReservation() || e.Reservation == nil {
		return nil
	}
	data, err := reservationData(e.Reservation)
	if err != nil {
		return router.Permanent(err)
	}
	return n.dispatch(msg.Context(), Notification{ID: e.ID, Type: string(e.Type), Timestamp: e.OccurredAt.UTC(),
		PropertyID: e.PropertyID, Data: data}, e.Reservation.ID)
}

// dispatch publishes notif to every matching subscription. The delivery
// messages' ids derive from the subscription and the notification, so a
// dispatch repeated after a crash yields the same messages, which the
// delivery consumer deduplicates.
func (n *Service) dispatch(ctx context.Context, notif Notification, reservationID string) error {
	subs, err := n.matching(ctx, notif.Type, notif.PropertyID)
	if err != nil || len(subs) == 0 {
		return err
	}
	body, err := json.Marshal(notif)
	if err != nil {
		return router.Permanent(err)
	}
	msgs := make([]*message.Message, 0, len(subs))
	for _, sub := range subs {
		m := router.NewMessage(ctx, DeliveryMessageID(sub, notif.ID), "", body)
		m.Metadata.Set(router.MetadataPartitionKey, sub)
		m.Metadata.Set(router.MetadataEventType, notif.Type)
		m.Metadata.Set(metaSubscription, sub)
		m.Metadata.Set(metaWebhookID, notif.ID)
		if notif.PropertyID != "" {
			m.Metadata.Set(router.MetadataPropertyID, notif.PropertyID)
		}
		if reservationID != "" {
			m.Metadata.Set(router.MetadataReservationID, reservationID)
		}
		msgs = append(msgs, m)
	}
	if err := n.publisher.Publish(TopicWebhookDeliveries, msgs...); err != nil {
		return fmt.Errorf("notify: publish %d webhook deliveries: %w", len(msgs), err)
	}
	return nil
}

// deliver POSTs one signed webhook. Any answer but 2xx is a failure the
// backbone retries, parks behind the subscription's breaker, and finally
// dead-letters; 410 Gone disables the subscription at once.
func (n *Service) deliver(msg *message.Message) error {
	ctx := msg.Context()
	subID, webhookID := msg.Metadata.Get(metaSubscription), msg.Metadata.Get(metaWebhookID)
	if subID == "" || webhookID == "" {
		return router.Permanentf("notify: delivery message without subscription or webhook id")
	}
	sub, err := n.subscription(ctx, subID)
	if errors.Is(err, errNotFound) {
		n.logger.InfoContext(ctx, "webhook not sent: the subscription was deleted", "subscription", subID)
		return nil
	}
	if err != nil {
		return err
	}
	if sub.DisabledAt != nil {
		return router.Permanentf("webhook subscription %s is disabled (%s); enable it, then replay this dead letter", subID, sub.DisabledReason)
	}
	if done, err := n.deliveredBefore(ctx, subID, webhookID); err != nil || done {
		return err
	}
	d := Delivery{WebhookID: webhookID, EventType: msg.Metadata.Get(router.MetadataEventType)}
	status, callErr := n.post(ctx, sub, webhookID, msg.Payload, &d)
	if ctx.Err() != nil && errors.Is(callErr, context.Canceled) {
		return callErr // shutting down: nothing was learned of the subscriber
	}
	if err := n.recordAttempt(context.WithoutCancel(ctx), subID, d); err != nil {
		n.logger.WarnContext(ctx, "webhook attempt not logged", "subscription", subID, "error", err)
	}
	if callErr == nil {
		return nil
	}
	callErr = fmt.Errorf("webhook %s: %w", subID, callErr)
	switch {
	case status == http.StatusGone:
		return router.Permanent(callErr)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		if after := d.retryAfter; after > 0 {
			return router.RetryAfter(callErr, after)
		}
	}
	return callErr
}

// post makes one attempt and fills d with what happened.
func (n *Service) post(ctx context.Context, sub Subscription, webhookID string, body []byte, d *Delivery) (int, error) {
	start := time.Now()
	defer func() { d.DurationMS = int(time.Since(start).Milliseconds()) }()
	sig, err := Sign(sub.secret, webhookID, start, body)
	if err != nil {
		d.Error = err.Error()
		return 0, router.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		d.Error = "bad URL"
		return 0, router.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roomwire-Webhooks/1")
	req.Header.Set(HeaderWebhookID, webhookID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(start.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, sig)
	resp, err := n.client.Do(req)
	if err != nil {
		// The URL may carry a token in its query: say what failed, not where.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		d.Error = err.Error()
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // only to reuse the connection
	d.StatusCode = resp.StatusCode
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		d.Delivered = true
		return resp.StatusCode, nil
	}
	d.Error = fmt.Sprintf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		d.retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, errors.New(d.Error)
}

// sweepState is what the dead letter sweep has reported.
type sweepState struct {
	watermark time.Time            // dead letters failing since then are looked at
	sent      map[string]time.Time // notification id -> the failure it reported
}

// sweepGrace looks back past the newest failure seen: a dead letter is
// written a moment after its last failure, so one may appear with an
// earlier time than another already seen.
const sweepGrace = 30 * time.Second

// sweepDeadLetters tells subscribers of every message given up on since
// the watermark: booking.unmapped for a missing code mapping,
// delivery.failed for anything else. A message dead-lettered again (after
// a replay) is reported again. Notification consumers' own dead letters
// are left out, so a failing subscriber cannot start a loop.
func (n *Service) sweepDeadLetters(ctx context.Context, st *sweepState) error {
	if n.backbone == nil {
		return nil
	}
	newest := st.watermark
	f := router.DeadLetterFilter{FailedSince: st.watermark, Limit: 500}
	for {
		dls, err := n.backbone.DeadLetters().List(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range dls {
			f.After = d.ID
			if d.LastFailedAt.After(newest) {
				newest = d.LastFailedAt
			}
			if strings.HasPrefix(d.Consumer, "notify.") {
				continue
			}
			id := derivedID("deadletter", d.Consumer, d.MessageID, d.LastFailedAt.UTC().Format(time.RFC3339Nano))
			if _, done := st.sent[id]; done {
				continue
			}
			if err := n.reportDeadLetter(ctx, id, d); err != nil {
				return err
			}
			st.sent[id] = d.LastFailedAt
		}
		if len(dls) < f.Limit {
			break
		}
	}
	st.watermark = newest.Add(-sweepGrace)
	for id, at := range st.sent {
		if at.Before(st.watermark) {
			delete(st.sent, id)
		}
	}
	return nil
}

func (n *Service) reportDeadLetter(ctx context.Context, id string, d router.DeadLetter) error {
	f := DeliveryFailure{MessageID: d.MessageID, Consumer: d.Consumer, Connector: d.Connector, Reason: d.Reason, Error: d.Error,
		OriginalTopic: d.OriginalTopic, EventType: d.EventType, ReservationID: d.ReservationID, Attempts: d.Attempts}
	t := EventDeliveryFailed
	if d.Reason == router.ReasonUnmapped {
		t = EventBookingUnmapped
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	property := d.PropertyID
	if property == "" {
		property = d.PartitionKey
	}
	return n.dispatch(ctx, Notification{ID: id, Type: t, Timestamp: d.LastFailedAt.UTC(), PropertyID: property, Data: data}, d.ReservationID)
}

// reportUnhealthy dispatches channel.unhealthy once per outage: its id
// derives from the breaker and when its oldest message was parked.
func (n *Service) reportUnhealthy(ctx context.Context, p router.ParkedBacklog, reported map[string]bool) error {
	id := derivedID("unhealthy", p.Consumer, p.Breaker, p.Since.UTC().Format(time.RFC3339Nano))
	if reported[id] {
		return nil
	}
	data, err := json.Marshal(ChannelHealth{Breaker: p.Breaker, ParkedSince: p.Since.UTC(), ParkedCount: p.Messages, ConsumerName: p.Consumer})
	if err != nil {
		return err
	}
	n.logger.WarnContext(ctx, "channel unhealthy: messages wait behind its open breaker", "breaker", p.Breaker,
		"consumer", p.Consumer, "parked", p.Messages, "since", p.Since)
	if err := n.dispatch(ctx, Notification{ID: id, Type: EventChannelUnhealthy, Timestamp: time.Now().UTC(), Data: data}, ""); err != nil {
		return err
	}
	reported[id] = true
	return nil
}

// DeliveryMessageID is the id of the delivery message of a notification to
// a subscription: the dedup identity of consumer notify.webhooks.
func DeliveryMessageID(subscriptionID, notificationID string) string {
	return derivedID("webhook", subscriptionID, notificationID)
}
