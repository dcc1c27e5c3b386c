package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
)

// PaymentIntent is the part of Stripe's PaymentIntent object Roomwire reads.
type PaymentIntent struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountCapturable   int64             `json:"amount_capturable"`
	AmountReceived     int64             `json:"amount_received"`
	CaptureMethod      string            `json:"capture_method"`
	Currency           string            `json:"currency"`
	Status             string            `json:"status"`
	CancellationReason string            `json:"cancellation_reason,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	LastPaymentError   *APIError         `json:"last_payment_error,omitempty"`
	// LatestCharge is the charge's id, or the charge itself when expanded.
	LatestCharge *Charge `json:"latest_charge,omitempty"`
}

// Charge is the part of a Stripe Charge Roomwire reads: when the
// authorization must be captured by.
type Charge struct {
	ID                   string `json:"id"`
	PaymentIntent        string `json:"payment_intent,omitempty"`
	Amount               int64  `json:"amount,omitempty"`
	AmountRefunded       int64  `json:"amount_refunded,omitempty"`
	Currency             string `json:"currency,omitempty"`
	PaymentMethodDetails *struct {
		Card *struct {
			CaptureBefore int64  `json:"capture_before,omitempty"`
			Last4         string `json:"last4,omitempty"`
			Brand         string `json:"brand,omitempty"`
		} `json:"card,omitempty"`
	} `json:"payment_method_details,omitempty"`
}

// UnmarshalJSON reads a charge given as its id or as the object.
func (c *Charge) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		c.ID = s
		return err
	}
	type plain Charge
	return connectors.DecodeJSON(b, (*plain)(c))
}

// Refund is the part of a Stripe Refund Roomwire reads.
type Refund struct {
	ID            string `json:"id"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	PaymentIntent string `json:"payment_intent"`
	Status        string `json:"status"`
}

// APIError is Stripe's error object.
type APIError struct {
	Type        string `json:"type"`
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message,omitempty"`
	Param       string `json:"param,omitempty"`
}

// ErrorBody is Stripe's error answer: {"error": {...}}.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// describeError reads Stripe's error body for the error message.
func describeError(status int, body []byte) string {
	var e ErrorBody
	if err := connectors.DecodeJSON(body, &e); err != nil || e.Error.Type == "" {
		return ""
	}
	s := e.Error.Type
	if e.Error.Code != "" {
		s += "/" + e.Error.Code
	}
	if e.Error.DeclineCode != "" {
		s += "/" + e.Error.DeclineCode
	}
	if e.Error.Message != "" {
		s += ": " + e.Error.Message
	}
	return s
}

// post sends a form-encoded POST with the request's idempotency key and
// decodes the answer into out. Stripe answers a declined card with 402.
func (c *Connector) post(ctx context.Context, path, route string, key string, form url.Values, out any) error {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.cfg.SecretKey)
	h.Set("Stripe-Version", APIVersion)
	h.Set(connectors.IdempotencyHeader, key)
	resp, err := c.Client.Do(ctx, connectors.Request{Method: http.MethodPost, URL: c.cfg.APIURL + path, Route: route,
		Header: h, Body: []byte(form.Encode()), ContentType: "application/x-www-form-urlencoded"})
	if err != nil {
		var he *connectors.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusPaymentRequired {
			return &payments.DeclineError{Gateway: c.Name(), Code: declineCode(he.Message), Reason: he.Message}
		}
		return err
	}
	if err := connectors.DecodeJSON(resp.Body, out); err != nil {
		return fmt.Errorf("stripe: POST %s: the answer: %w", route, err)
	}
	return nil
}

// declineCode picks the decline code out of describeError's text
// ("card_error/card_declined/insufficient_funds: ...").
func declineCode(msg string) string {
	head, _, _ := strings.Cut(msg, ":")
	parts := strings.Split(head, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-1]
}

func money(amount int64, currency string) canonical.Money {
	return canonical.NewMoney(amount, strings.ToUpper(currency))
}

// holdExpiry is the charge's capture_before, when Stripe gives it.
func holdExpiry(pi *PaymentIntent) time.Time {
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil && ch.PaymentMethodDetails.Card.CaptureBefore > 0 {
		return time.Unix(ch.PaymentMethodDetails.Card.CaptureBefore, 0).UTC()
	}
	return time.Time{}
}

// Authorize creates and confirms a PaymentIntent with manual capture on the
// card token, off session: the guest gave the card when booking.
func (c *Connector) Authorize(ctx context.Context, req payments.Request) (payments.Result, error) {
	form := url.Values{
		"amount":                         {strconv.FormatInt(req.Amount.Minor, 10)},
		"currency":                       {strings.ToLower(req.Amount.Currency)},
		"capture_method":                 {"manual"},
		"confirm":                        {"true"},
		"off_session":                    {"true"},
		"payment_method":                 {req.CardToken},
		"payment_method_types[]":         {"card"},
		"expand[]":                       {"latest_charge"},
		"description":                    {"Roomwire reservation " + req.ConfirmationNumber},
		"metadata[roomwire_reservation]": {req.ReservationID},
		"metadata[property]":             {req.PropertyID},
	}
	var pi PaymentIntent
	if err := c.post(ctx, "/v1/payment_intents", "/v1/payment_intents", req.IdempotencyKey, form, &pi); err != nil {
		return payments.Result{}, err
	}
	if pi.Status != "requires_capture" {
		// requires_action (the bank wants the guest present) or
		// requires_payment_method: no hold, as good as declined.
		reason := "the payment intent is " + pi.Status
		if pi.LastPaymentError != nil && pi.LastPaymentError.Message != "" {
			reason = connectors.SafeText(pi.LastPaymentError.Message, 200)
		}
		return payments.Result{}, &payments.DeclineError{Gateway: c.Name(), Code: pi.Status, Reason: reason}
	}
	return payments.Result{Reference: pi.ID, Amount: money(pi.AmountCapturable, pi.Currency), HoldExpiresAt: holdExpiry(&pi)}, nil
}

// errNoAdjust: Stripe raises a hold only by a new PaymentIntent; the flow
// does that itself because Features().Adjust is false.
var errNoAdjust = connectors.Permanent(errors.New("stripe: holds are not adjusted in place; the flow re-authorizes"))

// Adjust is not offered by Stripe (see Features).
func (c *Connector) Adjust(context.Context, payments.Request) (payments.Result, error) {
	return payments.Result{}, errNoAdjust
}

// Capture captures req.Amount (amount_to_capture) of the PaymentIntent;
// Stripe releases the rest of the hold.
func (c *Connector) Capture(ctx context.Context, req payments.Request) (payments.Result, error) {
	form := url.Values{"amount_to_capture": {strconv.FormatInt(req.Amount.Minor, 10)}}
	var pi PaymentIntent
	if err := c.post(ctx, "/v1/payment_intents/"+url.PathEscape(req.Reference)+"/capture",
		"/v1/payment_intents/{id}/capture", req.IdempotencyKey, form, &pi); err != nil {
		return payments.Result{}, err
	}
	return payments.Result{Reference: pi.ID, Amount: money(pi.AmountReceived, pi.Currency)}, nil
}

// Void cancels the PaymentIntent, releasing the hold.
func (c *Connector) Void(ctx context.Context, req payments.Request) (payments.Result, error) {
	form := url.Values{"cancellation_reason": {"requested_by_customer"}}
	var pi PaymentIntent
	if err := c.post(ctx, "/v1/payment_intents/"+url.PathEscape(req.Reference)+"/cancel",
		"/v1/payment_intents/{id}/cancel", req.IdempotencyKey, form, &pi); err != nil {
		return payments.Result{}, err
	}
	return payments.Result{Reference: pi.ID, Amount: money(pi.Amount, pi.Currency)}, nil
}

// Refund refunds req.Amount of the PaymentIntent's charge.
func (c *Connector) Refund(ctx context.Context, req payments.Request) (payments.Result, error) {
	form := url.Values{
		"payment_intent":                 {req.Reference},
		"amount":                         {strconv.FormatInt(req.Amount.Minor, 10)},
		"metadata[roomwire_reservation]": {req.ReservationID},
	}
	var r Refund
	if err := c.post(ctx, "/v1/refunds", "/v1/refunds", req.IdempotencyKey, form, &r); err != nil {
		return payments.Result{}, err
	}
	if r.Status == "failed" || r.Status == "canceled" {
		return payments.Result{}, connectors.Permanent(fmt.Errorf("stripe: refund %s is %s", r.ID, r.Status))
	}
	return payments.Result{Reference: req.Reference, Amount: money(r.Amount, r.Currency)}, nil
}
