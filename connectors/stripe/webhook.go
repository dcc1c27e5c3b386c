package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
)

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "Stripe-Signature"

// Sign returns the Stripe-Signature value of body sent at t: "t=<unix>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" under secret>". The simulator signs with it.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// maxSignatures bounds the v1 values tried: Stripe sends one per active
// secret (two while a secret is rolled).
const maxSignatures = 8

// VerifySignature checks header (a Stripe-Signature value) against body:
// some v1 value must be the HMAC-SHA256 of "<t>.<body>" under secret, and t
// must be within tolerance of now (either way). Unknown schemes (v0) are
// ignored.
func VerifySignature(header string, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return &payments.WebhookError{Status: http.StatusServiceUnavailable, Message: "stripe: no webhook secret is configured"}
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" {
				return payments.Refuse("stripe: signature header has two timestamps")
			}
			ts = v
		case "v1":
			if len(sigs) == maxSignatures {
				return payments.Refuse("stripe: signature header has too many signatures")
			}
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return payments.Refuse("stripe: missing or malformed %s header", SignatureHeader)
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || t <= 0 {
		return payments.Refuse("stripe: signature timestamp is not a number")
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		// Every candidate is compared, in constant time each.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return payments.Refuse("stripe: no signature matches the body")
	}
	if tolerance > 0 {
		age := now.Sub(time.Unix(t, 0))
		if age > tolerance || age < -tolerance {
			return payments.Refuse("stripe: signature timestamp is %s from now, beyond the %s tolerance", age.Round(time.Second), tolerance)
		}
	}
	return nil
}

// Event is the part of a Stripe event Roomwire reads.
type Event struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// eventObject is a payment intent or a charge, whichever the event carries.
type eventObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountCapturable   int64             `json:"amount_capturable"`
	AmountReceived     int64             `json:"amount_received"`
	AmountRefunded     int64             `json:"amount_refunded"`
	Currency           string            `json:"currency"`
	Status             string            `json:"status"`
	CancellationReason string            `json:"cancellation_reason"`
	PaymentIntent      string            `json:"payment_intent"`
	Metadata           map[string]string `json:"metadata"`
	LastPaymentError   *APIError         `json:"last_payment_error"`
}

// ParseEvent reads a (verified) webhook body as a notification. Events the
// flow does not act on are kept as KindOther.
func ParseEvent(body []byte) (payments.Notification, error) {
	var ev Event
	if err := connectors.DecodeJSON(body, &ev); err != nil {
		return payments.Notification{}, payments.Refuse("stripe: event: %v", err)
	}
	if ev.ID == "" || ev.Type == "" || len(ev.Data.Object) == 0 {
		return payments.Notification{}, payments.Refuse("stripe: event: id, type and data.object are required")
	}
	var obj eventObject
	if err := connectors.DecodeJSON(ev.Data.Object, &obj); err != nil {
		return payments.Notification{}, payments.Refuse("stripe: event %s: data.object: %v", connectors.SafeText(ev.ID, 60), err)
	}
	n := payments.Notification{ID: ev.ID, EventCode: ev.Type, Kind: payments.KindOther, Success: true,
		Reference: obj.ID, MerchantReference: obj.Metadata["roomwire_reservation"]}
	if ev.Created > 0 {
		n.OccurredAt = time.Unix(ev.Created, 0).UTC()
	}
	currency := strings.ToUpper(obj.Currency)
	switch ev.Type {
	case "payment_intent.amount_capturable_updated":
		n.Kind, n.Amount = payments.KindAuthorized, money(obj.AmountCapturable, currency)
	case "payment_intent.succeeded":
		n.Kind, n.Amount = payments.KindCaptured, money(obj.AmountReceived, currency)
	case "payment_intent.canceled":
		n.Kind, n.Amount = payments.KindVoided, money(obj.Amount, currency)
		if obj.CancellationReason == "automatic" {
			// Stripe cancels an uncaptured intent whose authorization lapsed.
			n.Kind = payments.KindExpired
		}
	case "payment_intent.payment_failed":
		n.Kind, n.Success, n.Amount = payments.KindFailed, false, money(obj.Amount, currency)
		if obj.LastPaymentError != nil {
			n.Reason = obj.LastPaymentError.Message
		}
	case "charge.refunded":
		n.Kind, n.Amount, n.Reference = payments.KindRefunded, money(obj.AmountRefunded, currency), obj.PaymentIntent
	}
	if currency == "" {
		n.Amount = money(0, "")
	}
	return n, nil
}

// Webhook returns the receiver of Stripe's webhooks, mounted at
// /v1/connectors/stripe/ (Stripe is pointed at .../stripe/webhooks). A
// delivery with a missing, wrong or stale signature gets 400 and records
// nothing; a verified one is stored, then answered 200. The sink is not
// used: notifications belong to the payment flow, not the booking inbox.
func (c *Connector) Webhook(connectors.Sink) http.Handler {
	return c.Binding.Webhook(c.parseWebhook, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"received": true}`)
	})
}

func (c *Connector) parseWebhook(h http.Header, body []byte) ([]payments.Notification, error) {
	if err := VerifySignature(h.Get(SignatureHeader), body, c.cfg.WebhookSecret, time.Duration(c.cfg.WebhookTolerance), c.cfg.Now()); err != nil {
		return nil, err
	}
	n, err := ParseEvent(body)
	if err != nil {
		return nil, err
	}
	return []payments.Notification{n}, nil
}
