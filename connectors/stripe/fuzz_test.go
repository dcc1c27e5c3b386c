package stripe_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/connectors/stripe"
)

// FuzzWebhook feeds the receiver's parsers arbitrary signature headers and
// bodies: they never panic, refuse with a *payments.WebhookError, and never
// echo the secret.
func FuzzWebhook(f *testing.F) {
	body := fixture(f, "webhook.payment_intent.amount_capturable_updated.json")
	now := time.Unix(1804064100, 0)
	f.Add(stripe.Sign(webhookSecret, now, body), body)
	f.Add("t=1804064100,v1=00,v1=zz,v0=1", body)
	f.Add("", []byte(`{"id":"evt_1","type":"charge.refunded","data":{"object":{"id":"ch_1","payment_intent":"pi_1","amount_refunded":5,"currency":"eur"}}}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := stripe.VerifySignature(header, body, webhookSecret, stripe.DefaultTolerance, now)
		var we *payments.WebhookError
		if err != nil && !errors.As(err, &we) {
			t.Fatalf("VerifySignature: %T %v", err, err)
		}
		if err != nil && strings.Contains(err.Error(), webhookSecret) {
			t.Fatal("the error holds the secret")
		}
		n, err := stripe.ParseEvent(body)
		if err != nil {
			if !errors.As(err, &we) {
				t.Fatalf("ParseEvent: %T %v", err, err)
			}
			return
		}
		if n.ID == "" || n.Kind == "" {
			t.Fatalf("parsed without id or kind: %+v", n)
		}
	})
}
