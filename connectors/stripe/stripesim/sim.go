// Package stripesim simulates the part of the Stripe API Roomwire uses:
// PaymentIntents with manual capture (create and confirm, capture with
// amount_to_capture, cancel, retrieve) and refunds, form-encoded with bearer
// authentication and Idempotency-Key handling, and webhooks signed with the
// endpoint secret. Holds expire; chosen tokens and amounts are declined;
// 5xx answers and timeouts are switches (see gatewaysim.Faults).
package stripesim

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/connectors/stripe"
)

// DeclinedTokens are Stripe's documented test payment methods that decline.
var DeclinedTokens = []string{"pm_card_chargeDeclined", "pm_card_visa_chargeDeclinedInsufficientFunds"}

// Config configures the simulator.
type Config struct {
	// SecretKey is the API key callers must present (Bearer).
	SecretKey string
	// WebhookURL and WebhookSecret: where signed webhooks go, and the
	// endpoint secret they are signed with.
	WebhookURL    string
	WebhookSecret string
	// Sim configures holds, clock and fault randomness.
	Sim gatewaysim.Config
}

// Sim is the Stripe simulator, an http.Handler serving the API and the
// /_sim/ controls.
type Sim struct {
	*gatewaysim.Core
	cfg Config
}

// New returns a simulator.
func New(cfg Config) *Sim {
	s := &Sim{Core: gatewaysim.NewFor(cfg.Sim, gatewaysim.Partner{
		NewID:      func() string { return "pi_" + randomID(24) },
		WebhookURL: cfg.WebhookURL,
		Declined:   DeclinedTokens,
	}), cfg: cfg}
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/payment_intents", s.create)
	api.HandleFunc("GET /v1/payment_intents/{id}", s.retrieve)
	api.HandleFunc("POST /v1/payment_intents/{id}/capture", s.capture)
	api.HandleFunc("POST /v1/payment_intents/{id}/cancel", s.cancel)
	api.HandleFunc("POST /v1/refunds", s.refund)
	s.Serve(api, gatewaysim.RequireKey(bearer, cfg.SecretKey, unauthorized), writeError, s.expired, "/v1/")
	return s
}

// bearer is the API key a request presents.
func bearer(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func unauthorized(w http.ResponseWriter) {
	writeErrorBody(w, http.StatusUnauthorized, stripe.APIError{Type: "invalid_request_error", Message: "Invalid API Key provided."})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	typ := "api_error"
	if status >= 400 && status < 500 {
		typ = "invalid_request_error"
	}
	writeErrorBody(w, status, stripe.APIError{Type: typ, Message: msg})
}

func writeErrorBody(w http.ResponseWriter, status int, e stripe.APIError) {
	writeJSON(w, status, stripe.ErrorBody{Error: e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// intent renders a hold as Stripe's PaymentIntent.
func (s *Sim) intent(h gatewaysim.Hold, expand bool) map[string]any {
	status := map[string]string{
		gatewaysim.StatusAuthorized: "requires_capture", gatewaysim.StatusCaptured: "succeeded",
		gatewaysim.StatusRefunded: "succeeded", gatewaysim.StatusVoided: "canceled", gatewaysim.StatusExpired: "canceled",
	}[h.Status]
	amount := h.Authorized
	if h.Status != gatewaysim.StatusAuthorized {
		amount = max(h.Captured, h.Authorized)
	}
	pi := map[string]any{
		"id": h.ID, "object": "payment_intent", "amount": amount, "amount_capturable": h.Authorized,
		"amount_received": h.Captured, "capture_method": "manual", "currency": strings.ToLower(h.Currency),
		"status": status, "metadata": map[string]string{"roomwire_reservation": h.ReservationID, "property": h.PropertyID},
		"created": h.Created.Unix(),
	}
	switch h.Status {
	case gatewaysim.StatusVoided:
		pi["cancellation_reason"] = "requested_by_customer"
	case gatewaysim.StatusExpired:
		pi["cancellation_reason"] = "automatic"
	}
	charge := "ch_" + strings.TrimPrefix(h.ID, "pi_")
	if expand {
		pi["latest_charge"] = map[string]any{
			"id": charge, "object": "charge", "payment_intent": h.ID, "amount": h.Captured, "amount_refunded": h.Refunded,
			"currency":               strings.ToLower(h.Currency),
			"payment_method_details": map[string]any{"card": map[string]any{"capture_before": h.ExpiresAt.Unix(), "last4": "4242", "brand": "visa"}},
		}
	} else {
		pi["latest_charge"] = charge
	}
	return pi
}

func form(r *http.Request) url.Values {
	r.ParseForm()
	return r.PostForm
}

func expanded(f url.Values) bool {
	for _, e := range f["expand[]"] {
		if e == "latest_charge" {
			return true
		}
	}
	return false
}

func (s *Sim) create(w http.ResponseWriter, r *http.Request) {
	f := form(r)
	amount, err := strconv.ParseInt(f.Get("amount"), 10, 64)
	switch {
	case err != nil || amount <= 0:
		writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Code: "parameter_invalid_integer", Param: "amount", Message: "Invalid integer: amount"})
		return
	case len(f.Get("currency")) != 3:
		writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Code: "parameter_missing", Param: "currency", Message: "Missing required param: currency."})
		return
	case f.Get("capture_method") != "manual" || f.Get("confirm") != "true":
		writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Param: "capture_method", Message: "The simulator only places holds: capture_method=manual and confirm=true."})
		return
	case f.Get("payment_method") == "":
		writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Code: "parameter_missing", Param: "payment_method", Message: "Missing required param: payment_method."})
		return
	}
	if s.Unknown(f.Get("payment_method")) {
		writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Code: "resource_missing", Param: "payment_method",
			Message: "No such PaymentMethod"})
		return
	}
	h, decline := s.Authorize(f.Get("payment_method"), amount, strings.ToUpper(f.Get("currency")),
		f.Get("metadata[roomwire_reservation]"), f.Get("description"), f.Get("metadata[property]"))
	if decline != nil {
		declined := map[string]any{"id": "pi_" + randomID(24), "object": "payment_intent", "amount": amount,
			"currency": f.Get("currency"), "status": "requires_payment_method", "capture_method": "manual",
			"metadata":           map[string]string{"roomwire_reservation": f.Get("metadata[roomwire_reservation]")},
			"last_payment_error": stripe.APIError{Type: "card_error", Code: "card_declined", DeclineCode: decline.Code, Message: decline.Reason}}
		writeJSON(w, http.StatusPaymentRequired, map[string]any{"error": map[string]any{
			"type": "card_error", "code": "card_declined", "decline_code": decline.Code, "message": decline.Reason, "payment_intent": declined}})
		s.event("payment_intent.payment_failed", declined)
		return
	}
	writeJSON(w, http.StatusOK, s.intent(h, expanded(f)))
	s.event("payment_intent.amount_capturable_updated", s.intent(h, false))
}

func (s *Sim) retrieve(w http.ResponseWriter, r *http.Request) {
	h, ok := s.Hold(r.PathValue("id"))
	if !ok {
		missing(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, s.intent(h, r.URL.Query().Get("expand[]") == "latest_charge"))
}

func missing(w http.ResponseWriter, id string) {
	writeErrorBody(w, 404, stripe.APIError{Type: "invalid_request_error", Code: "resource_missing", Param: "intent",
		Message: "No such payment_intent: '" + id + "'"})
}

// opError answers a ledger error as Stripe would.
func opError(w http.ResponseWriter, id string, h gatewaysim.Hold, err error) {
	switch err {
	case gatewaysim.ErrNoHold:
		missing(w, id)
	case gatewaysim.ErrAmount:
		writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Code: "amount_too_large", Message: "The amount is out of range for this PaymentIntent."})
	default:
		writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Code: "payment_intent_unexpected_state",
			Message: "This PaymentIntent's status is " + h.Status + "; the operation is not allowed."})
	}
}

func (s *Sim) capture(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := form(r)
	cur, ok := s.Hold(id)
	if !ok {
		missing(w, id)
		return
	}
	amount := cur.Authorized
	if v := f.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Param: "amount_to_capture", Message: "Invalid integer: amount_to_capture"})
			return
		}
		amount = n
	}
	h, err := s.Core.Capture(id, amount)
	if err != nil {
		opError(w, id, h, err)
		return
	}
	writeJSON(w, http.StatusOK, s.intent(h, expanded(f)))
	s.event("payment_intent.succeeded", s.intent(h, false))
}

func (s *Sim) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h, err := s.Core.Void(id)
	if err != nil {
		opError(w, id, h, err)
		return
	}
	writeJSON(w, http.StatusOK, s.intent(h, false))
	s.event("payment_intent.canceled", s.intent(h, false))
}

func (s *Sim) refund(w http.ResponseWriter, r *http.Request) {
	f := form(r)
	id := f.Get("payment_intent")
	cur, ok := s.Hold(id)
	if !ok {
		missing(w, id)
		return
	}
	amount := cur.Captured - cur.Refunded
	if v := f.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeErrorBody(w, 400, stripe.APIError{Type: "invalid_request_error", Param: "amount", Message: "Invalid integer: amount"})
			return
		}
		amount = n
	}
	h, err := s.Core.Refund(id, amount)
	if err != nil {
		opError(w, id, h, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": "re_" + randomID(24), "object": "refund", "amount": amount,
		"currency": strings.ToLower(h.Currency), "payment_intent": id, "status": "succeeded"})
	charge := s.intent(h, true)["latest_charge"]
	s.event("charge.refunded", charge)
}

// expired tells of holds that lapsed: Stripe cancels them automatically.
func (s *Sim) expired(holds []gatewaysim.Hold) {
	for _, h := range holds {
		s.event("payment_intent.canceled", s.intent(h, false))
	}
}

// event sends a signed webhook event carrying object.
func (s *Sim) event(typ string, object any) {
	now := s.Now()
	body, _ := json.Marshal(map[string]any{
		"id": "evt_" + randomID(24), "object": "event", "api_version": stripe.APIVersion, "created": now.Unix(),
		"type": typ, "livemode": false, "data": map[string]any{"object": object},
	})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(stripe.SignatureHeader, stripe.Sign(s.cfg.WebhookSecret, now, body))
	s.Send(body, h)
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// HoldFor is the default authorization lifetime: Stripe's seven days for
// online card payments.
const HoldFor = 7 * 24 * time.Hour
