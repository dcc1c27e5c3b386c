package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
)

// Subscription is an integrator's endpoint and the events it wants. Its
// secret is shown once, when created.
type Subscription struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	Events     []string  `json:"events"`
	Properties []string  `json:"properties"` // empty: every property
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	// Status is "active" or "disabled" (it kept failing; see
	// DisabledReason, and POST /v1/webhooks/{id}/enable).
	Status         string     `json:"status"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	Failures       int        `json:"consecutive_failures"`

	allProperties bool
	secret        string
}

// visibleTo reports whether a key with scope may see and change s: it must
// cover every property s covers.
func (s *Subscription) visibleTo(scope reservations.Scope) bool {
	if scope.All {
		return true
	}
	if s.allProperties {
		return false
	}
	for _, p := range s.Properties {
		if !scope.Allows(p) {
			return false
		}
	}
	return true
}

// Delivery is one attempt to deliver a webhook, as the delivery log shows it.
type Delivery struct {
	ID          int64     `json:"id"`
	WebhookID   string    `json:"webhook_id"`
	EventType   string    `json:"event_type"`
	AttemptedAt time.Time `json:"attempted_at"`
	StatusCode  int       `json:"status_code,omitempty"`
	Error       string    `json:"error,omitempty"`
	DurationMS  int       `json:"duration_ms"`
	Delivered   bool      `json:"delivered"`

	retryAfter time.Duration
}

// maxSubscriptionEvents bounds the lists of a subscription.
const maxSubscriptionProperties = 1000

type subscriptionBody struct {
	URL        string   `json:"url"`
	Events     []string `json:"events"`
	Properties []string `json:"properties"`
	Secret     string   `json:"secret"`
}

// createSubscription validates body for the caller's scope and stores it.
func (n *Service) createSubscription(ctx context.Context, by string, scope reservations.Scope, body subscriptionBody) (Subscription, error) {
	var p canonical.Problems
	if err := n.cfg.Webhooks.Targets.CheckURL(body.URL); err != nil {
		p.Add("url", "%v", err)
	}
	if len(body.Events) == 0 {
		p.Add("events", "name at least one of: %v", EventTypes)
	}
	seen := map[string]bool{}
	for i, e := range body.Events {
		switch {
		case !knownEvent(e):
			p.Add(fmt.Sprintf("events[%d]", i), "%q is not an event; known: %v", connectors.SafeText(e, 40), EventTypes)
		case seen[e]:
			p.Add(fmt.Sprintf("events[%d]", i), "%q appears twice", e)
		}
		seen[e] = true
	}
	if len(body.Properties) > maxSubscriptionProperties {
		p.Add("properties", "at most %d properties", maxSubscriptionProperties)
	}
	for i, id := range body.Properties {
		f := fmt.Sprintf("properties[%d]", i)
		p.CheckCode(f, id)
		if !scope.Allows(id) {
			p.Add(f, "property %q is outside this API key's scope", id)
		}
	}
	secret := body.Secret
	if secret == "" {
		secret = NewSecret()
	} else if _, err := secretKey(secret); err != nil {
		p.Add("secret", "%v; leave it out to have one made", err)
	}
	if err := p.Err(); err != nil {
		return Subscription{}, err
	}
	props := body.Properties
	all := false
	if len(props) == 0 {
		// Everything the caller may see, now and (for the admin) later.
		all, props = scope.All, scope.Properties
	}
	idBytes := make([]byte, 8)
	rand.Read(idBytes)
	s := Subscription{ID: "wh_" + hex.EncodeToString(idBytes), URL: body.URL, Events: slices.Clone(body.Events),
		Properties: slices.Clone(props), CreatedBy: by, Status: "active", allProperties: all, secret: secret}
	if s.Properties == nil {
		s.Properties = []string{}
	}
	err := n.pool.QueryRow(ctx, `INSERT INTO webhook_subscriptions (id, url, events, properties, all_properties, secret, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at`,
		s.ID, s.URL, s.Events, s.Properties, all, secret, by).Scan(&s.CreatedAt)
	if err != nil {
		return Subscription{}, fmt.Errorf("store subscription: %w", err)
	}
	n.subs.invalidate()
	return s, nil
}

const subscriptionColumns = `id, url, events, properties, all_properties, secret, created_by, created_at,
	failures, disabled_at, coalesce(disabled_reason, '')`

func scanSubscription(row pgx.CollectableRow) (Subscription, error) {
	var s Subscription
	err := row.Scan(&s.ID, &s.URL, &s.Events, &s.Properties, &s.allProperties, &s.secret, &s.CreatedBy, &s.CreatedAt,
		&s.Failures, &s.DisabledAt, &s.DisabledReason)
	s.Status = "active"
	if s.DisabledAt != nil {
		s.Status = "disabled"
	}
	return s, err
}

// subscription returns a live subscription by id.
func (n *Service) subscription(ctx context.Context, id string) (Subscription, error) {
	rows, _ := n.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL`, id)
	s, err := pgx.CollectExactlyOneRow(rows, scanSubscription)
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, fmt.Errorf("webhook subscription %q: %w", connectors.SafeText(id, 40), errNotFound)
	}
	return s, err
}

// visibleSubscription returns subscription id if the caller may see it.
// One outside the caller's scope is reported as not found, as if absent.
func (n *Service) visibleSubscription(ctx context.Context, scope reservations.Scope, id string) (Subscription, error) {
	s, err := n.subscription(ctx, id)
	if err == nil && !s.visibleTo(scope) {
		return Subscription{}, fmt.Errorf("webhook subscription %q: %w", connectors.SafeText(id, 40), errNotFound)
	}
	return s, err
}

func (n *Service) listSubscriptions(ctx context.Context, scope reservations.Scope) ([]Subscription, error) {
	rows, _ := n.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE deleted_at IS NULL ORDER BY created_at, id`)
	all, err := pgx.CollectRows(rows, scanSubscription)
	if err != nil {
		return nil, err
	}
	out := []Subscription{}
	for _, s := range all {
		if s.visibleTo(scope) {
			out = append(out, s)
		}
	}
	return out, nil
}

// matching returns the live subscriptions that want event type t of
// property (empty for events of no property).
func (n *Service) matching(ctx context.Context, t, property string) ([]string, error) {
	return n.subs.get(ctx, t+"/"+property, func() ([]string, error) {
		rows, _ := n.pool.Query(ctx, `SELECT id FROM webhook_subscriptions
			WHERE deleted_at IS NULL AND $1 = ANY(events) AND (all_properties OR $2 = ANY(properties))
			ORDER BY id`, t, property)
		return pgx.CollectRows(rows, pgx.RowTo[string])
	})
}

// recordAttempt writes one attempt to the delivery log and keeps the
// subscription's run of failures; a subscription failing for long enough
// is disabled.
func (n *Service) recordAttempt(ctx context.Context, subID string, d Delivery) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO webhook_deliveries (subscription_id, webhook_id, event_type, status_code, error, duration_ms, delivered)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, subID, d.WebhookID, d.EventType, d.StatusCode, d.Error, d.DurationMS, d.Delivered)
	var disabled bool
	if d.Delivered {
		b.Queue(`UPDATE webhook_subscriptions SET failures = 0, failing_since = NULL WHERE id = $1 AND failures > 0`, subID)
	} else {
		cfg := n.cfg.Webhooks
		reason := fmt.Sprintf("disabled after %d failed deliveries in a row over at least %s; last: %s",
			cfg.DisableAfterFailures, cfg.DisableAfter, d.Error)
		if d.StatusCode == http.StatusGone {
			reason = "disabled: the endpoint answered 410 Gone"
		}
		b.Queue(`UPDATE webhook_subscriptions SET
				failures = failures + 1,
				failing_since = coalesce(failing_since, now()),
				disabled_at = CASE WHEN disabled_at IS NULL AND ($2 OR (failures + 1 >= $3 AND coalesce(failing_since, now()) <= now() - $4::interval))
					THEN now() ELSE disabled_at END,
				disabled_reason = CASE WHEN disabled_at IS NULL AND ($2 OR (failures + 1 >= $3 AND coalesce(failing_since, now()) <= now() - $4::interval))
					THEN $5 ELSE disabled_reason END
			WHERE id = $1
			RETURNING disabled_at IS NOT NULL AND disabled_reason = $5`,
			subID, d.StatusCode == http.StatusGone, cfg.DisableAfterFailures, strconv.FormatInt(cfg.DisableAfter.Microseconds(), 10)+" microseconds", reason).
			QueryRow(func(row pgx.Row) error { return row.Scan(&disabled) })
	}
	if err := n.pool.SendBatch(ctx, b).Close(); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("delivery log: %w", err)
	}
	if disabled {
		n.logger.WarnContext(ctx, "webhook subscription disabled: it keeps failing; re-enable it with POST /v1/webhooks/{id}/enable",
			"subscription", subID, "failures", n.cfg.Webhooks.DisableAfterFailures)
	}
	return nil
}

// deliveredBefore reports whether the subscription already acknowledged
// webhook id: a redelivered message must not be sent again.
func (n *Service) deliveredBefore(ctx context.Context, subID, webhookID string) (bool, error) {
	var ok bool
	err := n.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE subscription_id = $1 AND webhook_id = $2 AND delivered)`,
		subID, webhookID).Scan(&ok)
	return ok, err
}

func (n *Service) deliveries(ctx context.Context, subID string, before int64, limit int) ([]Delivery, error) {
	rows, _ := n.pool.Query(ctx, `SELECT id, webhook_id, event_type, attempted_at, status_code, error, duration_ms, delivered
		FROM webhook_deliveries WHERE subscription_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, subID, before, limit)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := row.Scan(&d.ID, &d.WebhookID, &d.EventType, &d.AttemptedAt, &d.StatusCode, &d.Error, &d.DurationMS, &d.Delivered)
		return d, err
	})
}
