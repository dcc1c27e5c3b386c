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
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/router"
)

// SMS is one text message.
type SMS struct {
	ID   string `json:"id"` // the same on every attempt; providers deduplicate by it
	To   string `json:"to"` // E.164, e.g. +351912345678
	Text string `json:"text"`
}

// SMSSender sends text messages through a provider.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// SMSConfig chooses the SMS provider. Provider "webhook" POSTs each message
// as JSON to URL with the token as a bearer credential; "" means no SMS.
type SMSConfig struct {
	Provider string        `yaml:"provider" enum:"webhook" zero:"no SMS" doc:"webhook POSTs {id, to, text} as JSON to url"`
	URL      string        `yaml:"url" format:"url" doc:"the provider's endpoint"`
	Token    string        `yaml:"token" env:"ROOMWIRE_SMS_TOKEN" secret:"true"`
	Timeout  time.Duration `yaml:"timeout" default:"10s" doc:"one send"`
}

// Validate reports the first bad setting.
func (c SMSConfig) Validate() error {
	switch c.Provider {
	case "":
		return nil
	case "webhook":
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("notify: sms url %q must be the provider's http(s) endpoint", c.URL)
		}
		return nil
	}
	return fmt.Errorf("notify: sms provider %q: the one provider is webhook", c.Provider)
}

// NewSMSSender returns the configured provider.
func NewSMSSender(cfg SMSConfig, targets TargetPolicy) (SMSSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spec.SetDefaults(&cfg, nil)
	return &webhookSMS{cfg: cfg, client: targets.Client(cfg.Timeout)}, nil
}

// webhookSMS is a provider reached by one JSON POST per message, with an
// Idempotency-Key: the shape most SMS gateways accept.
type webhookSMS struct {
	cfg    SMSConfig
	client *http.Client
}

func (w *webhookSMS) SendSMS(ctx context.Context, m SMS) error {
	body, err := json.Marshal(m)
	if err != nil {
		return router.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return router.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.ID)
	if w.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("sms: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // only to reuse the connection
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout:
		return router.Permanentf("sms: provider refused the message: %d", resp.StatusCode)
	}
	return fmt.Errorf("sms: provider answered %d", resp.StatusCode)
}

// sendSMS texts the guest on confirmation and cancellation, when the
// property wants it and the guest gave a phone number.
func (n *Service) sendSMS(msg *message.Message) error {
	e, err := decodeEvent(msg)
	if err != nil || e.Reservation == nil {
		return err
	}
	kind := guestKind(e)
	if kind != KindGuestConfirmation && kind != KindGuestCancellation {
		return nil
	}
	phone := e.Reservation.PrimaryGuest.Phone
	ctx := msg.Context()
	s, err := n.settings(ctx, e.PropertyID)
	if err != nil || !s.GuestSMS || phone == "" {
		return err
	}
	r, err := n.render(ctx, e, kind, s.Language)
	if err != nil {
		return err
	}
	text := smsText(r.Subject, e.Reservation)
	return n.sendOnce(ctx, e, "sms."+kind, func() error {
		return n.sms.SendSMS(ctx, SMS{ID: derivedID("sms", e.ID, kind), To: phone, Text: text})
	})
}

// smsText is the e-mail's subject with the confirmation number and stay:
// short enough for one or two SMS.
func smsText(subject string, r *canonical.Reservation) string {
	return fmt.Sprintf("%s: %s, %s – %s", subject, r.ConfirmationNumber, r.Arrival(), r.Departure())
}
