package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/router"
)

// TopicWebhookDeliveries carries one message per (subscription, event),
// keyed by subscription, so each subscriber gets its events in order and
// one failing subscriber parks only its own.
const TopicWebhookDeliveries = "roomwire.notify.webhooks"

// Consumer names: the dedup and dead-letter identities of the handlers.
const (
	ConsumerDispatch = "notify.webhooks.dispatch"
	ConsumerWebhooks = "notify.webhooks"
	ConsumerEmail    = "notify.email"
	ConsumerSMS      = "notify.sms"
)

// Config configures notifications: webhooks to integrators, e-mail to
// guests and hotels, SMS. Webhooks need no setting to work; e-mail runs
// when email.host is set, SMS when sms.provider is. Per-property language,
// hotel address and templates are set over the API. Its tags are its
// configuration spec (package config/spec): the keys of the notifications
// section of the configuration file.
type Config struct {
	DefaultLanguage string `yaml:"default_language" default:"en" doc:"language of e-mail for properties that set none (PUT /v1/properties/{id}/notifications)"`
	// Retention must outlast any redelivery of an event.
	Retention time.Duration  `yaml:"retention" default:"720h" min:"1h" doc:"how long webhook delivery logs and records of messages sent are kept"`
	Webhooks  WebhooksConfig `yaml:"webhooks" doc:"webhooks to integrators (POST /v1/webhooks)"`
	Email     EmailConfig    `yaml:"email" doc:"the SMTP relay e-mail goes through"`
	SMS       SMSConfig      `yaml:"sms" doc:"the SMS provider"`
}

// WebhooksConfig tunes outbound webhooks.
type WebhooksConfig struct {
	Targets TargetPolicy  `yaml:",inline"`
	Timeout time.Duration `yaml:"timeout" default:"10s" min:"100ms" max:"5m" doc:"one delivery attempt"`
	// A subscription whose deliveries failed DisableAfterFailures times in
	// a row, over at least DisableAfter, is disabled.
	DisableAfterFailures int           `yaml:"disable_after_failures" default:"50" min:"1" doc:"deliveries failing in a row that disable a subscription (over at least disable_after)"`
	DisableAfter         time.Duration `yaml:"disable_after" default:"24h" min:"0s" doc:"a subscription is disabled only after failing this long"`
	UnhealthyAfter       time.Duration `yaml:"unhealthy_after" default:"5m" min:"100ms" doc:"a partner whose messages have waited this long behind its open breaker is reported as channel.unhealthy"`
	SubscriptionCacheTTL time.Duration `yaml:"subscription_cache_ttl" default:"1s" doc:"bounds how long another process's change of subscriptions takes to show"`
}

func (c *Config) setDefaults() { spec.SetDefaults(c, nil) }

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if c.Webhooks.Timeout < 100*time.Millisecond || c.Webhooks.DisableAfterFailures < 1 || c.Webhooks.DisableAfter < 0 {
		return errors.New("notify: webhooks: timeout must be at least 100ms and disable_after_failures at least 1")
	}
	if !validLanguage(c.DefaultLanguage) {
		return fmt.Errorf("notify: default language %q is not a language code such as en or pt", c.DefaultLanguage)
	}
	if err := c.Email.Validate(); err != nil {
		return err
	}
	return c.SMS.Validate()
}

// Service sends notifications. Build it with New, add its consumers to the
// backbone with AddConsumers, mount its endpoints with Mount, and run
// Run for the channel health watch.
type Service struct {
	cfg       Config
	pool      *pgxpool.Pool
	store     *reservations.Store
	logger    *slog.Logger
	publisher message.Publisher
	backbone  *router.Backbone
	subs      subscriptionCache
	client    webhookClient
	mailer    *Mailer    // nil: no e-mail
	sms       SMSSender  // nil: no SMS
	templates *Templates // built-in and per-property templates
}

// New builds the notification service.
func New(cfg Config, store *reservations.Store, pool *pgxpool.Pool, logger *slog.Logger) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Service{cfg: cfg, pool: pool, store: store, logger: logger.With("component", "notify"),
		subs:   subscriptionCache{ttl: cfg.Webhooks.SubscriptionCacheTTL},
		client: cfg.Webhooks.Targets.Client(cfg.Webhooks.Timeout)}
	n.templates = &Templates{pool: pool}
	if cfg.Email.Enabled() {
		m, err := NewMailer(cfg.Email)
		if err != nil {
			return nil, err
		}
		n.mailer = m
	}
	if cfg.SMS.Provider != "" {
		s, err := NewSMSSender(cfg.SMS, cfg.Webhooks.Targets)
		if err != nil {
			return nil, err
		}
		n.sms = s
	}
	return n, nil
}

// AddConsumers adds the notification consumers to the backbone.
func (n *Service) AddConsumers(b *router.Backbone) error {
	n.backbone, n.publisher = b, b.Publisher()
	add := func(name, topic string, h router.HandlerFunc, opts ...router.ConsumerOption) error {
		if err := b.AddConsumer(name, topic, h, opts...); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	}
	if err := add(ConsumerDispatch, router.TopicReservationEvents, n.dispatchEvent); err != nil {
		return err
	}
	if err := add(ConsumerWebhooks, TopicWebhookDeliveries, n.deliver,
		router.WithConnector("webhooks"), router.WithBreakerKey(webhookBreaker),
		router.WithHandlerTimeout(n.cfg.Webhooks.Timeout+5*time.Second)); err != nil {
		return err
	}
	if n.mailer != nil {
		if err := add(ConsumerEmail, router.TopicReservationEvents, n.sendEmails, router.WithConnector("smtp")); err != nil {
			return err
		}
	}
	if n.sms != nil {
		if err := add(ConsumerSMS, router.TopicReservationEvents, n.sendSMS, router.WithConnector("sms")); err != nil {
			return err
		}
	}
	return nil
}

// webhookBreaker gives every subscription a breaker of its own.
func webhookBreaker(msg *message.Message) string {
	return "webhook:" + msg.Metadata.Get(router.MetadataPartitionKey)
}

// deadLetterSweep is how often Run looks for new dead letters.
const deadLetterSweep = time.Second

// Run reports new dead letters (delivery.failed, booking.unmapped) and
// partners whose messages have waited behind an open breaker for longer
// than UnhealthyAfter (channel.unhealthy), and deletes delivery log and
// sent-message records past their retention, until ctx ends.
func (n *Service) Run(ctx context.Context) error {
	t := time.NewTicker(min(deadLetterSweep, max(n.cfg.Webhooks.UnhealthyAfter/4, 100*time.Millisecond)))
	defer t.Stop()
	reported := map[string]bool{}
	// A restart looks back a while: what was reported then is reported
	// under the same ids, which the delivery consumer skips.
	sweep := &sweepState{watermark: time.Now().Add(-10 * time.Minute), sent: map[string]time.Time{}}
	var cleaned, checked time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := n.sweepDeadLetters(ctx, sweep); err != nil && ctx.Err() == nil {
			n.logger.WarnContext(ctx, "dead letter sweep failed", "error", err)
		}
		if time.Since(checked) >= n.cfg.Webhooks.UnhealthyAfter/4 {
			if err := n.checkChannels(ctx, reported); err != nil && ctx.Err() == nil {
				n.logger.WarnContext(ctx, "channel health check failed", "error", err)
			}
			checked = time.Now()
		}
		if time.Since(cleaned) >= time.Hour {
			if err := n.expire(ctx); err != nil && ctx.Err() == nil {
				n.logger.WarnContext(ctx, "notification housekeeping failed", "error", err)
			}
			cleaned = time.Now()
		}
	}
}

// expire deletes what is older than the retention.
func (n *Service) expire(ctx context.Context) error {
	before := time.Now().Add(-n.cfg.Retention)
	if _, err := n.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE attempted_at < $1`, before); err != nil {
		return err
	}
	_, err := n.pool.Exec(ctx, `DELETE FROM notification_sends WHERE started_at < $1`, before)
	return err
}

func (n *Service) checkChannels(ctx context.Context, reported map[string]bool) error {
	if n.backbone == nil {
		return nil
	}
	backlogs, err := n.backbone.ParkedBacklogs(ctx, n.cfg.Webhooks.UnhealthyAfter)
	if err != nil {
		return err
	}
	for _, p := range backlogs {
		if strings.HasPrefix(p.Consumer, "notify.") {
			continue // a subscriber's own outage is its delivery log's business
		}
		if err := n.reportUnhealthy(ctx, p, reported); err != nil {
			return err
		}
	}
	return nil
}
